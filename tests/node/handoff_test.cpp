// node/federation/handoff and handoff_holder: an introduction across two nodes' federation
// parts over loopback (real signed envelopes, sealed bodies and LMDB), driven step by step.
#include <doctest/doctest.h>

#include <string>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "node/federation/erasure.hpp"
#include "support/federation_site.hpp"

using relay::test::FederationSite;
namespace fed = relay::node::federation;
namespace cand = relay::node::candidates;
namespace st = relay::node::storage;

namespace {

// Kobe (A) asks Osaka (B) for a candidate Osaka holds.
struct Pair {
  FederationSite a{"kobe.example", "JP-28"};
  FederationSite b{"osaka.example", "JP-27"};
  relay::node::members::Member member{"m_test", "Kobe Steel KK", true, 0, "link", ""};
  cand::CandidateRecord candidate;
  std::string ref;

  Pair() {
    a.peer_with(b);
    b.peer_with(a);
    candidate = b.add_candidate("山田 花子", "hanako@example.jp", true);
    ref = b.profiles.ref_of(candidate.id);
    b.deliver();
    a.deliver();
  }

  fed::Handoff request() {
    auto result = a.writer.submit_wait(
        [&](st::WriteTxn& txn) { return a.handoffs.request(txn, member, "osaka.example", ref); });
    REQUIRE(result.error == fed::RequestError::none);
    return *result.handoff;
  }
  fed::Handoff handoff(const std::string& id) {
    auto txn = a.env.begin_read();
    return *a.handoffs.find(txn, id);
  }
  std::vector<fed::IncomingRequest> requests() {
    auto txn = b.env.begin_read();
    return b.holder.for_candidate(txn, candidate.id);
  }
  fed::DecideResult decide(const std::string& request_id, fed::Decision d) {
    return b.writer.submit_wait(
        [&](st::WriteTxn& txn) { return b.holder.decide(txn, candidate.id, request_id, d); });
  }
  std::vector<cand::Disclosure> disclosures() {
    auto txn = b.env.begin_read();
    return b.store.find(txn, candidate.id)->disclosures();
  }
};

std::size_t count_kind(FederationSite& site, const std::string& kind) {
  std::size_t n = 0;
  for (const auto& [k, data] : site.events()) n += k == kind;
  return n;
}

nlohmann::json event(FederationSite& site, const std::string& kind) {
  for (const auto& [k, data] : site.events())
    if (k == kind) return data;
  return nullptr;
}

}  // namespace

TEST_SUITE_BEGIN("handoff");

