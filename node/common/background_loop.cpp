#include "node/common/background_loop.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace relay::node::common {

namespace {

// Names the calling thread and, for a background loop, lowers its priority. Neither is
// needed for the loop to work: a failure is logged, never thrown.
void settle_thread(const std::string& name, LoopPriority priority) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  if (priority != LoopPriority::background) return;
  // Linux applies a thread id's nice value to that thread alone. Relative to the process, so
  // a node started with `nice` keeps its loops below itself.
  const auto tid = static_cast<id_t>(gettid());
  errno = 0;
  const int now = getpriority(PRIO_PROCESS, tid);
  if (errno == 0 && setpriority(PRIO_PROCESS, tid, std::min(now + 10, 19)) == 0) return;
  spdlog::warn("{}: cannot lower the thread's priority: {}", name, std::strerror(errno));
}

}  // namespace

BackgroundLoop::BackgroundLoop(std::string name, std::chrono::milliseconds period,
                               std::function<void()> pass, LoopPriority priority)
    : name_(std::move(name)), period_(period), pass_(std::move(pass)), priority_(priority) {}

BackgroundLoop::~BackgroundLoop() {
  stop();
}

void BackgroundLoop::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    settle_thread(name_, priority_);
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      cv_.wait_for(lock, period_, [this] { return stopping_ || pending_; });
      if (stopping_) break;
      pending_ = false;
      lock.unlock();
      try {
        pass_();
      } catch (const std::exception& e) {
        spdlog::error("{}: pass failed: {}", name_, e.what());
      }
      lock.lock();
      ++passes_;
      cv_.notify_all();
    }
  });
}

void BackgroundLoop::stop() {
  std::thread t;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    t = std::move(thread_);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
}

void BackgroundLoop::wake() {
  {
    std::lock_guard lock(mutex_);
    pending_ = true;
  }
  cv_.notify_all();
}

std::uint64_t BackgroundLoop::passes() const {
  std::lock_guard lock(mutex_);
  return passes_;
}

}  // namespace relay::node::common
