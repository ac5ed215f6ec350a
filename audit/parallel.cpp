#include "audit/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace relay::audit {

unsigned default_threads() {
  return std::max(1u, std::thread::hardware_concurrency());
}

void parallel_for(std::size_t n, unsigned threads,
                  const std::function<void(std::size_t begin, std::size_t end)>& block,
                  const std::function<void()>& alongside) {
  const std::size_t workers = std::clamp<std::size_t>(threads, 1, std::max<std::size_t>(n, 1));
  if (workers == 1) {
    if (alongside) alongside();
    if (n != 0) block(0, n);
    return;
  }
  // Small blocks: the last ones finish close together (a block of 16 entries is under a
  // millisecond of verification); the shared counter is touched once per block only.
  const std::size_t grain = std::clamp<std::size_t>(n / (workers * 64), 1, 16);
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto fail = [&] {
    std::lock_guard lock(failure_mutex);
    if (!failure) failure = std::current_exception();
    next.store(n);
  };
  auto run = [&] {
    try {
      for (;;) {
        const std::size_t begin = next.fetch_add(grain);
        if (begin >= n) return;
        block(begin, std::min(n, begin + grain));
      }
    } catch (...) {
      fail();
    }
  };
  {
    std::vector<std::jthread> pool;
    pool.reserve(workers - 1);
    for (std::size_t t = 1; t < workers; ++t) pool.emplace_back(run);
    if (alongside) {
      try {
        alongside();
      } catch (...) {
        fail();
      }
    }
    run();
  }  // the jthreads join here
  if (failure) std::rethrow_exception(failure);
}

}  // namespace relay::audit
