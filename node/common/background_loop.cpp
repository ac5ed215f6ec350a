#include "node/common/background_loop.hpp"

#include <spdlog/spdlog.h>

namespace relay::node::common {

BackgroundLoop::BackgroundLoop(std::string name, std::chrono::milliseconds period,
                               std::function<void()> pass)
    : name_(std::move(name)), period_(period), pass_(std::move(pass)) {}

BackgroundLoop::~BackgroundLoop() {
  stop();
}

void BackgroundLoop::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
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