TEST_CASE("handoff: request, consent, sealed delivery, signed receipt, records on both sides") {
  Pair p;
  auto h = p.request();
  CHECK(h.state == fed::HandoffState::requested);
  // Asking again returns the same live handoff.
  auto again = p.a.writer.submit_wait([&](st::WriteTxn& txn) {
    return p.a.handoffs.request(txn, p.member, "osaka.example", p.ref);
  });
  CHECK_FALSE(again.created);
  CHECK(again.handoff->id == h.id);

  p.a.deliver();
  CHECK(p.handoff(h.id).state == fed::HandoffState::awaiting_consent);
  auto requests = p.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].state == fed::RequestState::pending);
  CHECK(requests[0].company == "Kobe Steel KK");
  CHECK(requests[0].region == "JP-28");
  CHECK(requests[0].peer == "kobe.example");

  CHECK(p.decide(requests[0].id, fed::Decision::accept) == fed::DecideResult::accepted);
  CHECK(p.decide(requests[0].id, fed::Decision::accept) == fed::DecideResult::not_pending);
  // The queued delivery is sealed: no personal data in the outbox.
  auto outbox = p.b.outbox();
  REQUIRE(outbox.size() == 1);
  CHECK(outbox[0].type == "handoff.deliver");
  CHECK(outbox[0].body.size() == 1);
  CHECK(outbox[0].body.contains("sealed"));
  CHECK(outbox[0].body.dump().find("hanako") == std::string::npos);
  auto d = p.disclosures();
  REQUIRE(d.size() == 1);
  CHECK(d[0].company == "Kobe Steel KK");
  CHECK(d[0].node == "kobe.example");
  CHECK(d[0].consent_version == "test-1");
  CHECK(d[0].erasure == "");
  auto sent = event(p.b, "handoff_sent");
  CHECK(sent["handoff"] == h.id);
  CHECK(sent["peer"] == "kobe.example");
  // The candidate appears under a pseudonym scoped to the recipient (not linkable across peers).
  CHECK(sent["candidate"] == p.b.ledger.pseudonym("peer/kobe.example", p.candidate.pseudonym));
  CHECK(sent["candidate"] != p.candidate.pseudonym);

  p.b.deliver();
  auto delivered = p.handoff(h.id);
  CHECK(delivered.state == fed::HandoffState::delivered);
  {
    auto txn = p.a.env.begin_read();
    auto data = p.a.handoffs.delivered(txn, delivered);
    REQUIRE(data);
    CHECK(data->personal.name == "山田 花子");
    CHECK(data->personal.email == "hanako@example.jp");
    CHECK(data->profile.job_category == "B");
    CHECK(data->profile.desired_roles == std::vector<std::string>{"backend engineer"});
    auto received = p.a.store.find(txn, delivered.candidate);
    REQUIRE(received);
    CHECK(received->origin == "osaka.example");
    REQUIRE(received->received());
    CHECK(received->received()->handoff == h.id);
    CHECK(received->received()->expires_ms > p.a.clock.now_ms());
    CHECK(cand::to_stored(*received).dump().find("hanako") == std::string::npos);  // sealed
    auto evidence = p.a.store.open_evidence(*received);
    REQUIRE(evidence);
    CHECK(relay::protocol::verify_evidence(*evidence, p.b.keys.current()->signing.public_key));
    auto r = event(p.a, "handoff_received");
    CHECK(r["handoff"] == h.id);
    CHECK(r["member"] == "m_test");
    CHECK(r["peer"] == "osaka.example");
    CHECK(r["evidence_digest"] ==
          relay::crypto::to_hex(relay::crypto::sha256(relay::crypto::as_bytes(*evidence))));
    CHECK(r["sender_signature"].get<std::string>().size() == 88);
    // Received candidates never circulate and are not found by pseudonym.
    CHECK_FALSE(fed::ProfileExchange::circulating(*received));
  }
  auto receipt = event(p.b, "handoff_receipt");
  CHECK(receipt["handoff"] == h.id);
  CHECK(receipt["evidence_digest"] == event(p.a, "handoff_received")["evidence_digest"]);
  CHECK(p.requests()[0].state == fed::RequestState::delivered);
  CHECK(p.requests()[0].receipt_envelope.is_object());
  CHECK(p.disclosures()[0].receipt_ms);
  CHECK(p.b.outbox().empty());
  // No personal data in either ledger.
  for (auto* site : {&p.a, &p.b}) {
    auto bytes = site->ledger_bytes();
    CHECK(bytes.find("hanako") == std::string::npos);
    CHECK(bytes.find("山田") == std::string::npos);
    CHECK(bytes.find("078-555") == std::string::npos);
  }
  CHECK(count_kind(p.a, "handoff_received") == 1);
  CHECK(count_kind(p.b, "handoff_receipt") == 1);
}

TEST_CASE("handoff: delivered data is due to expire at its time, unless a hire is reported") {
  Pair p;
  relay::node::members::Member other{"m_other", "Kobe Foods KK", true, 0, "link2", ""};
  auto h1 = p.request();
  auto h2 = *p.a.writer
                 .submit_wait([&](st::WriteTxn& txn) {
                   return p.a.handoffs.request(txn, other, "osaka.example", p.ref);
                 })
                 .handoff;
  auto due = [&](std::int64_t at) {
    auto txn = p.a.env.begin_read();
    std::vector<std::string> ids;
    for (const auto& h : p.a.handoffs.due_for_expiry(txn, at)) ids.push_back(h.id);
    return ids;
  };
  auto indexed = [&] {
    auto txn = p.a.env.begin_read();
    return txn.count(p.a.env.database("handoffs_expiring"));
  };
  p.a.deliver();
  auto requests = p.requests();
  REQUIRE(requests.size() == 2);
  // h1 delivered first, h2 a second later: h2's data expires a second after h1's.
  for (const auto* company : {"Kobe Steel KK", "Kobe Foods KK"}) {
    for (const auto& r : requests)
      if (r.company == company)
        REQUIRE(p.decide(r.id, fed::Decision::accept) == fed::DecideResult::accepted);
    p.b.deliver();
    p.a.clock.advance(std::chrono::seconds(1));
  }
  const auto d1 = p.handoff(h1.id), d2 = p.handoff(h2.id);
  REQUIRE(d1.state == fed::HandoffState::delivered);
  REQUIRE(d2.state == fed::HandoffState::delivered);
  REQUIRE(d1.expires_ms);
  REQUIRE(d2.expires_ms);
  REQUIRE(*d1.expires_ms < *d2.expires_ms);
  // Indexed in the delivery's own request; due exactly at its time, soonest first.
  CHECK(indexed() == 2);
  CHECK(due(*d1.expires_ms - 1).empty());
  CHECK(due(*d1.expires_ms) == std::vector<std::string>{h1.id});
  CHECK(due(*d2.expires_ms) == std::vector<std::string>{h1.id, h2.id});
  // A reported hire keeps h1's data; the expiry of h2 leaves nothing due.
  REQUIRE(p.a.writer.submit_wait(
      [&](st::WriteTxn& txn) { return p.a.handoffs.report_hire(txn, "m_test", h1.id); }));
  CHECK(due(*d2.expires_ms) == std::vector<std::string>{h2.id});
  REQUIRE(p.a.writer.submit_wait(
      [&](st::WriteTxn& txn) { return p.a.handoffs.mark_expired(txn, h2.id, *d2.expires_ms); }));
  CHECK(due(*d2.expires_ms + 1'000'000).empty());
  CHECK(indexed() == 0);
}

