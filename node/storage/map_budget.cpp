#include "node/storage/map_budget.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>

namespace relay::node::storage {

std::optional<std::size_t> resident_file_bytes() {
  // "size resident shared text lib data dt", in pages; shared = RssFile + RssShmem.
  int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char text[128];
  ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  text[n] = '\0';
  unsigned long long size = 0, resident = 0, shared = 0;
  if (std::sscanf(text, "%llu %llu %llu", &size, &resident, &shared) != 3) return std::nullopt;
  long page = ::sysconf(_SC_PAGESIZE);
  return static_cast<std::size_t>(shared) * static_cast<std::size_t>(page > 0 ? page : 4096);
}

MapBudget::MapBudget(Environment& env, std::size_t limit_bytes) noexcept
    : env_(env), limit_bytes_(limit_bytes) {}

MapBudget::~MapBudget() {
  stop();
}

void MapBudget::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

void MapBudget::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool MapBudget::check() {
  auto resident = resident_file_bytes();
  if (!resident) return false;
  last_resident_ = *resident;
  if (*resident <= limit_bytes_) return false;
  env_.release_mapped_pages();
  releases_.fetch_add(1);
  if (auto after = resident_file_bytes()) last_resident_ = *after;
  return true;
}

void MapBudget::run() {
  pthread_setname_np(pthread_self(), "map budget");
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    const std::size_t before = last_resident_;
    bool busy = true;
    try {
      bool released = check();
      busy = released || last_resident_ > before || last_resident_ > limit_bytes_ / 2;
    } catch (const std::exception& e) {
      spdlog::error("storage: releasing the map's pages failed: {}", e.what());
    }
    lock.lock();
    cv_.wait_for(lock, busy ? std::chrono::milliseconds(2) : std::chrono::milliseconds(20),
                 [this] { return stopping_; });
  }
}

}  // namespace relay::node::storage
