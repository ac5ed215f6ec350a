// node/services/outcome_relay: the outcome of a cross-node introduction travels back to the node
// holding the candidate (real signed envelopes between two federation sites on loopback), where
// the hire is attributed to the member whose referral brought the candidate in. Unknown
// handoffs, another peer's handoffs and undelivered ones are refused with nothing committed; a
// replayed message, or the same outcome again, counts once.
#include "node/services/outcome_relay.hpp"

#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "node/services/hire_attribution.hpp"
#include "protocol/envelope.hpp"
#include "support/federation_site.hpp"

using relay::test::FederationSite;
namespace fed = relay::node::federation;
namespace cand = relay::node::candidates;
namespace st = relay::node::storage;
namespace svc = relay::node::services;
namespace intro = relay::node::introductions;

namespace {

// The parts of a node the relay needs beyond a FederationSite (members, referrals, the relay).
struct Site {
  explicit Site(const std::string& name, const std::string& region) : fed(name, region) {}
  FederationSite fed;
  relay::node::members::Registry members{fed.env, fed.ledger, fed.keys};
  relay::node::referrals::Referrals referrals{fed.env, fed.keys, fed.clock};
  svc::OutcomeRelay relay{fed.federation, fed.holder, fed.store, fed.ledger, members, referrals};
  svc::HireAttribution attribution{fed.env, fed.ledger, members, referrals};

  svc::Impact impact(const std::string& member) {
    auto txn = fed.env.begin_read();
    return attribution.impact(txn, member);
  }
  std::size_t count(const std::string& kind) {
    std::size_t n = 0;
    for (const auto& [k, data] : fed.events()) n += k == kind;
    return n;
  }
  std::uint64_t ledger_size() {
    auto txn = fed.env.begin_read();
    return fed.ledger.size(txn);
  }
};

// Kobe holds a candidate referred by member A; Osaka's member C is introduced to them through
// the handoff path.
struct World {
  Site kobe{"kobe.example", "JP-28"};
  Site osaka{"osaka.example", "JP-27"};
  relay::node::members::Member c{"m_c", "Osaka Hirer KK", true, 0, "link", ""};
  std::string a;  // member A at kobe
  cand::CandidateRecord candidate;
  std::string ref;

  World() {
    kobe.fed.peer_with(osaka.fed);
    osaka.fed.peer_with(kobe.fed);
    a = kobe.fed.writer
            .submit_wait(
                [&](st::WriteTxn& txn) { return kobe.members.admit(txn, "Referrer A KK"); })
            .value()
            .member.id;
    candidate = kobe.fed.add_candidate("山田 花子", "hanako@example.jp", true);
    kobe.fed.writer.submit_wait([&](st::WriteTxn& txn) {
      kobe.referrals.create(txn, a, candidate.id, candidate.pseudonym, "app-1", "B");
    });
    ref = kobe.fed.profiles.ref_of(candidate.id);
    kobe.fed.deliver();
    osaka.fed.deliver();
  }

  // C asks for the candidate; the request reaches kobe (pending).
  fed::Handoff request() {
    auto r = osaka.fed.writer.submit_wait(
        [&](st::WriteTxn& txn) { return osaka.fed.handoffs.request(txn, c, "kobe.example", ref); });
    REQUIRE(r.error == fed::RequestError::none);
    osaka.fed.deliver();
    return *r.handoff;
  }
  // The candidate accepts; the data is delivered and receipted.
  void accept() {
    std::vector<fed::IncomingRequest> requests;
    {
      auto txn = kobe.fed.env.begin_read();
      requests = kobe.fed.holder.pending_for(txn, candidate.id);
    }
    REQUIRE(requests.size() == 1);
    auto d = kobe.fed.writer.submit_wait([&](st::WriteTxn& txn) {
      return kobe.fed.holder.decide(txn, candidate.id, requests[0].id, fed::Decision::accept);
    });
    REQUIRE(d == fed::DecideResult::accepted);
    kobe.fed.deliver();
  }
  // Osaka records an outcome and its relay queues it; then the outbox delivers.
  void report(const fed::Handoff& h, intro::Outcome o, const std::string& reason = "") {
    osaka.fed.writer.submit_wait([&](st::WriteTxn& txn) {
      osaka.relay.send(txn, h, {o, reason, osaka.fed.clock.now_ms()});
    });
    osaka.fed.deliver();
  }
};

// One signed envelope with a chosen id, from `from` to `to` (bypassing the outbox).
fed::Received send_with_id(FederationSite& from, FederationSite& to, const std::string& id,
                           const nlohmann::json& body) {
  relay::protocol::Envelope e;
  e.type = "introduction.outcome";
  e.id = id;
  e.from = from.name();
  e.to = to.name();
  e.ts_ms = from.clock.now_ms();
  e.body = body;
  return to.federation.receive(relay::protocol::encode_envelope(e, from.keys.current()->signing));
}

}  // namespace

TEST_SUITE_BEGIN("outcome relay");