TEST_CASE("handoff: the candidate declines") {
  Pair p;
  auto h = p.request();
  p.a.deliver();
  CHECK(p.decide(p.requests()[0].id, fed::Decision::decline) == fed::DecideResult::declined);
  p.b.deliver();
  CHECK(p.handoff(h.id).state == fed::HandoffState::declined);
  CHECK(p.disclosures().empty());
  CHECK(count_kind(p.b, "handoff_sent") == 0);
}

TEST_CASE("handoff: a candidate who no longer circulates is unavailable") {
  Pair p;
  auto h = p.request();
  p.b.set_peers_consent(p.candidate.id, false);  // before the request arrives
  p.a.deliver();
  CHECK(p.handoff(h.id).state == fed::HandoffState::unavailable);
  CHECK(p.requests().empty());
  // Not in the pool any more (the withdrawal reached Kobe): no new request.
  p.b.deliver();
  auto again = p.a.writer.submit_wait([&](st::WriteTxn& txn) {
    return p.a.handoffs.request(txn, p.member, "osaka.example", p.ref);
  });
  CHECK(again.error == fed::RequestError::not_in_pool);
}

TEST_CASE("handoff: a withdrawal declines pending requests") {
  Pair p;
  auto h = p.request();
  p.a.deliver();
  p.b.set_peers_consent(p.candidate.id, false);
  CHECK(p.requests()[0].state == fed::RequestState::withdrawn);
  p.b.deliver();
  auto stopped = p.handoff(h.id);
  CHECK(stopped.state == fed::HandoffState::withdrawn);
  CHECK(stopped.reason == "withdrawn");
  auto txn = p.a.env.begin_read();
  CHECK(p.a.profiles.peer_pool(txn).empty());
}

TEST_CASE("handoff: a withdrawal drops a delivery still queued, so nothing is disclosed") {
  Pair p;
  auto h = p.request();
  p.a.deliver();
  CHECK(p.decide(p.requests()[0].id, fed::Decision::accept) == fed::DecideResult::accepted);
  REQUIRE(p.disclosures().size() == 1);
  p.b.set_peers_consent(p.candidate.id, false);
  for (const auto& e : p.b.outbox()) CHECK(e.type != "handoff.deliver");
  CHECK(p.disclosures().empty());
  CHECK(p.requests()[0].state == fed::RequestState::withdrawn);
  p.b.deliver();
  CHECK(p.handoff(h.id).state == fed::HandoffState::withdrawn);
  CHECK(count_kind(p.a, "handoff_received") == 0);
  // Accepting now is refused.
  CHECK(p.decide(p.requests()[0].id, fed::Decision::accept) == fed::DecideResult::not_pending);
}

TEST_CASE("handoff: deliveries for unknown handoffs and unsealed bodies are refused") {
  Pair p;
  auto unsealed = p.b.send(p.a, "handoff.deliver", {{"handoff", "h_x"}});
  CHECK(unsealed.status == 400);
  // Sealed properly, but for no handoff of ours.
  auto payload =
      nlohmann::json{{"handoff", "h_unknown"},
                     {"personal", {{"name", "x"}, {"email", "x@example.jp"}, {"phone", ""}}},
                     {"profile",
                      {{"job_category", "B"},
                       {"skills", {"c++"}},
                       {"prefecture", "JP-27"},
                       {"age_band", "25-34"},
                       {"experience_band", "3-5"}}},
                     {"consent_version", "test-1"}};
  auto txn = p.b.env.begin_read();
  auto peer = p.b.federation.peers().find(txn, "kobe.example");
  txn.abort();
  REQUIRE(peer);
  relay::protocol::Envelope env;
  env.type = "handoff.deliver";
  env.id = "msg_" + relay::crypto::random_token(16);
  env.from = "osaka.example";
  env.to = "kobe.example";
  env.ts_ms = p.a.clock.now_ms();
  env.body = *p.b.federation.seal_for(*peer, env.id, payload);
  auto reply =
      p.a.federation.receive(relay::protocol::encode_envelope(env, p.b.keys.current()->signing));
  CHECK(reply.status == 404);
  CHECK(count_kind(p.a, "handoff_received") == 0);
  // A request from a peer for a ref that is not circulating here is unavailable.
  auto r = p.a.send(p.b, "handoff.request",
                    {{"handoff", "h_abc"},
                     {"ref", "p_000000000000000000000000"},
                     {"company", "X"},
                     {"region", "JP-28"}});
  REQUIRE(r.status == 200);
  CHECK(r.body.find("unavailable") != std::string::npos);
}

