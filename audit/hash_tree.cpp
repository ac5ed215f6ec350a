#include "audit/hash_tree.hpp"

namespace relay::audit {

void HashTree::add(const protocol::Hash& leaf_hash) {
  protocol::Hash hash = leaf_hash;
  std::size_t level = 0;
  for (;;) {
    if (levels_.size() == level) levels_.emplace_back();
    auto& row = levels_[level];
    row.push_back(hash);
    // A node at an odd index completes its parent with its left sibling.
    if (row.size() % 2 != 0) break;
    hash = protocol::node_hash(row[row.size() - 2], row.back());
    ++level;
  }
}

std::optional<protocol::Hash> HashTree::subtree(std::uint8_t level, std::uint64_t index) const {
  if (level >= levels_.size() || index >= levels_[level].size()) return std::nullopt;
  return levels_[level][index];
}

}  // namespace relay::audit
