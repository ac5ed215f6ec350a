// node/services/rate_limit: the token bucket behind every rate limit, and the name rules of
// node/common/text (clean_text) that every name field goes through.
#include "node/services/rate_limit.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "node/common/clock.hpp"
#include "node/common/text.hpp"
#include "node/services/request_limits.hpp"

using relay::node::common::clean_text;
using relay::node::common::ManualClock;
using relay::node::services::RateLimit;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("limits");

TEST_CASE("rate limit: a burst passes, the next waits for the refill it is told") {
  ManualClock clock(1'000'000);
  RateLimit limit(clock, {5, 60s}, 100);  // 5 a minute: one token every 12 s
  for (int i = 0; i < 5; ++i) CHECK_FALSE(limit.take("10.0.0.1"));
  auto wait = limit.take("10.0.0.1");
  REQUIRE(wait);
  CHECK(*wait == 12s);
  CHECK_FALSE(limit.take("10.0.0.2"));  // another key has its own bucket
  clock.advance(11'000ms);
  auto still = limit.take("10.0.0.1");
  REQUIRE(still);
  CHECK(*still >= 1s);
  clock.advance(1'000ms);  // 12 s after the refusal: exactly one token
  CHECK_FALSE(limit.take("10.0.0.1"));
  CHECK(limit.take("10.0.0.1"));
  clock.advance(10min);  // refills to the burst, never beyond
  for (int i = 0; i < 5; ++i) CHECK_FALSE(limit.take("10.0.0.1"));
  CHECK(limit.take("10.0.0.1"));
}

TEST_CASE("rate limit: zero requests is no limit; a clock stepping back refills nothing") {
  ManualClock clock(1'000'000);
  RateLimit off(clock, {0, 60s}, 10);
  for (int i = 0; i < 1000; ++i) CHECK_FALSE(off.take("k"));
  CHECK(off.tracked() == 0);
  RateLimit limit(clock, {1, 60s}, 10);
  CHECK_FALSE(limit.take("k"));
  clock.set(0);
  CHECK(limit.take("k"));
}

TEST_CASE("rate limit: keys rotated by an attacker evict the least recent, memory stays bounded") {
  ManualClock clock(1'000'000);
  RateLimit limit(clock, {2, 3600s}, 1000);
  // A legitimate key, busy: spent its burst.
  CHECK_FALSE(limit.take("member"));
  CHECK_FALSE(limit.take("member"));
  CHECK(limit.take("member"));
  for (int i = 0; i < 100'000; ++i) {
    limit.take("forged-" + std::to_string(i));
    if (i % 500 == 0) CHECK(limit.take("member"));  // seen recently: kept, still limited
  }
  CHECK(limit.tracked() == 1000);
}

TEST_CASE("rate limit: many threads never let more through than the burst") {
  ManualClock clock(1'000'000);
  RateLimit limit(clock, {1000, 86400s}, 100);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i)
        if (!limit.take("shared")) allowed.fetch_add(1);
    });
  for (auto& t : threads) t.join();
  CHECK(allowed.load() == 1000);
}

TEST_CASE("request limits: an address key is a keyed hash, stable within the process") {
  ManualClock clock(1'000'000);
  relay::node::services::RequestLimits limits(
      clock, {{600, 60s}, {600, 60s}, {30, 60s}, {5, 3600s}, 1000});
  auto key = limits.address_key("taro@example.jp");
  CHECK(key == limits.address_key("taro@example.jp"));
  CHECK(key != limits.address_key("jiro@example.jp"));
  CHECK(key.find("taro") == std::string::npos);
  CHECK(key.size() == 64);
}

TEST_CASE("names: bidi controls are refused, Unicode blanks trimmed, blanks alone refused") {
  // U+202E RIGHT-TO-LEFT OVERRIDE makes "Taro\u202Egnp.exe" display as "Taroexe.png".
  for (const char* bidi : {"\u202A", "\u202B", "\u202C", "\u202D", "\u202E", "\u2066", "\u2067",
                           "\u2068", "\u2069", "\u200E", "\u200F", "\u061C"}) {
    CAPTURE(bidi);
    CHECK_FALSE(clean_text(std::string("Taro") + bidi + "gnp.exe", 100));
    CHECK_FALSE(clean_text(std::string(bidi) + "山田", 100));
  }
  // Only blanks: ideographic spaces, NBSP, the U+2000 range, zero-width space, BOM.
  for (const char* blank : {"\u3000\u3000", "\u00A0", "\u2003\u2009", "\u200B", "\uFEFF",
                            " \u3000\t", "\u202F\u205F"}) {
    CAPTURE(blank);
    CHECK_FALSE(clean_text(blank, 100));
  }
  CHECK(clean_text("\u3000山田\u3000太郎\u3000", 100) == "山田\u3000太郎");
  CHECK(clean_text("\u00A0Example KK\u2003", 100) == "Example KK");
  CHECK(clean_text("山田太郎", 4) == "山田太郎");
  CHECK_FALSE(clean_text("\u3000山田太郎\u3000", 3));  // counted after trimming
  CHECK_FALSE(clean_text("a\u0085b", 10));             // C1 control inside
  CHECK_FALSE(clean_text("a\nb", 10));
  CHECK(clean_text("Ünïcödé née", 20) == "Ünïcödé née");
  CHECK(clean_text("عربي", 10) == "عربي");  // right-to-left script itself is fine
}
