#include "node/common/clock.hpp"

#include <cstdlib>

namespace relay::node::common {

std::int64_t SystemClock::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() +
         offset_.count();
}

std::chrono::milliseconds SystemClock::offset_from_environment() {
  const char* text = std::getenv("RELAY_TEST_CLOCK_OFFSET_MS");
  if (!text || !*text) return std::chrono::milliseconds(0);
  char* end = nullptr;
  long long v = std::strtoll(text, &end, 10);
  if (!end || *end != '\0') return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(v);
}

ManualClock::ManualClock() : now_(SystemClock{}.now_ms()) {}

const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace relay::node::common
