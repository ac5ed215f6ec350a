// protocol/netting: positions, the fewest transfers, the signed document and strict parsing.
#include "protocol/netting.hpp"

#include <doctest/doctest.h>

namespace pn = relay::protocol::netting;
using nlohmann::json;

namespace {
pn::Netting chain() {
  // a owes b 3, b owes c 1, c owes a 1: positions a -2, b +2, c 0.
  return {"n_1",
          "a.example",
          {"a.example", "b.example", "c.example"},
          {{"s_1", "a.example", "b.example", 3},
           {"s_2", "b.example", "c.example", 1},
           {"s_3", "c.example", "a.example", 1}}};
}
}  // namespace

TEST_SUITE_BEGIN("protocol");

TEST_CASE("netting: positions sum to zero and a cycle leaves only what is really owed") {
  auto n = chain();
  auto p = pn::positions(n);
  CHECK(p ==
        std::map<std::string, std::int64_t>{{"a.example", -2}, {"b.example", 2}, {"c.example", 0}});
  CHECK(pn::transfers(n) == std::vector<pn::Transfer>{{"a.example", "b.example", 2}});
  // A pure cycle cancels altogether.
  n.statements = {{"s_1", "a.example", "b.example", 1},
                  {"s_2", "b.example", "c.example", 1},
                  {"s_3", "c.example", "a.example", 1}};
  CHECK(pn::transfers(n).empty());
  // One debtor, two creditors of equal size: by name.
  n.statements = {{"s_1", "a.example", "c.example", 1}, {"s_2", "a.example", "b.example", 1}};
  CHECK(pn::transfers(n) ==
        std::vector<pn::Transfer>{{"a.example", "b.example", 1}, {"a.example", "c.example", 1}});
}

TEST_CASE("netting: the document is canonical and carries positions and transfers") {
  CHECK(
      pn::document_bytes(chain()) ==
      R"({"netting":"n_1","participants":["a.example","b.example","c.example"],)"
      R"("positions":{"a.example":-2,"b.example":2,"c.example":0},"proposer":"a.example",)"
      R"("statements":[{"amount":3,"creditor":"b.example","debtor":"a.example","statement":"s_1"},)"
      R"({"amount":1,"creditor":"c.example","debtor":"b.example","statement":"s_2"},)"
      R"({"amount":1,"creditor":"a.example","debtor":"c.example","statement":"s_3"}],)"
      R"("transfers":[{"amount":2,"creditor":"b.example","debtor":"a.example"}],)"
      R"("type":"relay-netting/v1"})");
  auto parsed = pn::parse(pn::to_json(chain()));
  REQUIRE(parsed);
  CHECK(pn::document_bytes(*parsed) == pn::document_bytes(chain()));
  auto event = pn::netting_agreed(chain(), {{"a.example", "sig"}});
  CHECK(event.kind == "netting_agreed");
  CHECK(event.data.at("signatures") == json{{"a.example", "sig"}});
  CHECK(event.data.at("transfers").size() == 1);
}

TEST_CASE("netting: documents and messages parse strictly") {
  auto good = pn::to_json(chain());
  auto with = [&](const char* field, json value) {
    auto j = good;
    j[field] = std::move(value);
    return j;
  };
  for (const auto& bad : {
           with("participants", json{"a.example", "b.example"}),               // fewer than 3
           with("participants", json{"b.example", "a.example", "c.example"}),  // unsorted
           with("participants", json{"a.example", "a.example", "c.example"}),  // repeated
           with("participants", json{"a.example", "B.example", "c.example"}),  // not a name
           with("proposer", "d.example"),                                      // not a participant
           with("netting", "n 1"),
           with("statements", json::parse(R"([{"statement":"s_2","debtor":"a.example",
               "creditor":"b.example","amount":1},{"statement":"s_1","debtor":"a.example",
               "creditor":"b.example","amount":1}])")),  // unsorted
           with("statements", json::parse(R"([{"statement":"s_1","debtor":"a.example",
               "creditor":"a.example","amount":1}])")),  // to itself
           with("statements", json::parse(R"([{"statement":"s_1","debtor":"a.example",
               "creditor":"d.example","amount":1}])")),  // not a participant
           with("statements", json::parse(R"([{"statement":"s_1","debtor":"a.example",
               "creditor":"b.example","amount":0}])")),  // nothing owed
           with("statements", json::parse(R"([{"statement":"s_1","debtor":"a.example",
               "creditor":"b.example","amount":1,"note":"x"}])")),
       })
    CHECK_MESSAGE(!pn::parse(bad), bad.dump());

  auto proposal = pn::Proposal{chain(), "c2ln"}.to_json();
  CHECK(pn::Proposal::parse(proposal));
  auto extra = proposal;
  extra["positions"] = json::object();  // derived, never sent
  CHECK_FALSE(pn::Proposal::parse(extra));
  CHECK(pn::Complete::parse(pn::Complete{"n_1", {{"a.example", "c2ln"}}}.to_json()));
  CHECK_FALSE(pn::Complete::parse(json{{"netting", "n_1"}, {"signatures", {{"A!", "x"}}}}));
  CHECK(pn::PositionsRequest::parse(json{{"participants", good["participants"]}}));
  CHECK_FALSE(pn::PositionsRequest::parse(json{{"participants", json::array()}}));
}
