#include "node/services/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace relay::node::services {

RateLimit::RateLimit(const common::Clock& clock, Rule rule, std::size_t max_keys)
    : clock_(clock), rule_(rule), max_keys_(std::max<std::size_t>(max_keys, 1)) {
  if (rule_.period.count() <= 0) rule_.period = std::chrono::seconds(1);
}

std::optional<std::chrono::seconds> RateLimit::take(std::string_view key) {
  if (rule_.burst == 0) return std::nullopt;
  const auto now = clock_.now_ms();
  const double capacity = rule_.burst;
  const double per_ms = capacity / (static_cast<double>(rule_.period.count()) * 1000.0);
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      buckets_.erase(recent_.back());
      recent_.pop_back();
    }
    recent_.emplace_front(key);
    it = buckets_.emplace(recent_.front(), Bucket{capacity, now, recent_.begin()}).first;
  } else {
    recent_.splice(recent_.begin(), recent_, it->second.recency);
    auto& b = it->second;
    // A clock that steps back refills nothing.
    auto elapsed = std::max<std::int64_t>(now - b.updated_ms, 0);
    b.tokens = std::min(capacity, b.tokens + static_cast<double>(elapsed) * per_ms);
    b.updated_ms = now;
  }
  auto& b = it->second;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  auto wait_ms = (1.0 - b.tokens) / per_ms;
  return std::chrono::seconds(std::max<std::int64_t>(1, std::llround(std::ceil(wait_ms / 1000.0))));
}

std::size_t RateLimit::tracked() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace relay::node::services
