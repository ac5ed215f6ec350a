#include "node/common/slot_map.hpp"

#include <functional>

namespace relay::node::common {

std::size_t SlotMap::home(std::string_view key) const noexcept {
  return std::hash<std::string_view>{}(key) & (buckets_.size() - 1);
}

std::size_t SlotMap::probe(std::string_view key) const noexcept {
  const std::size_t mask = buckets_.size() - 1;
  std::size_t i = home(key);
  // At most half full: every probe reaches an empty bucket.
  while (buckets_[i] != kEmpty && keys_[buckets_[i] - 1] != key) i = (i + 1) & mask;
  return i;
}

std::optional<SlotMap::Slot> SlotMap::find(std::string_view key) const {
  if (buckets_.empty()) return std::nullopt;
  const std::uint32_t b = buckets_[probe(key)];
  if (b == kEmpty) return std::nullopt;
  return b - 1;
}

std::pair<SlotMap::Slot, bool> SlotMap::insert(std::string_view key) {
  if (auto slot = find(key)) return {*slot, false};
  if (2 * (size_ + 1) > buckets_.size()) grow();
  Slot slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
    keys_[slot] = key;
  } else {
    slot = static_cast<Slot>(keys_.size());
    keys_.emplace_back(key);
  }
  buckets_[probe(key)] = slot + 1;
  ++size_;
  return {slot, true};
}

std::optional<SlotMap::Slot> SlotMap::erase(std::string_view key) {
  if (buckets_.empty()) return std::nullopt;
  const std::size_t mask = buckets_.size() - 1;
  std::size_t hole = probe(key);
  if (buckets_[hole] == kEmpty) return std::nullopt;
  const Slot slot = buckets_[hole] - 1;
  // Backward shift: a later key of the same run whose home is not cyclically in (hole, j]
  // would no longer be reached past the hole, so it moves into it. No tombstones to sweep.
  for (std::size_t j = (hole + 1) & mask; buckets_[j] != kEmpty; j = (j + 1) & mask) {
    const std::size_t k = home(keys_[buckets_[j] - 1]);
    const bool reached = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
    if (!reached) {
      buckets_[hole] = buckets_[j];
      hole = j;
    }
  }
  buckets_[hole] = kEmpty;
  keys_[slot].clear();
  keys_[slot].shrink_to_fit();  // a long key's heap block goes now, not when the slot is reused
  free_.push_back(slot);
  --size_;
  return slot;
}

void SlotMap::grow() {
  std::vector<std::uint32_t> old;
  old.swap(buckets_);
  buckets_.assign(old.empty() ? 16 : 2 * old.size(), kEmpty);
  for (std::uint32_t b : old)
    if (b != kEmpty) buckets_[probe(keys_[b - 1])] = b;
}

}  // namespace relay::node::common
