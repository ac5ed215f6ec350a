#pragma once
// Keys to dense slot numbers, for a table that keeps its rows in a vector by slot (the pool
// index: one row per profile, a million of them). An open-addressing hash table of 32-bit
// slot numbers, probed linearly and at most half full, beside the keys in slot order: 42 bytes
// a key of 15 bytes or less (its std::string, and two to four 4-byte buckets), where
// std::unordered_map<std::string, std::uint32_t> took 76: a heap node per key holding the key,
// the slot, the cached hash and a link, and a bucket pointer (malloc's count, 1M keys).
//
// A slot freed by erase() is handed out again by the next insert() of a new key, so the
// caller's rows stay dense.
//
// Threads: none of its own; lookups may run together, a change runs alone.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace relay::node::common {

class SlotMap {
 public:
  using Slot = std::uint32_t;

  std::optional<Slot> find(std::string_view key) const;
  // The key's slot, and whether it is new: its own if present, else a freed slot or the next.
  std::pair<Slot, bool> insert(std::string_view key);
  // The slot the key had, now free; nullopt if it was absent.
  std::optional<Slot> erase(std::string_view key);

  // Room for n keys without moving them (the buckets still grow as keys come).
  void reserve(std::size_t n) { keys_.reserve(n); }

  std::size_t size() const noexcept { return size_; }
  // Slots handed out so far, freed ones included: the rows the caller keeps.
  std::size_t slots() const noexcept { return keys_.size(); }

 private:
  static constexpr std::uint32_t kEmpty = 0;  // a bucket holds slot + 1, or kEmpty

  std::size_t home(std::string_view key) const noexcept;
  // The bucket holding key, or the empty bucket where its probe ends.
  std::size_t probe(std::string_view key) const noexcept;
  void grow();

  std::vector<std::string> keys_;  // by slot; a freed slot's key is cleared
  std::vector<Slot> free_;         // freed slots, reused last freed first
  std::vector<std::uint32_t> buckets_;
  std::size_t size_ = 0;
};

}  // namespace relay::node::common
