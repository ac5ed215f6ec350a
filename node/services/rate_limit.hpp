#pragma once
// A rate limit per key (an address, a member, a relay link, a hashed email address): a token
// bucket of `burst` requests that refills `burst` every `period`. take() spends one token or
// says how long until one is available (a client that waits that long gets in).
//
// Bounded memory: at most `max_keys` buckets. A new key past that evicts the least recently
// used bucket (a full bucket and a forgotten one behave alike, so evicting idle keys costs
// nothing; an attacker rotating keys only evicts its own older keys first). Evicting a busy
// key errs toward letting it in, never toward refusing anyone.
//
// Threads: any (one mutex; each call is O(1)).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "node/common/clock.hpp"

namespace relay::node::services {

class RateLimit {
 public:
  struct Rule {
    std::uint32_t burst = 0;  // 0: no limit
    std::chrono::seconds period{60};
  };

  RateLimit(const common::Clock& clock, Rule rule, std::size_t max_keys);

  // nullopt: allowed, one token spent. Otherwise the whole seconds (at least 1) to wait.
  std::optional<std::chrono::seconds> take(std::string_view key);
  // Buckets held now (for tests and the operator).
  std::size_t tracked() const;
  const Rule& rule() const { return rule_; }

 private:
  struct Bucket {
    double tokens = 0;
    std::int64_t updated_ms = 0;
    std::list<std::string>::iterator recency;  // into recent_ (front: most recent)
  };

  const common::Clock& clock_;
  Rule rule_;
  std::size_t max_keys_;
  mutable std::mutex mutex_;
  std::list<std::string> recent_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace relay::node::services
