// protocol/settlement: the statement and agreement documents both nodes sign, their strict
// parsing, and the net.
#include "protocol/settlement.hpp"

#include <doctest/doctest.h>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "crypto/sign.hpp"
#include "protocol/federation_messages.hpp"

namespace ps = relay::protocol::settlement;
using nlohmann::json;

namespace {
ps::Statement sample() {
  return {"s_1",     "kobe.example", "osaka.example",
          "2026-11", 1796050800000,  {{"h_a", true}, {"h_b", false}, {"h_c", true}}};
}
}  // namespace

TEST_SUITE_BEGIN("protocol");

TEST_CASE("settlement statement: canonical bytes, exactly") {
  CHECK(ps::statement_bytes(sample()) ==
        R"({"counterparty":"osaka.example","items":[{"handoff":"h_a","owed_by":"proposer"},)"
        R"({"handoff":"h_b","owed_by":"counterparty"},{"handoff":"h_c","owed_by":"proposer"}],)"
        R"("period":"2026-11","proposer":"kobe.example","statement":"s_1",)"
        R"("type":"relay-settlement-statement/v1","until_ms":1796050800000})");
}

TEST_CASE("settlement agreement: disputed items leave the net and are named in statement order") {
  auto s = sample();
  CHECK(ps::net_for_proposer(s, {}) == -1);  // owes h_a and h_c, is owed h_b
  std::vector<ps::Dispute> disputed{{{"h_c", true}, "unknown_obligation"},
                                    {{"h_a", true}, "already_settled"}};
  CHECK(ps::net_for_proposer(s, disputed) == 1);
  CHECK(ps::agreed_items(s, disputed) == std::vector<ps::Item>{{"h_b", false}});
  auto digest =
      relay::crypto::to_hex(relay::crypto::sha256(relay::crypto::as_bytes(ps::statement_bytes(s))));
  auto bytes = ps::agreement_bytes(s, disputed);
  CHECK(bytes == R"({"agreed":[{"handoff":"h_b","owed_by":"counterparty"}],"disputed":[)"
                 R"({"handoff":"h_a","owed_by":"proposer","reason":"already_settled"},)"
                 R"({"handoff":"h_c","owed_by":"proposer","reason":"unknown_obligation"}],)"
                 R"("net":1,"statement":"s_1","statement_digest":")" +
                     digest + R"(","type":"relay-settlement-agreement/v1"})");
  // Any change to the statement changes the agreement (it carries the statement's digest).
  auto other = s;
  other.until_ms += 1;
  CHECK(ps::agreement_bytes(other, disputed) != bytes);
}

TEST_CASE("settlement signatures verify only over the exact bytes, under the signer's key") {
  auto signer = relay::crypto::Ed25519KeyPair::generate();
  auto other = relay::crypto::Ed25519KeyPair::generate();
  auto bytes = ps::statement_bytes(sample());
  auto sig = relay::crypto::to_base64(
      relay::crypto::sign(signer.secret_key, relay::crypto::as_bytes(bytes)));
  CHECK(ps::verify(signer.public_key, bytes, sig));
  CHECK_FALSE(ps::verify(other.public_key, bytes, sig));
  auto changed = sample();
  changed.items[1].owed_by_proposer = true;
  CHECK_FALSE(ps::verify(signer.public_key, ps::statement_bytes(changed), sig));
  CHECK_FALSE(ps::verify(signer.public_key, bytes, "not base64!"));
  CHECK_FALSE(ps::verify(signer.public_key, bytes,
                         relay::crypto::to_base64(relay::crypto::as_bytes("short"))));
}

TEST_CASE("settlement items and disputes parse strictly") {
  CHECK(ps::parse_items(json::parse(R"([{"handoff":"h_a","owed_by":"proposer"}])")));
  CHECK(ps::parse_items(json::array())->empty());
  for (const char* bad : {
           R"([{"handoff":"h_b","owed_by":"proposer"},{"handoff":"h_a","owed_by":"proposer"}])",
           R"([{"handoff":"h_a","owed_by":"proposer"},{"handoff":"h_a","owed_by":"counterparty"}])",
           R"([{"handoff":"h_a","owed_by":"someone"}])",
           R"([{"handoff":"h a","owed_by":"proposer"}])",
           R"([{"handoff":"","owed_by":"proposer"}])",
           R"([{"handoff":"h_a","owed_by":"proposer","extra":1}])",
           R"([{"handoff":7,"owed_by":"proposer"}])",
           R"({"handoff":"h_a","owed_by":"proposer"})",
       })
    CHECK_MESSAGE(!ps::parse_items(json::parse(bad)), bad);
  json many = json::array();
  for (std::size_t i = 0; i <= ps::kMaxItems; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "h_%06zu", i);
    many.push_back({{"handoff", id}, {"owed_by", "proposer"}});
  }
  CHECK_FALSE(ps::parse_items(many));

  auto s = sample();
  CHECK(ps::parse_disputes(
      json::parse(R"([{"handoff":"h_b","owed_by":"counterparty","reason":"wrong_direction"}])"),
      s));
  for (const char* bad : {
           R"([{"handoff":"h_z","owed_by":"proposer","reason":"unknown_obligation"}])",
           R"([{"handoff":"h_b","owed_by":"proposer","reason":"unknown_obligation"}])",
           R"([{"handoff":"h_b","owed_by":"counterparty","reason":"because"}])",
           R"([{"handoff":"h_b","owed_by":"counterparty"}])",
           R"([{"handoff":"h_a","owed_by":"proposer","reason":"already_settled"},
               {"handoff":"h_a","owed_by":"proposer","reason":"already_settled"}])",
       })
    CHECK_MESSAGE(!ps::parse_disputes(json::parse(bad), s), bad);
}

TEST_CASE("settlement.statement message body parses strictly") {
  using relay::protocol::SettlementStatementMessage;
  json body = {{"statement", "s_1"},
               {"period", "2026-11"},
               {"until_ms", 1},
               {"items", json::array()},
               {"signature", "c2ln"}};
  REQUIRE(SettlementStatementMessage::parse(body));
  CHECK(SettlementStatementMessage::parse(body)->to_json() == body);
  for (const char* field : {"statement", "period", "until_ms", "items", "signature"}) {
    auto missing = body;
    missing.erase(field);
    CHECK_MESSAGE(!SettlementStatementMessage::parse(missing), field);
  }
  auto extra = body;
  extra["net"] = 3;
  CHECK_FALSE(SettlementStatementMessage::parse(extra));
  auto negative = body;
  negative["until_ms"] = -1;
  CHECK_FALSE(SettlementStatementMessage::parse(negative));
  auto bad_period = body;
  bad_period["period"] = "2026/11";
  CHECK_FALSE(SettlementStatementMessage::parse(bad_period));
}
