#include "audit/parallel.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace relay::audit {

unsigned default_threads() {
  return std::max(1u, std::thread::hardware_concurrency());
}

void parallel_for(std::size_t n, unsigned threads,
                  const std::function<void(std::size_t begin, std::size_t end)>& block) {
  if (n == 0) return;
  const std::size_t workers = std::clamp<std::size_t>(threads, 1, n);
  if (workers == 1) {
    block(0, n);
    return;
  }
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto run = [&](std::size_t begin, std::size_t end) {
    try {
      block(begin, end);
    } catch (...) {
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
    }
  };
  const std::size_t step = (n + workers - 1) / workers;
  std::vector<std::thread> pool;
  for (std::size_t begin = step; begin < n; begin += step)
    pool.emplace_back(run, begin, std::min(n, begin + step));
  run(0, std::min(n, step));
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace relay::audit
