#pragma once
// Time as the node sees it, injected so that tests advance it instead of sleeping.
// Every component that stamps or compares times takes a `const Clock&` from the composition
// root (node/node.cpp); none reads the system clock itself.
//
// Threads: now_ms() may be called from any thread; ManualClock::set/advance too.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace relay::node::common {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual std::int64_t now_ms() const = 0;
};

// The wall clock (std::chrono::system_clock), optionally shifted by a fixed offset: process
// tests that need months to pass (retention checks) start nodes with
// RELAY_TEST_CLOCK_OFFSET_MS set (see offset_from_environment); a node logs a warning then.
class SystemClock final : public Clock {
 public:
  explicit SystemClock(std::chrono::milliseconds offset = std::chrono::milliseconds(0))
      : offset_(offset) {}
  std::int64_t now_ms() const override;
  std::chrono::milliseconds offset() const { return offset_; }
  // RELAY_TEST_CLOCK_OFFSET_MS as milliseconds (0 when unset or not an integer).
  static std::chrono::milliseconds offset_from_environment();

 private:
  std::chrono::milliseconds offset_;
};

// A clock that moves only when told: for tests of expiry, backoff and deadlines.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start_ms) : now_(start_ms) {}
  // Starts at the current wall-clock time (peers check timestamps against theirs).
  ManualClock();
  std::int64_t now_ms() const override { return now_.load(); }
  void set(std::int64_t ms) { now_.store(ms); }
  void advance(std::chrono::milliseconds by) { now_.fetch_add(by.count()); }

 private:
  std::atomic<std::int64_t> now_;
};

// The process's wall clock, for code outside the composition root (CLI commands, tools).
const Clock& system_clock();

}  // namespace relay::node::common
