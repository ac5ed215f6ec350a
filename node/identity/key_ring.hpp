#pragma once
// The node's current keys, shared by every thread. Rotation (federation) swaps in a new
// NodeKeys atomically; readers keep the set they took until they are done with it.
#include <atomic>
#include <memory>

#include "node/identity/key_store.hpp"

namespace relay::node::identity {

class KeyRing {
 public:
  explicit KeyRing(NodeKeys keys) : current_(std::make_shared<const NodeKeys>(std::move(keys))) {}
  // The keys in force now. Thread-safe.
  std::shared_ptr<const NodeKeys> current() const { return current_.load(); }
  // Installs new keys. Thread-safe.
  void replace(NodeKeys keys) { current_.store(std::make_shared<const NodeKeys>(std::move(keys))); }
  void replace(std::shared_ptr<const NodeKeys> keys) { current_.store(std::move(keys)); }

 private:
  std::atomic<std::shared_ptr<const NodeKeys>> current_;
};

}  // namespace relay::node::identity