TEST_CASE("outbox: an update after drop does not bring the entry back") {
  FederationSite a("kobe.example", "JP-28");
  a.writer.submit_wait([&](st::WriteTxn& txn) {
    a.federation.outbox().enqueue(txn, "nowhere", "ping",
                                  [](const std::string&) { return nlohmann::json::object(); });
  });
  auto entry = a.outbox().at(0);
  a.writer.submit_wait([&](st::WriteTxn& txn) {
    CHECK(a.federation.outbox().drop(txn, entry.id));
    entry.attempts = 3;
    a.federation.outbox().update(txn, entry);
  });
  CHECK(a.outbox().empty());
}

TEST_CASE(
    "candidates: a received record is sealed, not found by pseudonym, and shredded by erasure") {
  FederationSite a("kobe.example", "JP-28");
  cand::Opened data{{"山田 花子", "hanako@example.jp", ""},
                    {"B", {"c++"}, "JP-27", "25-34", "3-5", {}}};
  auto r = a.writer.submit_wait([&](st::WriteTxn& txn) {
    return a.store.create_received(txn, "osaka.example", data, "{\"evidence\":1}",
                                   {false, false, false, "v1", 1}, {"h_1", "m_1", 2});
  });
  auto txn = a.env.begin_read();
  auto found = a.store.find(txn, r.id);
  REQUIRE(found);
  CHECK(found->origin == "osaka.example");
  CHECK(found->status == cand::Status::active);
  CHECK(found->received()->handoff == "h_1");
  CHECK(a.store.find_received(txn, "h_1")->id == r.id);
  CHECK_FALSE(a.store.find_received(txn, "h_2"));
  CHECK(a.store.open(*found)->personal.email == "hanako@example.jp");
  CHECK(a.store.open_evidence(*found) == "{\"evidence\":1}");
  CHECK_FALSE(a.store.find_by_pseudonym(txn, a.store.pseudonym_of("hanako@example.jp")));
  txn.abort();
  a.writer.submit_wait([&](st::WriteTxn& w) {
    auto rec = a.store.find(w, r.id);
    a.store.erase(w, *rec);
  });
  auto after = a.env.begin_read();
  auto erased = a.store.find(after, r.id);
  CHECK_FALSE(a.store.open(*erased));
  CHECK_FALSE(a.store.open_evidence(*erased));
}

TEST_CASE("erasure.overdue is accepted only from the holder party to the handoff") {
  // Finding (issue 17): a peer not party to a handoff could raise erasure_overdue alerts about
  // it at will. Kobe received Osaka's candidate; Nagoya, also Kobe's peer, was never involved.
  Pair p;
  FederationSite c{"nagoya.example", "JP-23"};
  c.peer_with(p.a);
  p.a.peer_with(c);
  fed::Erasures erasures(p.a.federation, p.a.store, p.a.handoffs, p.a.holder);
  auto h = p.request();
  p.a.deliver();
  REQUIRE(p.decide(p.requests()[0].id, fed::Decision::accept) == fed::DecideResult::accepted);
  p.b.deliver();
  REQUIRE(p.handoff(h.id).state == fed::HandoffState::delivered);
  auto alerts = [&] {
    auto txn = p.a.env.begin_read();
    relay::node::federation::AlertQuery overdue;
    overdue.kind = "erasure_overdue";
    return p.a.federation.alerts().read(txn, overdue)->alerts.size();
  };

  auto claim = [](FederationSite& from, const std::string& handoff) {
    from.writer.submit_wait([&](st::WriteTxn& txn) {
      from.federation.enqueue(txn, "kobe.example", relay::protocol::ErasureOverdue{handoff});
    });
    from.deliver();
  };
  claim(c, h.id);           // a bystander about a real handoff
  claim(c, "h_unknown00");  // and about one that does not exist
  CHECK(alerts() == 0);
  std::size_t refused = 0;
  for (const auto& r : p.a.federation.refusals())
    refused += r.from == "nagoya.example" && r.reason.rfind("not_party", 0) == 0;
  CHECK(refused >= 2);

  claim(p.b, h.id);  // the holder itself
  CHECK(alerts() == 1);
  auto txn = p.a.env.begin_read();
  CHECK(p.a.federation.alerts().count(txn) ==
        p.a.federation.alerts().read(txn, {})->alerts.size());  // /metrics' count
}
