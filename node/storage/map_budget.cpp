#include "node/storage/map_budget.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>

namespace relay::node::storage {

void release_pages_read_once(Environment& env) noexcept {
  static std::atomic<bool> logged{false};
  try {
    env.release_mapped_pages();
  } catch (const std::exception& e) {
    if (!logged.exchange(true))
      spdlog::warn("storage: releasing the pages a build read failed: {}", e.what());
  }
}

std::optional<ResidentBytes> resident_bytes() {
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
  const auto bytes = static_cast<std::size_t>(page > 0 ? page : 4096);
  return ResidentBytes{static_cast<std::size_t>(resident) * bytes,
                       static_cast<std::size_t>(shared) * bytes};
}

MapBudget::MapBudget(Environment& env, std::size_t map_limit_bytes,
                     std::size_t total_limit_bytes) noexcept
    : env_(env), map_limit_bytes_(map_limit_bytes), total_limit_bytes_(total_limit_bytes) {}

bool MapBudget::over(const ResidentBytes& r, std::size_t map_limit_bytes,
                     std::size_t total_limit_bytes) noexcept {
  if (map_limit_bytes > 0 && r.file > map_limit_bytes) return true;
  return total_limit_bytes > 0 && r.total > total_limit_bytes && r.file > kFloorBytes;
}

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
  auto resident = resident_bytes();
  if (!resident) return false;
  last_resident_ = resident->file;
  last_total_ = resident->total;
  if (!warned_ && total_limit_bytes_ > 0 &&
      resident->total - resident->file >
          total_limit_bytes_ - std::min(total_limit_bytes_, kFloorBytes)) {
    // The node's own memory leaves the map almost nothing: every read faults its pages in.
    warned_ = true;
    spdlog::warn(
        "storage: the node's own memory ({} MiB) nearly fills storage.resident_mb ({} "
        "MiB); the database's pages are released as soon as they are read",
        (resident->total - resident->file) >> 20, total_limit_bytes_ >> 20);
  }
  if (!over(*resident, map_limit_bytes_, total_limit_bytes_)) return false;
  env_.release_mapped_pages();
  releases_.fetch_add(1);
  if (auto after = resident_bytes()) {
    last_resident_ = after->file;
    last_total_ = after->total;
  }
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
      // Near a limit: from half of it (see the header).
      busy = released || last_resident_ > before ||
             (map_limit_bytes_ > 0 && last_resident_ > map_limit_bytes_ / 2) ||
             (total_limit_bytes_ > 0 && last_total_ > total_limit_bytes_ / 2);
    } catch (const std::exception& e) {
      spdlog::error("storage: releasing the map's pages failed: {}", e.what());
    }
    lock.lock();
    cv_.wait_for(lock, busy ? std::chrono::milliseconds(2) : std::chrono::milliseconds(20),
                 [this] { return stopping_; });
  }
}

}  // namespace relay::node::storage
