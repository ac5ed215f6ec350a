// protocol: introduction.outcome, the message a requesting node sends the holding node about a
// cross-node introduction: its JSON round-trips, its parse is strict (exactly the fields, each
// of its type, a known outcome, a reason only and always with "left"), and it carries no
// personal data. Also the outcome_received event it leads to.
#include <doctest/doctest.h>

#include <string>

#include "protocol/event.hpp"
#include "protocol/federation_messages.hpp"

namespace protocol = relay::protocol;
using nlohmann::json;
using protocol::IntroductionOutcome;

TEST_CASE("introduction.outcome: round trip for every outcome") {
  CHECK(IntroductionOutcome::type == "introduction.outcome");
  for (auto outcome : IntroductionOutcome::kOutcomes) {
    IntroductionOutcome m{"h_abc", std::string(outcome), outcome == "left" ? "relocation" : "",
                          1'700'000'000'000};
    auto j = m.to_json();
    CHECK(j.size() == (outcome == "left" ? 4u : 3u));
    auto back = IntroductionOutcome::parse(j);
    REQUIRE(back);
    CHECK(back->handoff == "h_abc");
    CHECK(back->outcome == outcome);
    CHECK(back->reason == m.reason);
    CHECK(back->at_ms == 1'700'000'000'000);
    CHECK(back->to_json() == j);
  }
  CHECK(IntroductionOutcome{"h_1", "hired", "", 5}.to_json() ==
        json{{"handoff", "h_1"}, {"outcome", "hired"}, {"at_ms", 5}});
}

TEST_CASE("introduction.outcome: strict parse refuses anything else") {
  const json good{{"handoff", "h_1"}, {"outcome", "hired"}, {"at_ms", 5}};
  REQUIRE(IntroductionOutcome::parse(good));
  auto with = [&](const char* field, json value) {
    auto j = good;
    j[field] = std::move(value);
    return IntroductionOutcome::parse(j);
  };
  auto without = [&](const char* field) {
    auto j = good;
    j.erase(field);
    return IntroductionOutcome::parse(j);
  };
  CHECK_FALSE(IntroductionOutcome::parse(json::array()));
  CHECK_FALSE(IntroductionOutcome::parse("hired"));
  CHECK_FALSE(without("handoff"));
  CHECK_FALSE(without("outcome"));
  CHECK_FALSE(without("at_ms"));
  CHECK_FALSE(with("outcome", "promoted"));  // unknown outcome
  CHECK_FALSE(with("outcome", "HIRED"));
  CHECK_FALSE(with("outcome", 3));
  CHECK_FALSE(with("handoff", ""));
  CHECK_FALSE(with("handoff", 7));
  CHECK_FALSE(with("at_ms", "5"));
  CHECK_FALSE(with("at_ms", 5.5));
  CHECK_FALSE(with("at_ms", -1));
  CHECK_FALSE(with("name", "山田 花子"));     // no extra fields, personal or not
  CHECK_FALSE(with("reason", "relocation"));  // a reason belongs to left alone
  auto left = good;
  left["outcome"] = "left";
  CHECK_FALSE(IntroductionOutcome::parse(left));  // left needs its reason
  left["reason"] = "";
  CHECK_FALSE(IntroductionOutcome::parse(left));
  left["reason"] = 1;
  CHECK_FALSE(IntroductionOutcome::parse(left));
  left["reason"] = "pay";
  CHECK(IntroductionOutcome::parse(left));
}

TEST_CASE("events: outcome_received carries ids and codes only") {
  auto e = protocol::outcome_received("h_1", "osaka.example", "left", "pay");
  CHECK(e.kind == "outcome_received");
  CHECK(
      e.data ==
      json{{"handoff", "h_1"}, {"peer", "osaka.example"}, {"outcome", "left"}, {"reason", "pay"}});
}
