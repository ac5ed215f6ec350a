// Witnessing by quorum over the C2SP tlog-witness protocol (issue 15, item 6), with real
// relay-node processes: kobe's policy names the peer osaka and nara as an outside witness (by
// URL and vkey only), 2 of 2; nobody pulls. kobe
// submits its checkpoints (add-checkpoint with a consistency proof), its checkpoint counts as
// witnessed once both cosigned, and the cosigned note verifies. Then kyoto's (a peer outside
// the policy) add-checkpoint is driven by hand through every answer the spec defines: 200, 400,
// 403, 404, 409 with text/x.tlog.size, 422.
#include <doctest/doctest.h>

#include "crypto/bytes.hpp"
#include "crypto/key_file.hpp"
#include "protocol/checkpoint.hpp"
#include "protocol/merkle.hpp"
#include "protocol/signed_note.hpp"
#include "protocol/tlog_witness.hpp"
#include "support/node_process.hpp"

using relay::test::eventually;
using relay::test::NodeProcess;
namespace tw = relay::protocol::tlog_witness;

namespace {

NodeProcess::Options witnessing(const std::string& name, const std::string& region,
                                nlohmann::json policy) {
  auto o = relay::test::options(name, region);
  o.configure = [policy](nlohmann::json& j) {
    j["federation"]["witness_interval_s"] = 1;
    j["federation"]["witness_pull"] = false;
    for (const auto& [k, v] : policy.items()) j["federation"][k] = v;
  };
  return o;
}

nlohmann::json policy_status(const NodeProcess& node) {
  auto r = node.get("/api/v1/witness", node.admin_token());
  REQUIRE(r.status == 200);
  return r.json().at("policy");
}

relay::protocol::NoteVerifierKey key_of(const NodeProcess& node,
                                        relay::protocol::NoteKeyType type) {
  auto reply = node.get("/audit/v1/key");
  REQUIRE(reply.status == 200);
  auto bytes = relay::crypto::from_base64(reply.json().at("public_key").get<std::string>());
  REQUIRE(bytes);
  auto pk = relay::crypto::ed25519_public_key_from(*bytes);
  REQUIRE(pk);
  return *relay::protocol::make_verifier_key(node.options().name, type, *pk);
}

relay::test::HttpReply add_checkpoint(const NodeProcess& witness, const std::string& body) {
  return witness.post_raw("/witness/v1/add-checkpoint", body, "text/plain; charset=utf-8");
}

}  // namespace

TEST_SUITE_BEGIN("witness");

