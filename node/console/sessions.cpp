#include "node/console/sessions.hpp"

#include <sodium.h>

#include <algorithm>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"

namespace relay::node::console {

namespace {

void wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

}  // namespace

Sessions::~Sessions() {
  std::lock_guard lock(mutex_);
  while (!sessions_.empty()) erase(sessions_.begin());
}

std::string Sessions::key_of(std::string_view id) {
  auto digest = crypto::sha256(crypto::as_bytes(id));
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

std::int64_t Sessions::expiry(const Entry& e) const {
  auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(limits_.idle).count();
  auto absolute = std::chrono::duration_cast<std::chrono::milliseconds>(limits_.absolute).count();
  return std::min(e.last_ms + idle, e.started_ms + absolute);
}

bool Sessions::expired(const Entry& e, std::int64_t now_ms) const {
  return now_ms >= expiry(e);
}

void Sessions::erase(std::map<std::string, Entry>::iterator it) {
  wipe(it->second.credential);
  wipe(it->second.csrf);
  sessions_.erase(it);
}

void Sessions::make_room(std::int64_t now_ms) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    auto next = std::next(it);
    if (expired(it->second, now_ms)) erase(it);
    it = next;
  }
  while (sessions_.size() >= limits_.max_sessions && !sessions_.empty()) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
      return a.second.last_ms < b.second.last_ms;
    });
    erase(oldest);
  }
}

StartedSession Sessions::start(std::string credential) {
  auto now = clock_.now_ms();
  StartedSession started{
      crypto::random_token(32), crypto::random_token(32), 0,
      std::chrono::duration_cast<std::chrono::seconds>(limits_.absolute).count()};
  std::lock_guard lock(mutex_);
  make_room(now);
  Entry e{std::move(credential), started.csrf, now, now};
  wipe(credential);
  started.expires_ms = expiry(e);
  sessions_[key_of(started.id)] = std::move(e);
  return started;
}

std::optional<ActiveSession> Sessions::find(std::string_view id) {
  if (id.empty() || id.size() > 64) return std::nullopt;
  auto now = clock_.now_ms();
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(key_of(id));
  if (it == sessions_.end()) return std::nullopt;
  if (expired(it->second, now)) {
    erase(it);
    return std::nullopt;
  }
  it->second.last_ms = now;
  return ActiveSession{it->second.credential, it->second.csrf, expiry(it->second)};
}

bool Sessions::end(std::string_view id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(key_of(id));
  if (it == sessions_.end()) return false;
  erase(it);
  return true;
}

bool Sessions::csrf_matches(const ActiveSession& session, std::string_view presented) {
  return presented.size() == session.csrf.size() && !session.csrf.empty() &&
         sodium_memcmp(presented.data(), session.csrf.data(), presented.size()) == 0;
}

std::size_t Sessions::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

}  // namespace relay::node::console
