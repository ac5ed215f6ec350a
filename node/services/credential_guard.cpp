#include "node/services/credential_guard.hpp"

#include <spdlog/spdlog.h>

namespace relay::node::services {

namespace {
std::int64_t ms(std::chrono::seconds s) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(s).count();
}
}  // namespace

std::optional<std::chrono::seconds> CredentialGuard::refused_for(std::string_view address) const {
  auto now = clock_.now_ms();
  std::lock_guard lock(mutex_);
  auto it = addresses_.find(std::string(address));
  if (it == addresses_.end() || it->second.blocked_until_ms <= now) return std::nullopt;
  // Rounded up: a client that waits Retry-After seconds is let in.
  return std::chrono::seconds((it->second.blocked_until_ms - now + 999) / 1000);
}

bool CredentialGuard::failed(std::string_view address) {
  auto now = clock_.now_ms();
  std::uint32_t failures = 0;
  {
    std::lock_guard lock(mutex_);
    if (addresses_.size() >= limits_.max_addresses) forget_unblocked(now);
    auto& w = addresses_[std::string(address)];
    if (w.blocked_until_ms > now) return false;  // already blocked (and logged)
    if (w.started_ms == 0 || now - w.started_ms >= ms(limits_.window)) w = {now, 0, 0};
    if (++w.failures < limits_.max_failures) return false;
    w.blocked_until_ms = now + ms(limits_.block);
    failures = w.failures;
    w.started_ms = 0;
    w.failures = 0;
  }
  // The address is the guesser's, which the operator needs to act on; never the token.
  spdlog::warn("api: {} wrong credentials from {} within {} s; refused for {} s", failures, address,
               limits_.window.count(), limits_.block.count());
  return true;
}

std::size_t CredentialGuard::blocked() const {
  auto now = clock_.now_ms();
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [address, w] : addresses_) n += w.blocked_until_ms > now;
  return n;
}

void CredentialGuard::forget_unblocked(std::int64_t now_ms) {
  for (auto it = addresses_.begin(); it != addresses_.end();) {
    if (it->second.blocked_until_ms > now_ms)
      ++it;
    else
      it = addresses_.erase(it);
  }
}

}  // namespace relay::node::services
