// common/background_loop: passes run when woken and on the period; a pass that throws is
// logged and the loop goes on; the thread carries the loop's name, and a background loop runs
// ten nice levels below the process (read back from the kernel).
#include "node/common/background_loop.hpp"

#include <doctest/doctest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

using relay::node::common::BackgroundLoop;
using relay::node::common::LoopPriority;
using namespace std::chrono_literals;

// What the kernel says of the thread a loop's pass ran on.
struct Seen {
  std::string name;
  int nice = -100;
};

Seen run_one_pass(const std::string& name, LoopPriority priority) {
  std::atomic<pid_t> tid{0};
  BackgroundLoop loop(
      name, 1h, [&] { tid = gettid(); }, priority);
  loop.start();
  loop.wake();
  for (int i = 0; i < 500 && loop.passes() == 0; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(loop.passes() >= 1);
  Seen seen;
  // The thread is still waiting for its next pass: read it before stopping the loop.
  std::ifstream comm("/proc/self/task/" + std::to_string(tid.load()) + "/comm");
  std::getline(comm, seen.name);
  errno = 0;
  seen.nice = getpriority(PRIO_PROCESS, static_cast<id_t>(tid.load()));
  REQUIRE(errno == 0);
  loop.stop();
  return seen;
}

}  // namespace

TEST_CASE("background loop: named thread; a background loop ten nice levels below the rest") {
  errno = 0;
  const int own = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  REQUIRE(errno == 0);

  const auto normal = run_one_pass("mail", LoopPriority::normal);
  CHECK(normal.name == "mail");
  CHECK(normal.nice == own);

  const auto background = run_one_pass("pool-index-and-more", LoopPriority::background);
  CHECK(background.name == "pool-index-and-");  // the kernel keeps 15 bytes
  CHECK(background.nice == std::min(own + 10, 19));
}

TEST_CASE("background loop: a pass that throws is logged and the loop goes on") {
  std::atomic<int> calls{0};
  BackgroundLoop loop("throws", 10ms, [&] {
    ++calls;
    throw std::runtime_error("pass failed on purpose");
  });
  loop.start();
  for (int i = 0; i < 500 && loop.passes() < 3; ++i) std::this_thread::sleep_for(10ms);
  loop.stop();
  CHECK(loop.passes() >= 3);
  CHECK(calls.load() == static_cast<int>(loop.passes()));
  const auto after = loop.passes();
  std::this_thread::sleep_for(50ms);
  CHECK(loop.passes() == after);  // stopped: no pass after stop()
}