TEST_CASE("witness policy: k of n witnesses cosign over C2SP tlog-witness; every answer") {
  // nara stands for an outside witness: kobe knows it only by URL and vkey, not as a peer.
  NodeProcess osaka{witnessing("osaka.example", "JP-27", nlohmann::json::object())};
  NodeProcess kyoto{witnessing("kyoto.example", "JP-26", nlohmann::json::object())};
  NodeProcess nara{witnessing("nara.example", "JP-29", nlohmann::json::object())};
  auto nara_vkey =
      relay::protocol::make_vkey(key_of(nara, relay::protocol::NoteKeyType::cosignature_v1));
  NodeProcess kobe{witnessing(
      "kobe.example", "JP-28",
      {{"witnesses", {"osaka.example", {{"url", nara.url() + "/witness/v1"}, {"vkey", nara_vkey}}}},
       {"witness_quorum", 2}})};
  for (auto* a : {&kobe, &osaka, &kyoto})
    for (auto* b : {&kobe, &osaka, &kyoto})
      if (a != b) relay::test::peer_by_api(*a, *b);
  relay::test::peer_by_api(nara, kobe);  // the witness knows the log; not the other way round

  // The published policy.
  auto published = kobe.get("/witness/v1/policy").json();
  CHECK(published.at("log") == "kobe.example");
  CHECK(published.at("quorum") == 2);
  CHECK(published.at("witnesses").size() == 2);

  // Both witnesses cosign kobe's latest checkpoint: it counts as witnessed.
  REQUIRE(eventually([&] { return policy_status(kobe).at("latest_witnessed") == true; }));
  kobe.admit_member("Kobe Witnessed KK");  // grows the log: the next round carries a proof
  auto grown = kobe.ledger_size();
  REQUIRE(eventually([&] {
    auto p = policy_status(kobe);
    return p.at("witnessed_size") == grown && p.at("latest_witnessed") == true;
  }));
  // Named: a range-for over a member of a temporary dangles (the temporary dies first).
  auto policy = policy_status(kobe);
  for (const auto& w : policy.at("witnesses")) {
    CHECK(w.at("cosigned_size") == grown);
    CHECK(w.at("last_result") == "consistent");
  }
  auto note = kobe.get("/audit/v1/checkpoint/witnessed");
  REQUIRE(note.status == 200);
  std::vector<relay::protocol::NoteVerifierKey> witnesses{
      key_of(osaka, relay::protocol::NoteKeyType::cosignature_v1),
      key_of(nara, relay::protocol::NoteKeyType::cosignature_v1)};
  auto opened = relay::protocol::open_checkpoint(
      note.body, "kobe.example", key_of(kobe, relay::protocol::NoteKeyType::ed25519), witnesses);
  REQUIRE_MESSAGE(opened, opened.error);
  CHECK(opened.opened->verified.size() == 3);
  // Nobody pulls: kobe cosigned neither peer (it is no witness in anyone's policy).
  auto status = kobe.get("/api/v1/witness", kobe.admin_token()).json();
  for (const auto& p : status.at("peers")) CHECK(p.at("witnessed").is_null());

  // By hand, against kyoto: a peer kobe's policy does not name, so only this test submits.
  auto checkpoint = kobe.get("/audit/v1/checkpoint").body;
  auto parsed =
      relay::protocol::parse_checkpoint(relay::protocol::parse_note(checkpoint).note->text);
  REQUIRE(parsed);
  const auto size = parsed.checkpoint->size;
  // 200: the first checkpoint kyoto sees of kobe (old 0, no proof): a cosignature line that
  // verifies with kyoto's witness key.
  auto first = add_checkpoint(kyoto, tw::format_add_checkpoint({0, {}, checkpoint}));
  REQUIRE(first.status == 200);
  CHECK(first.body.rfind("\xe2\x80\x94 kyoto.example ", 0) == 0);
  auto cosigned = relay::protocol::open_checkpoint(
      checkpoint + first.body, "kobe.example", key_of(kobe, relay::protocol::NoteKeyType::ed25519),
      std::vector{key_of(kyoto, relay::protocol::NoteKeyType::cosignature_v1)});
  REQUIRE_MESSAGE(cosigned, cosigned.error);
  CHECK(cosigned.opened->verified.size() == 2);
  // 409: a stale view (old 0 again); the answer names kyoto's size as text/x.tlog.size.
  auto stale = add_checkpoint(kyoto, tw::format_add_checkpoint({0, {}, checkpoint}));
  CHECK(stale.status == 409);
  CHECK(stale.headers["content-type"] == "text/x.tlog.size");
  CHECK(tw::parse_size(stale.body) == size);
  // 400: malformed, or an old size above the checkpoint's.
  CHECK(add_checkpoint(kyoto, "old 01\n\n" + checkpoint).status == 400);
  CHECK(add_checkpoint(kyoto, "hello").status == 400);
  CHECK(add_checkpoint(kyoto, tw::format_add_checkpoint({size + 1, {}, checkpoint})).status == 400);
  // 404: a log kyoto does not know.
  auto stranger = relay::crypto::Ed25519KeyPair::generate();
  auto foreign = relay::protocol::sign_checkpoint(
      {"kyoto-city.example", 1, parsed.checkpoint->root, {}}, "kyoto-city.example",
      stranger.secret_key,
      relay::protocol::note_key_id("kyoto-city.example", relay::protocol::NoteKeyType::ed25519,
                                   stranger.public_key));
  REQUIRE(foreign);
  CHECK(add_checkpoint(kyoto, tw::format_add_checkpoint({0, {}, *foreign})).status == 404);
  // 403: kobe's origin, signed by another key.
  auto forged = relay::protocol::sign_checkpoint(
      *parsed.checkpoint, "kobe.example", stranger.secret_key,
      relay::protocol::note_key_id("kobe.example", relay::protocol::NoteKeyType::ed25519,
                                   stranger.public_key));
  REQUIRE(forged);
  CHECK(add_checkpoint(kyoto, tw::format_add_checkpoint({size, {}, *forged})).status == 403);
  // kobe grows. 422: a proof from `size` that does not verify (alerted, not cosigned)...
  kobe.admit_member("Kobe Witnessed Two KK");
  auto next = kobe.get("/audit/v1/checkpoint").body;
  const auto next_size = kobe.ledger_size();
  relay::protocol::Hash wrong{};
  wrong.fill(7);
  CHECK(add_checkpoint(kyoto, tw::format_add_checkpoint({size, {wrong}, next})).status == 422);
  auto alerts = kyoto.get("/api/v1/alerts", kyoto.admin_token()).json();
  bool alerted = false;
  for (const auto& a : alerts.at("alerts"))
    alerted =
        alerted || (a.at("kind") == "checkpoint_inconsistent" && a.at("peer") == "kobe.example");
  CHECK(alerted);
  // ... and with kobe's real proof it is cosigned.
  auto proof_reply = kobe.get("/audit/v1/proof/consistency?from=" + std::to_string(size) +
                                  "&to=" + std::to_string(next_size),
                              kobe.auditor_token());
  REQUIRE(proof_reply.status == 200);
  std::vector<relay::protocol::Hash> proof;
  auto proof_json = proof_reply.json();
  for (const auto& h : proof_json.at("proof")) {
    auto raw = relay::crypto::from_base64(h.get<std::string>());
    REQUIRE(raw);
    relay::protocol::Hash hash{};
    std::copy(raw->begin(), raw->end(), hash.begin());
    proof.push_back(hash);
  }
  CHECK(add_checkpoint(kyoto, tw::format_add_checkpoint({size, proof, next})).status == 200);

  // kobe's own submissions go on: the grown log is witnessed again by both.
  CHECK(eventually([&] { return policy_status(kobe).at("witnessed_size") == next_size; }));
}
