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
#include <limits>

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

namespace {

std::optional<ResidentBytes> parse_statm(int fd) {
  // "size resident shared text lib data dt", in pages; shared = RssFile + RssShmem. pread at
  // 0: proc writes the text afresh for every read of the file's start.
  char text[128];
  ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  if (n <= 0) return std::nullopt;
  text[n] = '\0';
  unsigned long long size = 0, resident = 0, shared = 0;
  if (std::sscanf(text, "%llu %llu %llu", &size, &resident, &shared) != 3) return std::nullopt;
  static const long page = ::sysconf(_SC_PAGESIZE);
  const auto bytes = static_cast<std::size_t>(page > 0 ? page : 4096);
  return ResidentBytes{static_cast<std::size_t>(resident) * bytes,
                       static_cast<std::size_t>(shared) * bytes};
}

int open_statm() noexcept {
  return ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
}

}  // namespace

std::optional<ResidentBytes> resident_bytes() {
  int fd = open_statm();
  if (fd < 0) return std::nullopt;
  auto r = parse_statm(fd);
  ::close(fd);
  return r;
}

std::chrono::milliseconds MapBudget::next_wait(const ResidentBytes& r, std::size_t map_limit_bytes,
                                               std::size_t total_limit_bytes,
                                               double grown_bytes_per_ms) noexcept {
  constexpr std::size_t kNoLimit = std::numeric_limits<std::size_t>::max();
  auto room = [](std::size_t limit, std::size_t used) {
    return limit == 0 ? kNoLimit : limit - std::min(limit, used);
  };
  const std::size_t headroom =
      std::min(room(map_limit_bytes, r.file), room(total_limit_bytes, r.total));
  const double rate = std::max(kFastestGrowthBytesPerMs, grown_bytes_per_ms);
  const double wait_ms = static_cast<double>(headroom) / rate;
  if (wait_ms >= static_cast<double>(kLongestWait.count())) return kLongestWait;
  if (wait_ms <= static_cast<double>(kShortestWait.count())) return kShortestWait;
  return std::chrono::milliseconds(static_cast<std::int64_t>(wait_ms));
}

MapBudget::MapBudget(Environment& env, std::size_t map_limit_bytes,
                     std::size_t total_limit_bytes) noexcept
    : env_(env),
      map_limit_bytes_(map_limit_bytes),
      total_limit_bytes_(total_limit_bytes),
      statm_fd_(open_statm()) {}

bool MapBudget::over(const ResidentBytes& r, std::size_t map_limit_bytes,
                     std::size_t total_limit_bytes) noexcept {
  if (map_limit_bytes > 0 && r.file > map_limit_bytes) return true;
  return total_limit_bytes > 0 && r.total > total_limit_bytes && r.file > kFloorBytes;
}

MapBudget::~MapBudget() {
  stop();
  if (statm_fd_ >= 0) ::close(statm_fd_);
}

std::optional<ResidentBytes> MapBudget::resident() const {
  return statm_fd_ >= 0 ? parse_statm(statm_fd_) : resident_bytes();
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
  auto resident = this->resident();
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
  if (auto after = this->resident()) {
    last_resident_ = after->file;
    last_total_ = after->total;
  }
  return true;
}

void MapBudget::run() {
  pthread_setname_np(pthread_self(), "map budget");
  std::unique_lock lock(mutex_);
  auto checked = std::chrono::steady_clock::now();
  while (!stopping_) {
    lock.unlock();
    const std::size_t file_before = last_resident_;
    const std::size_t total_before = last_total_;
    auto wait = kShortestWait;
    try {
      check();
      const auto now = std::chrono::steady_clock::now();
      const double elapsed_ms =
          std::max(1.0, std::chrono::duration<double, std::milli>(now - checked).count());
      checked = now;
      auto grown = [](std::size_t now_bytes, std::size_t before) {
        return now_bytes > before ? static_cast<double>(now_bytes - before) : 0.0;
      };
      const double grown_per_ms =
          std::max(grown(last_resident_, file_before), grown(last_total_, total_before)) /
          elapsed_ms;
      wait = next_wait({.total = last_total_, .file = last_resident_}, map_limit_bytes_,
                       total_limit_bytes_, grown_per_ms);
    } catch (const std::exception& e) {
      spdlog::error("storage: releasing the map's pages failed: {}", e.what());
    }
    lock.lock();
    cv_.wait_for(lock, wait, [this] { return stopping_; });
  }
}

}  // namespace relay::node::storage
