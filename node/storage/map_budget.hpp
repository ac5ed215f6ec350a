#pragma once
// MapBudget: keeps the pages of LMDB's map that the process holds mapped under a limit.
//
// Every page of data.mdb a read touches stays mapped, and counted in VmRSS, for the life of
// the process. A node that has served proofs across 10M ledger entries, or built its pool
// index from 1M candidates, shows an RSS near the size of data.mdb, although none of it is
// the node's own memory: it is page cache, which the kernel could give to others, but it
// reclaims mapped pages last. check(), run often, releases
// the map's pages once the process's file-backed resident memory passes the map limit, or its
// whole resident memory passes the total limit (while more than kFloorBytes of it is
// file-backed: below that, releasing would free nothing worth a fault); the pages stay
// cached, and a read that needs one again maps it with a minor fault. The total limit
// matters where the node's own memory is large: at 1M candidates the pool index alone is
// 128 MiB, and 128 MiB of mapped pages on top passed 200 MiB.
//
// Threads: start() runs check() on the budget's own thread, again once the headroom under
// the nearer limit could have been mapped at the fastest rate seen (next_wait): every 2 ms
// near a limit, every 20 ms with more than 26 MiB to go. (It was every 2 ms from half a
// limit or whenever the mapped pages grew, which under intake was all the time: the budget's
// thread had 2.2 % of the node's samples, perf; 1.1 % since.) The file is kept open and read
// with pread (one system call a check, not three). Readers and the Writer go on meanwhile
// (see Environment::release_mapped_pages). check() itself is for tests.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>

#include "node/storage/environment.hpp"

namespace relay::node::storage {

// Environment::release_mapped_pages() for work that read much of data.mdb once (a build at
// start-up): only memory accounting is at stake, so a failure is logged (the first only, per
// process) and the work goes on.
void release_pages_read_once(Environment& env) noexcept;

// The process's resident memory, from /proc/self/statm.
struct ResidentBytes {
  std::size_t total = 0;  // VmRSS
  // RssFile + RssShmem: data.mdb's mapped pages, plus the binary and its libraries.
  std::size_t file = 0;
};
// Both from one read of /proc/self/statm; empty if it cannot be read.
std::optional<ResidentBytes> resident_bytes();

class MapBudget {
 public:
  // The file-backed resident memory under which the total limit releases nothing (the
  // binary and its libraries are about 15 MiB of it).
  static constexpr std::size_t kFloorBytes = std::size_t{32} << 20;

  // map_limit_bytes: file-backed resident memory above which check() releases the map's
  // pages; total_limit_bytes: resident memory above which it does too. 0: no such limit.
  MapBudget(Environment& env, std::size_t map_limit_bytes,
            std::size_t total_limit_bytes = 0) noexcept;
  ~MapBudget();  // stops the thread
  MapBudget(const MapBudget&) = delete;
  MapBudget& operator=(const MapBudget&) = delete;

  void start();  // idempotent
  void stop();   // idempotent; joins the thread

  // Releases the map's pages if the process is over the limit; returns whether it did.
  // Throws StorageError if madvise fails.
  bool check();
  // Whether resident memory `r` is over a limit that releasing the map's pages can lower.
  static bool over(const ResidentBytes& r, std::size_t map_limit_bytes,
                   std::size_t total_limit_bytes) noexcept;
  // The wait before the next check: the headroom left under the nearer limit (map limit
  // against r.file, total limit against r.total), at the larger of kFastestGrowthBytesPerMs
  // and the growth rate seen since the last check, within [kShortestWait, kLongestWait].
  static std::chrono::milliseconds next_wait(const ResidentBytes& r, std::size_t map_limit_bytes,
                                             std::size_t total_limit_bytes,
                                             double grown_bytes_per_ms) noexcept;
  // The fastest the map was seen to grow here (~1.3 GB/s, reading proofs across 10M entries).
  static constexpr double kFastestGrowthBytesPerMs = 1.3e6;
  static constexpr std::chrono::milliseconds kShortestWait{2};
  static constexpr std::chrono::milliseconds kLongestWait{20};
  // How many times the pages were released.
  std::uint64_t releases() const noexcept { return releases_.load(); }

 private:
  void run();
  // From the statm file opened once (or opened each time, if that failed).
  std::optional<ResidentBytes> resident() const;

  Environment& env_;
  std::size_t map_limit_bytes_;
  std::size_t total_limit_bytes_;
  std::atomic<std::uint64_t> releases_{0};
  std::size_t last_resident_ = 0;  // file-backed, at the last check; only the checking thread
  std::size_t last_total_ = 0;     // VmRSS, likewise
  bool warned_ = false;            // only the checking thread
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
  int statm_fd_ = -1;  // /proc/self/statm, open for the budget's life
};

}  // namespace relay::node::storage
