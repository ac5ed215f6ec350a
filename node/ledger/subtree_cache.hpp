#pragma once
// The ledger's upper subtree hashes, kept in memory once read from a committed snapshot.
//
// A proof at 10M entries reads about 24 complete-subtree hashes, one LMDB lookup each; at that
// size the lookups, not the hashing, set the tail (a cold page per lookup). A complete subtree
// never changes once committed, so its hash can be kept without invalidation. Only levels >=
// kLowestLevel are kept: 2^-kLowestLevel of the leaves' count in all (about 10 MiB at 10M
// entries), and a proof then reads at most kLowestLevel hashes from LMDB.
//
// Only hashes read in a read-only transaction are kept: a Writer request's transaction may see
// subtrees of appends that its batch then rolls back, and another entry may later take that
// index.
//
// Threads: find and keep from any thread (a shared mutex; lookups take it shared).
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <vector>

#include "protocol/merkle.hpp"

namespace relay::node::ledger {

class SubtreeCache {
 public:
  static constexpr std::uint8_t kLowestLevel = 6;

  static bool covers(std::uint8_t level) { return level >= kLowestLevel && level < 64; }
  // The kept hash of (level, index), or nullopt.
  std::optional<protocol::Hash> find(std::uint8_t level, std::uint64_t index) const;
  // Keeps the hash of (level, index), read from committed data. Ignored below kLowestLevel.
  void keep(std::uint8_t level, std::uint64_t index, const protocol::Hash& hash);
  // How many hashes are kept (for tests and /metrics-style reports).
  std::size_t size() const;

 private:
  struct Level {
    std::vector<protocol::Hash> hashes;
    std::vector<bool> present;
  };
  mutable std::shared_mutex mutex_;
  std::array<Level, 64 - kLowestLevel> levels_;
  std::size_t kept_ = 0;
};

}  // namespace relay::node::ledger
