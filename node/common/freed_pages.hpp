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
#include <malloc.h>

namespace relay::node::common {

inline void keep_freed_pages() {
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_TRIM_THRESHOLD, 2 << 20);
}

}  // namespace relay::node::common
