#pragma once
// FileTail: the end of data.mdb that LMDB grows into, cached one page at a time beforehand.
#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace relay::node::storage {

// Why: LMDB writes the pages a commit adds at the end of data.mdb in runs of up to 64 (one
// 256 KiB pwritev), and ext4 on recent kernels (large folios) caches each run as one folio.
// When a later commit rewrites one page of such a run (LMDB reuses freed pages), the whole
// folio is marked dirty and written back: on this machine 254 KiB written for each 4 KiB page
// (1.2 MB of write_bytes per confirmation, about 3 us of kernel time per page; issue 19). A
// page the cache already holds as a small folio stays one. So before LMDB reaches them, the
// next pages of the file are each read once, 4 KiB at a time, through a descriptor opened with
// POSIX_FADV_RANDOM (no readahead, so one small folio per page). The file is first extended
// sparsely (ftruncate): the pages read are holes, zeros, no disk I/O; LMDB ignores anything
// past its last page (its meta page says where the data ends).
//
// Reading the mapped pages with MDB_NORDAHEAD (Environment) keeps the rest small: a fault with
// readahead caches up to 2 MiB as one folio.
//
// Only an optimisation: if the file cannot be opened, extended or read, it logs once and
// stops trying; LMDB writes as before.
class FileTail {
 public:
  // Opens its own descriptor on `file` (data.mdb), so LMDB's stays as LMDB set it. page_size
  // is the environment's (mdb_env_stat).
  FileTail(const std::filesystem::path& file, std::size_t page_size) noexcept;
  FileTail(const FileTail&) = delete;
  FileTail& operator=(const FileTail&) = delete;
  ~FileTail();

  // Readies the pages in [used_end, used_end + kAhead), capped at limit (the map size), unless
  // more than half of them are ready already. used_end is where LMDB's data ends (its last
  // page + 1, in bytes). Call only while holding LMDB's write lock with nothing written yet
  // (a top-level write txn just begun): the file cannot grow under the check, and shrinking
  // is never done.
  void ready(std::uint64_t used_end, std::uint64_t limit) noexcept;

  std::size_t page_size() const noexcept { return page_size_; }

  // The end (a file offset) of the pages readied so far; 0 before the first ready().
  std::uint64_t ready_end() const noexcept { return ready_end_; }

  // How far ahead of the data pages are readied: at 1.2 us a page, 2048 pages take about
  // 2.5 ms once per 4 MiB of growth.
  static constexpr std::uint64_t kAhead = std::uint64_t{8} << 20;

 private:
  void give_up(const char* what, int err) noexcept;

  int fd_ = -1;
  std::size_t page_size_;
  std::uint64_t ready_end_ = 0;
};

}  // namespace relay::node::storage
