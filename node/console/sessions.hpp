#pragma once
// The web console's sign-in sessions. Signing in exchanges a credential the role check
// already accepted (a member's API key or the operator token) for a random session id (32
// bytes from libsodium, base64url) that travels in an HttpOnly cookie, and a CSRF token bound
// to it that the console's script sends back in X-CSRF-Token on every state-changing request.
//
// Kept in memory only, keyed by SHA-256 of the id (a copy of the table, a core dump excepted,
// never holds a usable cookie): a restart signs everyone out, which is acceptable for a
// console, and nothing about a session ever reaches the disk. The session holds the credential
// itself, so every request goes through the same role check as a Bearer request: suspending
// the member or rotating the operator token ends its sessions at once. Credentials are zeroed
// when a session ends.
//
// A session ends `idle` after its last request, `absolute` after sign-in, or at sign-out. At
// most `max_sessions` exist: past it the one used least recently is dropped.
//
// Threads: any (one mutex).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "node/common/clock.hpp"

namespace relay::node::console {

// Why a console request was refused (api/errors.cpp maps each to its reply).
enum class SessionError {
  no_session,          // no session cookie, or one that expired or was signed out
  csrf_missing,        // a state-changing request with the cookie but not its CSRF token
  unknown_credential,  // sign-in with a key or token this node never issued
  cross_site,          // a sign-in posted from another site
};

// The session cookie's name.
inline constexpr std::string_view kCookie = "relay_session";

// What the browser gets at sign-in: the cookie's value and the CSRF token.
struct StartedSession {
  std::string id;
  std::string csrf;
  std::int64_t expires_ms = 0;        // when it ends unless used again (idle)
  std::int64_t cookie_max_age_s = 0;  // the absolute limit, for the cookie's Max-Age
};

// A live session as a request sees it.
struct ActiveSession {
  std::string credential;  // the member key or operator token it was started with
  std::string csrf;
  std::int64_t expires_ms = 0;  // whichever comes first: idle or absolute
};

class Sessions {
 public:
  struct Limits {
    std::chrono::minutes idle{60};
    std::chrono::hours absolute{12};
    std::size_t max_sessions = 10'000;
  };

  Sessions(const common::Clock& clock, Limits limits) : clock_(clock), limits_(limits) {}
  ~Sessions();
  Sessions(const Sessions&) = delete;
  Sessions& operator=(const Sessions&) = delete;

  // Starts a session for a credential the caller has already checked.
  StartedSession start(std::string credential);
  // The live session with this id (its idle timer restarts), or nullopt if it never existed,
  // expired or was ended.
  std::optional<ActiveSession> find(std::string_view id);
  // Ends it; false if there was none.
  bool end(std::string_view id);
  // True if `presented` is the session's CSRF token (constant time).
  static bool csrf_matches(const ActiveSession& session, std::string_view presented);
  std::size_t size() const;

 private:
  struct Entry {
    std::string credential;
    std::string csrf;
    std::int64_t started_ms = 0;
    std::int64_t last_ms = 0;
  };
  static std::string key_of(std::string_view id);
  bool expired(const Entry& e, std::int64_t now_ms) const;
  std::int64_t expiry(const Entry& e) const;
  void erase(std::map<std::string, Entry>::iterator it);
  void make_room(std::int64_t now_ms);

  const common::Clock& clock_;
  Limits limits_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> sessions_;  // SHA-256(id) -> entry
};

}  // namespace relay::node::console
