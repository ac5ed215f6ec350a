// protocol: erasure.request, from the holding node to a recipient of a candidate's data: an
// erasure carries only the handoff (the bytes every earlier node sent); a withdrawal of
// consent adds reason "withdrawn", and nothing else is accepted. Also the events it leads to.
#include <doctest/doctest.h>

#include <string>

#include "protocol/event.hpp"
#include "protocol/federation_messages.hpp"

namespace protocol = relay::protocol;
using nlohmann::json;
using protocol::ErasureRequest;

TEST_CASE("erasure.request: an erasure is {handoff}, a withdrawal adds its reason") {
  CHECK(ErasureRequest{"h_1", ""}.to_json() == json{{"handoff", "h_1"}});
  CHECK(ErasureRequest{"h_1", "withdrawn"}.to_json() ==
        json{{"handoff", "h_1"}, {"reason", "withdrawn"}});
  for (const auto& j :
       {json{{"handoff", "h_1"}}, json{{"handoff", "h_1"}, {"reason", "withdrawn"}}}) {
    auto back = ErasureRequest::parse(j);
    REQUIRE(back);
    CHECK(back->handoff == "h_1");
    CHECK(back->to_json() == j);
  }
}

TEST_CASE("erasure.request: strict parse refuses anything else") {
  for (const auto& j :
       {json::object(), json{{"handoff", ""}}, json{{"handoff", 5}},
        json{{"handoff", "h_1"}, {"reason", ""}}, json{{"handoff", "h_1"}, {"reason", "erased"}},
        json{{"handoff", "h_1"}, {"reason", 1}},
        json{{"handoff", "h_1"}, {"reason", "withdrawn"}, {"extra", 1}},
        json{{"handoff", "h_1"}, {"why", "withdrawn"}}, json::array()}) {
    CAPTURE(j.dump());
    CHECK_FALSE(ErasureRequest::parse(j));
  }
}

TEST_CASE("erasure events: a withdrawal is named, an erasure keeps its earlier shape") {
  auto erasure = protocol::erasure_requested("ps", "kobe.example", "h_1");
  CHECK(erasure.data == json{{"candidate", "ps"}, {"peer", "kobe.example"}, {"handoff", "h_1"}});
  auto withdrawal = protocol::erasure_requested("ps", "kobe.example", "h_1", "withdrawn");
  CHECK(withdrawal.data.at("reason") == "withdrawn");
  auto kept = protocol::erasure_kept("h_1", "osaka.example", "hired");
  CHECK(kept.kind == "erasure_kept");
  CHECK(kept.data == json{{"handoff", "h_1"}, {"peer", "osaka.example"}, {"reason", "hired"}});
}