TEST_CASE("outcome relay: a hire and its retention at the peer count as the referrer's impact") {
  World w;
  auto h = w.request();
  w.accept();
  CHECK(w.kobe.impact(w.a).referred_hired == 0);

  w.report(h, intro::Outcome::interview);
  w.report(h, intro::Outcome::hired);
  CHECK(w.osaka.fed.outbox().empty());  // delivered and answered
  CHECK(w.kobe.impact(w.a).referred_hired == 1);
  CHECK(w.kobe.impact(w.a).referred_retained_6m == 0);
  w.report(h, intro::Outcome::retained_3m);
  w.report(h, intro::Outcome::retained_6m);
  CHECK(w.kobe.impact(w.a).referred_hired == 1);
  CHECK(w.kobe.impact(w.a).referred_retained_6m == 1);
  w.report(h, intro::Outcome::left, "relocation");

  // The ledger: one outcome_received per outcome, one hire_attributed naming the handoff and A.
  CHECK(w.kobe.count("outcome_received") == 5);
  CHECK(w.kobe.count("hire_attributed") == 1);
  for (const auto& [kind, data] : w.kobe.fed.events()) {
    if (kind == "hire_attributed") {
      CHECK(data.at("introduction") == h.id);
      CHECK(data.at("referrers") == nlohmann::json::array({w.a}));
    }
    if (kind == "outcome_received") {
      CHECK(data.at("handoff") == h.id);
      CHECK(data.at("peer") == "osaka.example");
      CHECK(data.at("reason") == (data.at("outcome") == "left" ? "relocation" : ""));
    }
  }
  // No personal data in the kobe ledger, nor in what osaka sent.
  auto bytes = w.kobe.fed.ledger_bytes();
  CHECK(bytes.find("hanako") == std::string::npos);
  CHECK(bytes.find("山田") == std::string::npos);
  // The requesting side attributes nothing: A is not its member and the candidate not its own.
  CHECK(w.osaka.count("hire_attributed") == 0);
}

TEST_CASE("outcome relay: the same outcome twice, or a replayed message, counts once") {
  World w;
  auto h = w.request();
  w.accept();
  const nlohmann::json body{{"handoff", h.id}, {"outcome", "hired"}, {"at_ms", 1}};
  auto first = send_with_id(w.osaka.fed, w.kobe.fed, "msg_replayed_1", body);
  REQUIRE(first.status == 200);
  auto size = w.kobe.ledger_size();
  // The very same message again: the inbox answers with the stored reply, applies nothing.
  auto replay = send_with_id(w.osaka.fed, w.kobe.fed, "msg_replayed_1", body);
  CHECK(replay.status == 200);
  CHECK(replay.body == first.body);
  // The same outcome under a new id (a re-report): accepted, recorded: false, nothing changes.
  auto again = send_with_id(w.osaka.fed, w.kobe.fed, "msg_replayed_2", body);
  CHECK(again.status == 200);
  auto reply = relay::protocol::parse_envelope(again.body);
  REQUIRE(std::holds_alternative<relay::protocol::Envelope>(reply));
  CHECK(std::get<relay::protocol::Envelope>(reply).body.at("recorded") == false);
  w.report(h, intro::Outcome::hired);
  CHECK(w.kobe.ledger_size() == size);
  CHECK(w.kobe.impact(w.a).referred_hired == 1);
  CHECK(w.kobe.count("outcome_received") == 1);
  CHECK(w.kobe.count("hire_attributed") == 1);
}

TEST_CASE("outcome relay: unknown, another peer's and undelivered handoffs are refused") {
  World w;
  Site nara{"nara.example", "JP-29"};
  nara.fed.peer_with(w.kobe.fed);
  w.kobe.fed.peer_with(nara.fed);
  auto h = w.request();  // pending at kobe: the candidate has not answered
  auto size = w.kobe.ledger_size();
  auto hired = [](const std::string& handoff) {
    return nlohmann::json{{"handoff", handoff}, {"outcome", "hired"}, {"at_ms", 1}};
  };

  auto unknown = w.osaka.fed.send(w.kobe.fed, "introduction.outcome", hired("h_nosuchhandoff"));
  CHECK(unknown.status == 404);
  CHECK(unknown.body.find("unknown_handoff") != std::string::npos);
  auto pending = w.osaka.fed.send(w.kobe.fed, "introduction.outcome", hired(h.id));
  CHECK(pending.status == 409);
  CHECK(pending.body.find("not_delivered") != std::string::npos);

  w.accept();
  size = w.kobe.ledger_size();
  // Another peer naming osaka's handoff: not its request.
  auto other = nara.fed.send(w.kobe.fed, "introduction.outcome", hired(h.id));
  CHECK(other.status == 404);
  // Unknown outcome and a reason that is not a code: refused before anything is kept.
  auto bad = w.osaka.fed.send(w.kobe.fed, "introduction.outcome",
                              {{"handoff", h.id}, {"outcome", "promoted"}, {"at_ms", 1}});
  CHECK(bad.status == 400);
  CHECK(bad.body.find("bad_body") != std::string::npos);
  auto free_text = w.osaka.fed.send(
      w.kobe.fed, "introduction.outcome",
      {{"handoff", h.id}, {"outcome", "left"}, {"reason", "moved to Sapporo"}, {"at_ms", 1}});
  CHECK(free_text.status == 400);
  CHECK(w.kobe.ledger_size() == size);
  CHECK(w.kobe.impact(w.a).referred_hired == 0);
  CHECK(w.kobe.count("outcome_received") == 0);
  // A refused message does not burn its id: the inbox records nothing, so the real one lands.
  auto ok = w.osaka.fed.send(w.kobe.fed, "introduction.outcome", hired(h.id));
  CHECK(ok.status == 200);
  CHECK(w.kobe.impact(w.a).referred_hired == 1);
}

TEST_SUITE_END();
