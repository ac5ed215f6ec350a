#pragma once
// The complete-subtree hashes of a log rebuilt from its leaf hashes, in memory, so that an
// auditor holding an export can compute inclusion and consistency proofs exactly as the node
// does from storage (protocol/merkle.hpp). Unlike protocol::MemoryTree it keeps no entries
// and no std::map: one vector per level, 2n - popcount(n) hashes in all (64 MB for a million
// entries).
//
// Thread safety: a plain value; const members may run concurrently, add() must not race.
#include <cstdint>
#include <optional>
#include <vector>

#include "protocol/merkle.hpp"

namespace relay::audit {

class HashTree final : public protocol::SubtreeReader {
 public:
  // Appends the next leaf hash.
  void add(const protocol::Hash& leaf_hash);
  std::uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  protocol::Hash root(std::uint64_t size) const { return protocol::root(*this, size); }
  const protocol::Hash& leaf(std::uint64_t index) const { return levels_.at(0).at(index); }
  std::optional<protocol::Hash> subtree(std::uint8_t level, std::uint64_t index) const override;

 private:
  std::vector<std::vector<protocol::Hash>> levels_;
};

}  // namespace relay::audit
