#include "node/common/clock.hpp"

namespace relay::node::common {

std::int64_t SystemClock::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ManualClock::ManualClock() : now_(SystemClock{}.now_ms()) {}

const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace relay::node::common
