#pragma once
// The node's current keys, shared by every thread. Rotation (federation) swaps in a new
// NodeKeys snapshot (retired encryption keys included) in one step; readers keep the set they
// took until they are done with it. A mutex rather than std::atomic<std::shared_ptr>: libstdc++
// 12's atomic shared_ptr locks internally where ThreadSanitizer cannot see it, and the copy of a
// shared_ptr under a mutex is as cheap at this rate (a few per request).
#include <memory>
#include <mutex>

#include "node/identity/key_store.hpp"

namespace relay::node::identity {

class KeyRing {
 public:
  explicit KeyRing(NodeKeys keys) : current_(std::make_shared<const NodeKeys>(std::move(keys))) {}
  // The keys in force now. Thread-safe.
  std::shared_ptr<const NodeKeys> current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  // Installs new keys. Thread-safe.
  void replace(NodeKeys keys) { replace(std::make_shared<const NodeKeys>(std::move(keys))); }
  void replace(std::shared_ptr<const NodeKeys> keys) {
    std::lock_guard lock(mutex_);
    current_.swap(keys);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const NodeKeys> current_;
};

}  // namespace relay::node::identity
