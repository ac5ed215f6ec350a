#include "node/common/retry_policy.hpp"

#include <algorithm>

#include "crypto/random.hpp"

namespace relay::node::common {

std::int64_t RetryPolicy::backoff_ms(std::uint32_t attempts) const {
  std::int64_t delay = std::max<std::int64_t>(1, initial.count());
  for (std::uint32_t i = 1; i < attempts && delay < max.count(); ++i) delay *= 2;
  delay = std::min<std::int64_t>(delay, max.count());
  const auto half = static_cast<std::uint64_t>(delay / 2);
  std::uint64_t r = 0;
  crypto::random_fill(reinterpret_cast<std::uint8_t*>(&r), sizeof r);
  return delay - static_cast<std::int64_t>(half) + static_cast<std::int64_t>(r % (half + 1));
}

}  // namespace relay::node::common
