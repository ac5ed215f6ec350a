// node/console/sessions: the console's sign-in sessions (idle and absolute expiry, sign-out,
// CSRF tokens, the bound on their number) and api::cookie_value, which finds the session cookie.
#include <doctest/doctest.h>

#include <string>

#include "node/api/routes.hpp"
#include "node/common/clock.hpp"
#include "node/console/sessions.hpp"

using relay::node::common::ManualClock;
using relay::node::console::Sessions;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("console");

TEST_CASE("console sessions: a session holds its credential until it is idle too long") {
  ManualClock clock(1'000'000);
  Sessions sessions(clock, {.idle = 60min, .absolute = 12h});
  auto started = sessions.start("rk_member_key");
  CHECK(started.id.size() == 43);  // 32 random bytes, base64url
  CHECK(started.csrf.size() == 43);
  CHECK(started.id != started.csrf);
  CHECK(started.expires_ms == 1'000'000 + 3'600'000);
  CHECK(started.cookie_max_age_s == 12 * 3600);
  clock.advance(59min);
  auto found = sessions.find(started.id);
  REQUIRE(found);
  CHECK(found->credential == "rk_member_key");
  CHECK(Sessions::csrf_matches(*found, started.csrf));
  CHECK_FALSE(Sessions::csrf_matches(*found, ""));
  CHECK_FALSE(Sessions::csrf_matches(*found, started.id));
  clock.advance(59min);  // used 59 minutes ago: still alive
  CHECK(sessions.find(started.id));
  clock.advance(60min);  // idle for an hour: gone, and stays gone
  CHECK_FALSE(sessions.find(started.id));
  clock.advance(-30min);
  CHECK_FALSE(sessions.find(started.id));
  CHECK(sessions.size() == 0);
}

TEST_CASE("console sessions: the absolute limit ends a session in use") {
  ManualClock clock(5'000'000);
  Sessions sessions(clock, {.idle = 60min, .absolute = 2h});
  auto started = sessions.start("operator-token");
  for (int i = 0; i < 3; ++i) {
    clock.advance(30min);
    CHECK(sessions.find(started.id));
  }
  clock.advance(30min);  // two hours after sign-in, though used 30 minutes ago
  CHECK_FALSE(sessions.find(started.id));
}

TEST_CASE("console sessions: sign-out ends only that session; unknown ids find nothing") {
  ManualClock clock(1'000);
  Sessions sessions(clock, {});
  auto one = sessions.start("key-1");
  auto two = sessions.start("key-1");
  CHECK(one.id != two.id);
  CHECK(sessions.end(one.id));
  CHECK_FALSE(sessions.end(one.id));
  CHECK_FALSE(sessions.find(one.id));
  CHECK(sessions.find(two.id));
  CHECK_FALSE(sessions.find(""));
  CHECK_FALSE(sessions.find(two.csrf));
  CHECK_FALSE(sessions.find(std::string(100, 'a')));
}

TEST_CASE("console sessions: past the bound the least recently used goes") {
  ManualClock clock(1'000);
  Sessions sessions(clock, {.idle = 60min, .absolute = 12h, .max_sessions = 3});
  auto first = sessions.start("k1");
  clock.advance(1s);
  auto second = sessions.start("k2");
  clock.advance(1s);
  auto third = sessions.start("k3");
  clock.advance(1s);
  CHECK(sessions.find(first.id));  // first is now the most recent
  clock.advance(1s);
  auto fourth = sessions.start("k4");
  CHECK(sessions.size() == 3);
  CHECK_FALSE(sessions.find(second.id));
  CHECK(sessions.find(first.id));
  CHECK(sessions.find(third.id));
  CHECK(sessions.find(fourth.id));
}

TEST_CASE("cookie_value finds one cookie among several") {
  using relay::node::api::cookie_value;
  relay::node::http::Request r;
  CHECK_FALSE(cookie_value(r, "relay_session"));
  r.headers["cookie"] = "a=1; relay_session=abc_-9; other=relay_session";
  REQUIRE(cookie_value(r, "relay_session"));
  CHECK(*cookie_value(r, "relay_session") == "abc_-9");
  CHECK(*cookie_value(r, "a") == "1");
  CHECK_FALSE(cookie_value(r, "relay"));
  r.headers["cookie"] = "relay_session_x=1";
  CHECK_FALSE(cookie_value(r, "relay_session"));
}
