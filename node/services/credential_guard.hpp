#pragma once
// Throttles guessing of API keys and operator/auditor tokens: an address that presents
// `max_failures` wrong credentials within `window` is refused (429 with Retry-After) for
// `block`, even with a right one, and one warning is logged when it is blocked (never the
// token). Keys are 256-bit, so guessing cannot succeed; the limit keeps a guesser from costing
// the node digests and log lines, and makes the attempt visible to the operator.
//
// Threads: any (one mutex). The table of addresses is bounded: past `max_addresses` it forgets
// the addresses that are not blocked.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "node/common/clock.hpp"

namespace relay::node::services {

class CredentialGuard {
 public:
  struct Limits {
    std::uint32_t max_failures = 10;
    std::chrono::seconds window{300};
    std::chrono::seconds block{900};
    std::size_t max_addresses = 10'000;
  };

  explicit CredentialGuard(const common::Clock& clock) : CredentialGuard(clock, Limits{}) {}
  CredentialGuard(const common::Clock& clock, Limits limits) : clock_(clock), limits_(limits) {}

  // How long `address` must still wait, or nullopt if it may present a credential now.
  std::optional<std::chrono::seconds> refused_for(std::string_view address) const;
  // Records a wrong credential from `address`; true if this one blocked it.
  bool failed(std::string_view address);
  // Addresses blocked now (for the operator).
  std::size_t blocked() const;

 private:
  struct Window {
    std::int64_t started_ms = 0;
    std::uint32_t failures = 0;
    std::int64_t blocked_until_ms = 0;
  };
  void forget_unblocked(std::int64_t now_ms);

  const common::Clock& clock_;
  Limits limits_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Window> addresses_;
};

}  // namespace relay::node::services
