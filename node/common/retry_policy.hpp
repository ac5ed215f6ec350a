#pragma once
// When to try a deferred message again, and when to stop: shared by candidate mail
// (candidates::MailDispatch) and members' outcome reminders (services::OutcomeReminders), both
// configured by `mail.retry_initial_ms`, `mail.retry_max_ms` and `mail.give_up_after_hours`,
// and by the federation outbox (federation::Sender: `federation.retry_initial_ms`,
// `retry_max_ms`, `give_up_after_s`).
#include <chrono>
#include <cstdint>

namespace relay::node::common {

struct RetryPolicy {
  std::chrono::milliseconds initial{60'000};  // first backoff; doubles per attempt
  std::chrono::milliseconds max{3'600'000};   // backoff cap
  std::chrono::milliseconds give_up_after{std::chrono::hours(72)};

  // Delay before attempt number `attempts` + 1: exponential, capped, with "equal jitter" (half
  // fixed, half random) so that mail deferred together does not come back together.
  std::int64_t backoff_ms(std::uint32_t attempts) const;
  // A message first tried at `first_ms` and still undelivered at `now_ms` is given up.
  bool expired(std::int64_t first_ms, std::int64_t now_ms) const {
    return now_ms - first_ms >= give_up_after.count();
  }
};

}  // namespace relay::node::common
