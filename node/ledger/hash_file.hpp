#pragma once
// The ledger tree's lower subtree hashes again, in a flat file read with pread(): a proof reads
// them without touching the LMDB map.
//
// Why: the map budget (storage/map_budget.hpp) releases the map's pages to keep VmRSS under
// its limit, and every page a proof then reads faults in again, 64 KiB at a time. At 10M
// entries a consistency proof read about a dozen hashes below SubtreeCache's levels, each on a
// page of its own, and took 1.2-1.6 ms at p99 with the budget on. A pread() of 32 bytes
// counts nothing in VmRSS and costs a syscall.
//
// Layout: a 32-byte header ("relaynode tree hashes v1", then the count of leaves the file
// holds, 8 bytes big-endian), then the hashes in Go tlog's stored order (stored_hash_index):
// each leaf's hash followed by the parents it completes. Appending leaves is a pure append.
//
// What the header counts is durable: the hashes are written and fdatasync()ed before the count
// that covers them is written. Hashes past the count (a crash between the two) are written
// again. The file is derived data: LMDB stays the record, and Ledger checks the file against it
// when it opens it (a file from another or a restored directory is started again).
//
// Threads: find() from any thread; append() and restart() from one thread at a time.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>

#include "protocol/merkle.hpp"

namespace relay::node::ledger {

// The file's name in the node's data directory.
inline constexpr const char* kHashFileName = "ledger-tree.hashes";

// Go tlog's StoredHashIndex: where subtree (level, index) sits among the stored hashes.
std::uint64_t stored_hash_index(std::uint8_t level, std::uint64_t index);
// Go tlog's StoredHashCount: how many hashes a tree of n leaves stores.
std::uint64_t stored_hash_count(std::uint64_t n);

class HashFile {
 public:
  // Opens or creates the file (mode 0600); a file whose header is not ours starts empty.
  // Throws std::runtime_error naming the file if it cannot be opened.
  explicit HashFile(std::filesystem::path path);
  ~HashFile();
  HashFile(const HashFile&) = delete;
  HashFile& operator=(const HashFile&) = delete;

  // Leaves whose hashes the file holds: the tree of that size is complete here.
  std::uint64_t leaves() const { return leaves_.load(std::memory_order_acquire); }
  // The hash of complete subtree (level, index) if the file holds it.
  std::optional<protocol::Hash> find(std::uint8_t level, std::uint64_t index) const;
  // Stores the hashes of leaves [leaves(), leaves() + n), `stored` in stored order
  // (stored_hash_count(leaves() + n) - stored_hash_count(leaves()) of them), then counts them.
  // Throws std::runtime_error if the file cannot be written.
  void append(std::uint64_t n, std::span<const protocol::Hash> stored);
  // Forgets every leaf (the file does not match the ledger).
  void restart();

  const std::filesystem::path& path() const { return path_; }

 private:
  void write_count(std::uint64_t leaves);

  std::filesystem::path path_;
  int fd_ = -1;
  std::atomic<std::uint64_t> leaves_{0};
};

}  // namespace relay::node::ledger
