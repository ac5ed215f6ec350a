#include "node/ledger/subtree_cache.hpp"

#include <algorithm>
#include <mutex>

namespace relay::node::ledger {

std::optional<protocol::Hash> SubtreeCache::find(std::uint8_t level, std::uint64_t index) const {
  if (!covers(level)) return std::nullopt;
  std::shared_lock lock(mutex_);
  const auto& l = levels_[level - kLowestLevel];
  if (index >= l.present.size() || !l.present[index]) return std::nullopt;
  return l.hashes[index];
}

void SubtreeCache::keep(std::uint8_t level, std::uint64_t index, const protocol::Hash& hash) {
  if (!covers(level)) return;
  std::unique_lock lock(mutex_);
  auto& l = levels_[level - kLowestLevel];
  if (index >= l.present.size()) {
    // A level holds at most (entries >> level) hashes; grow geometrically as the log does.
    auto size = std::max<std::uint64_t>(index + 1, l.present.size() + l.present.size() / 2);
    l.hashes.resize(size);
    l.present.resize(size, false);
  }
  if (l.present[index]) return;
  l.hashes[index] = hash;
  l.present[index] = true;
  ++kept_;
}

std::size_t SubtreeCache::size() const {
  std::shared_lock lock(mutex_);
  return kept_;
}

}  // namespace relay::node::ledger
