#pragma once
// One background thread that runs a pass when woken and at least every `period`: the shape
// of every loop the node keeps (mail, federation delivery, witnessing, erasure sweeps).
// A pass that throws is logged and the loop goes on; stop() waits for the running pass.
// The thread carries the loop's name (first 15 bytes, as `top -H` and /proc show it); a
// background loop runs ten nice levels below the node, so work that can wait (building the
// pool index at start, training the success model) yields the cores to requests.
//
// Threads: wake() and stop() from any thread; the pass runs on the loop's own thread.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace relay::node::common {

enum class LoopPriority { normal, background };

class BackgroundLoop {
 public:
  BackgroundLoop(std::string name, std::chrono::milliseconds period, std::function<void()> pass,
                 LoopPriority priority = LoopPriority::normal);
  ~BackgroundLoop();
  BackgroundLoop(const BackgroundLoop&) = delete;
  BackgroundLoop& operator=(const BackgroundLoop&) = delete;

  void start();  // idempotent
  void stop();   // idempotent; joins the thread
  // Asks for a pass soon (e.g. after a commit that queued work for this loop).
  void wake();
  // Passes completed so far (for tests that wait for one).
  std::uint64_t passes() const;

 private:
  std::string name_;
  std::chrono::milliseconds period_;
  std::function<void()> pass_;
  LoopPriority priority_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool pending_ = false;
  std::uint64_t passes_ = 0;
  std::thread thread_;
};

}  // namespace relay::node::common
