#pragma once
// How a serving process's malloc arenas give memory back to the kernel (relay-node serve, and
// bare-http, the raw limit it is measured against, in the same way).
//
// A reply of tens of kilobytes (a pool search lists ~150 profiles in 30 KB), freed on an HTTP
// thread, left its arena's free top past glibc's 128 KiB trim threshold: the arena gave the
// pages back (madvise, a TLB flush) and the next reply faulted them in again. In
// scripts/bench-reads that was 1.4 page faults per pool search and the search at 0.23-0.25 of
// the bare server (0.01 and 0.39-0.53 with this). Each arena now keeps up to 2 MiB. Fixing one
// threshold ends glibc's own adjustment of both, so the mmap threshold is fixed too, where that
// adjustment puts it after a 1 MiB block (a larger block is mapped and unmapped on its own).
// These are glibc's settings: a build linked with jemalloc (RELAY_JEMALLOC, the default) leaves
// them unused, and jemalloc keeps freed pages by itself (they are purged seconds later, not at
// once: 0.01 faults per pool search in bench-reads). They stay for builds on glibc's malloc.
//
// jemalloc also keeps a cache for each thread that allocates, about 85 KB once used: the
// federation sender's thread for each peer, which waits on the network far more than it
// allocates, made a node of 1,000 peers 85 MB larger (1,022 threads: 128 MB resident against
// 41 MB without the caches), past the memory budget, whose releases then ran all the time.
// disable_thread_cache() turns the calling thread's cache off.
#include <malloc.h>

#include <cstddef>

// jemalloc's control interface, if jemalloc is the allocator (weak: absent otherwise).
extern "C" int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp,
                       std::size_t newlen) __attribute__((weak));

namespace relay::node::common {

inline void keep_freed_pages() {
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_TRIM_THRESHOLD, 2 << 20);
}

// Turns jemalloc's cache off for the calling thread, once (no-op on any other allocator).
// Returns true if the thread runs without one.
inline bool disable_thread_cache() noexcept {
  thread_local bool disabled = false;
  if (!disabled && mallctl != nullptr) {
    bool enabled = false;
    disabled = mallctl("thread.tcache.enabled", nullptr, nullptr, &enabled, sizeof enabled) == 0;
  }
  return disabled;
}

}  // namespace relay::node::common
