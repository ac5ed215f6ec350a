#pragma once
// MapBudget: keeps the pages of LMDB's map that the process holds mapped under a limit.
//
// Every page of data.mdb a read touches stays mapped, and counted in VmRSS, for the life of
// the process. A node that has served proofs across 10M ledger entries, or built its pool
// index from 1M candidates, shows an RSS near the size of data.mdb, although none of it is
// the node's own memory: it is page cache, which the kernel could give to others, but it
// reclaims mapped pages last. check(), run often, releases
// the map's pages once the process's file-backed resident memory passes the limit; the pages
// stay cached, and a read that needs one again maps it with a minor fault.
//
// Threads: start() runs check() on the budget's own thread, every 2 ms while the process is
// above half the limit or its mapped pages grew since the last check, every 20 ms otherwise
// (an idle node wakes 50 times a second, not 500; from half the limit, 20 ms of mapping at
// the fastest rate seen here, ~1.3 GB/s, stays under the limit). Readers and the Writer go
// on meanwhile (see Environment::release_mapped_pages). check() itself is for tests.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>

#include "node/storage/environment.hpp"

namespace relay::node::storage {

// The process's resident file-backed and shared memory in bytes (RssFile + RssShmem, from
// /proc/self/statm): data.mdb's mapped pages, plus the binary and its libraries. Empty if
// /proc cannot be read.
std::optional<std::size_t> resident_file_bytes();

class MapBudget {
 public:
  // limit_bytes: file-backed resident memory above which check() releases the map's pages.
  MapBudget(Environment& env, std::size_t limit_bytes) noexcept;
  ~MapBudget();  // stops the thread
  MapBudget(const MapBudget&) = delete;
  MapBudget& operator=(const MapBudget&) = delete;

  void start();  // idempotent
  void stop();   // idempotent; joins the thread

  // Releases the map's pages if the process is over the limit; returns whether it did.
  // Throws StorageError if madvise fails.
  bool check();
  // How many times the pages were released.
  std::uint64_t releases() const noexcept { return releases_.load(); }

 private:
  void run();

  Environment& env_;
  std::size_t limit_bytes_;
  std::atomic<std::uint64_t> releases_{0};
  std::size_t last_resident_ = 0;  // only the checking thread
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace relay::node::storage
