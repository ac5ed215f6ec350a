// protocol: the event builders of issue 14 write exactly the fields their header lists, and
// nothing else (no titles, no free text about people).
#include "protocol/event.hpp"

#include <doctest/doctest.h>

namespace protocol = relay::protocol;

TEST_CASE("events: the new kinds carry ids and codes only") {
  auto opened = protocol::requisition_opened("m1", "q1", "requisition", "I", "regular", 2);
  CHECK(opened.kind == "requisition_opened");
  CHECK(opened.data == nlohmann::json{{"member", "m1"},
                                      {"requisition", "q1"},
                                      {"kind", "requisition"},
                                      {"category", "I"},
                                      {"employment_type", "regular"},
                                      {"headcount", 2}});
  CHECK(protocol::credit_spent("m1", "i1", 0).data ==
        nlohmann::json{{"member", "m1"}, {"introduction", "i1"}, {"balance", 0}});
  CHECK(protocol::credit_refunded("m1", "i1", "declined", 1).data.size() == 4);
  CHECK(protocol::introduction_made("i1", "m1", "q1", "local", "ref").data.at("holder") == "local");
  CHECK(protocol::hire_attributed("i1", {"m_a", "m_b"}).data.at("referrers").size() == 2);
  CHECK(protocol::is_refund_reason("undelivered"));
  CHECK_FALSE(protocol::is_refund_reason("hired"));
}

TEST_CASE("events: every new kind has its own name") {
  CHECK(protocol::credit_granted("m1", 2, "programme", 2).kind == "credit_granted");
  CHECK(protocol::credit_granted("m1", 2, "programme", 2).data ==
        nlohmann::json{{"member", "m1"}, {"credits", 2}, {"reason", "programme"}, {"balance", 2}});
  CHECK(protocol::requisition_updated("m1", "q1", "secondment_offer", "H", "secondment", 1).kind ==
        "requisition_updated");
  CHECK(protocol::requisition_closed("m1", "q1").data ==
        nlohmann::json{{"member", "m1"}, {"requisition", "q1"}});
  CHECK(
      protocol::introduction_outcome("i1", "m1", "left", "relocation").data ==
      nlohmann::json{
          {"introduction", "i1"}, {"member", "m1"}, {"outcome", "left"}, {"reason", "relocation"}});
  CHECK(protocol::reemployment_reported("ab12", "").data ==
        nlohmann::json{{"candidate", "ab12"}, {"through", ""}});
}
