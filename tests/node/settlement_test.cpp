// node/settlement: obligations from delivered introductions, bilateral statements countersigned
// over loopback (real signed envelopes, LMDB), disputes that roll over, tampering refused, a
// peer that never countersigns, the schedule; and relay-audit's settlement and consortium
// checks over the two nodes' exports.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "audit/export_dir_source.hpp"
#include "audit/settlement_check.hpp"
#include "crypto/bytes.hpp"
#include "crypto/sign.hpp"
#include "node/ledger/export.hpp"
#include "node/settlement/netting.hpp"
#include "node/settlement/obligations.hpp"
#include "node/settlement/period.hpp"
#include "node/settlement/settlements.hpp"
#include "protocol/canonical_json.hpp"
#include "protocol/event.hpp"
#include "support/federation_site.hpp"

using relay::test::FederationSite;
namespace fed = relay::node::federation;
namespace st = relay::node::storage;
namespace sm = relay::node::settlement;
namespace ps = relay::protocol::settlement;

namespace {

// One node's federation parts with settlement wired as node.cpp wires it.
struct SettlingSite {
  FederationSite site;
  sm::Obligations obligations{site.env, site.ledger};
  sm::Settlements settlements;
  sm::Nettings nettings;

  SettlingSite(const std::string& name, const std::string& region,
               sm::SettlementSettings settings = {})
      : site(name, region),
        settlements(site.federation, obligations, site.writer, settings),
        nettings(site.federation, settlements, settings.enabled) {
    // The genesis entry an auditor starts from (FederationSite has no Node to write it).
    site.writer.submit_wait([&](st::WriteTxn& txn) {
      auto keys = site.keys.current();
      site.ledger.append(txn,
                         relay::protocol::node_initialised(region, 10, keys->signing.public_key,
                                                           keys->encryption.public_key));
    });
    site.holder.on_receipt(
        [this](st::WriteTxn& txn, const fed::IncomingRequest& r, const std::string& signature) {
          obligations.record(txn, r.peer, r.handoff, false, signature);
        });
    site.handoffs.on_state_changed([this](st::WriteTxn& txn, const fed::Handoff& h) {
      if (h.state == fed::HandoffState::delivered)
        obligations.record(txn, h.peer, h.id, true, h.sender_signature);
    });
  }

  // An obligation recorded directly (as a delivered introduction would record it).
  void owe(const std::string& peer, const std::string& handoff, bool owed_by_self) {
    site.writer.submit_wait([&](st::WriteTxn& txn) {
      obligations.record(txn, peer, handoff, owed_by_self, "c2lnbmF0dXJl");
    });
  }
  std::optional<sm::Obligation> obligation(const std::string& peer, const std::string& handoff) {
    auto txn = site.env.begin_read();
    return obligations.find(txn, peer, handoff);
  }
  nlohmann::json statement(const std::string& id) {
    auto all = settlements.list();
    for (const auto& s : all.at("statements"))
      if (s.at("statement") == id) return s;
    return nullptr;
  }
  std::vector<nlohmann::json> events(const std::string& kind) {
    std::vector<nlohmann::json> out;
    for (const auto& [k, data] : site.events())
      if (k == kind) out.push_back(data);
    return out;
  }
  std::vector<nlohmann::json> alerts(const std::string& kind) {
    auto txn = site.env.begin_read();
    relay::node::federation::AlertQuery of_kind;
    of_kind.kind = kind;
    auto page = site.federation.alerts().read(txn, of_kind);
    return std::move(page->alerts);
  }
  std::filesystem::path export_to(const std::string& name) {
    auto dir = site.dir / name;
    auto r = relay::node::ledger::export_ledger(
        site.env, site.ledger, [](const st::Txn&) { return nlohmann::json::object(); }, dir);
    REQUIRE(r);
    return dir;
  }
};

void peer(SettlingSite& x, SettlingSite& y) {
  x.site.peer_with(y.site);
  y.site.peer_with(x.site);
}

std::string proposed(SettlingSite& from, const std::string& to) {
  auto r = from.settlements.propose(to);
  REQUIRE(r);
  return r->at("statement").get<std::string>();
}

relay::audit::SettlementReport audit_pair(SettlingSite& x, SettlingSite& y, const char* tag) {
  relay::audit::ExportDirSource a(x.export_to(std::string("export-") + tag));
  relay::audit::ExportDirSource b(y.export_to(std::string("export-") + tag));
  return relay::audit::check_settlement(a, b, {1});
}

}  // namespace

TEST_SUITE_BEGIN("settlement");

TEST_CASE("settlement: a delivered introduction is owed on both sides; a statement settles it") {
  SettlingSite kobe{
      "kobe.example",
      "JP-28",
      {true, relay::config::SettlementPeriod::monthly, std::chrono::seconds(259200), 30000}};
  SettlingSite osaka{"osaka.example", "JP-27"};
  peer(kobe, osaka);
  auto candidate = osaka.site.add_candidate("山田 花子", "hanako@example.jp", true);
  auto ref = osaka.site.profiles.ref_of(candidate.id);
  osaka.site.deliver();
  relay::node::members::Member member{"m_test", "Kobe Steel KK", true, 0, "link", ""};
  auto h = *kobe.site.writer
                .submit_wait([&](st::WriteTxn& txn) {
                  return kobe.site.handoffs.request(txn, member, "osaka.example", ref);
                })
                .handoff;
  kobe.site.deliver();
  // Nothing is owed before the person accepts and the data arrives.
  CHECK_FALSE(kobe.obligation("osaka.example", h.id));
  auto requests = [&] {
    auto txn = osaka.site.env.begin_read();
    return osaka.site.holder.for_candidate(txn, candidate.id);
  }();
  REQUIRE(requests.size() == 1);
  osaka.site.writer.submit_wait([&](st::WriteTxn& txn) {
    return osaka.site.holder.decide(txn, candidate.id, requests[0].id, fed::Decision::accept);
  });
  osaka.site.deliver();  // handoff.deliver, answered by kobe's signed receipt

  auto owes = kobe.obligation("osaka.example", h.id);
  auto owed = osaka.obligation("kobe.example", h.id);
  REQUIRE(owes);
  REQUIRE(owed);
  CHECK(owes->owed_by_self);
  CHECK_FALSE(owed->owed_by_self);
  // Each side's evidence is the other side's signature: the delivery's, the receipt's.
  CHECK(owes->evidence == kobe.events("handoff_received").at(0).at("sender_signature"));
  CHECK(owed->evidence == osaka.events("handoff_receipt").at(0).at("receipt_signature"));
  CHECK(kobe.events("obligation_recorded").at(0) == nlohmann::json{{"handoff", h.id},
                                                                   {"peer", "osaka.example"},
                                                                   {"owed_by", "self"},
                                                                   {"evidence", owes->evidence}});
  CHECK(osaka.events("obligation_recorded").at(0).at("owed_by") == "peer");

  auto id = proposed(kobe, "osaka.example");
  CHECK(kobe.statement(id).at("state") == "pending");
  CHECK(kobe.site.deliver() == 1);  // the statement, countersigned in the same exchange
  CHECK(kobe.statement(id).at("state") == "agreed");
  CHECK(osaka.statement(id).at("state") == "agreed");
  CHECK(kobe.obligation("osaka.example", h.id)->statement == id);
  CHECK(osaka.obligation("kobe.example", h.id)->statement == id);
  auto a = kobe.events("settlement_agreed");
  auto b = osaka.events("settlement_agreed");
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  CHECK(a[0].at("net") == -1);  // kobe owes one introduction
  CHECK(b[0].at("net") == 1);
  CHECK(a[0].at("role") == "proposer");
  CHECK(b[0].at("role") == "counterparty");
  CHECK(a[0].at("countersignature") == b[0].at("countersignature"));
  CHECK(a[0].at("statement_signature") == b[0].at("statement_signature"));
  // The operator's view, and the invoice (30,000 yen per introduction at kobe).
  auto view = kobe.settlements.list();
  CHECK(view.at("peers").at(0).at("settled_net") == -1);
  CHECK(view.at("peers").at(0).at("open_owed_by_us") == 0);
  auto rows = kobe.settlements.invoice_rows("");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].at("owed_by_us") == 1);
  CHECK(rows[0].at("yen") == -30000);
  CHECK(osaka.settlements.invoice_rows("").at(0).at("yen").is_null());  // no price set there
  // Settled items are not stated again.
  auto next = proposed(kobe, "osaka.example");
  CHECK(kobe.statement(next).at("items").empty());
  kobe.site.deliver();

  auto report = audit_pair(kobe, osaka, "1");
  CHECK_MESSAGE(report.ok(), relay::audit::to_text(report, false));
  CHECK(report.statements == 2);
  CHECK(report.agreed_items == 1);
  CHECK(report.positions.at("kobe.example") == -1);
  CHECK(report.positions.at("osaka.example") == 1);
}

TEST_CASE("settlement: a disputed item rolls over to the next statement and the rest settles") {
  SettlingSite kobe{"kobe.example", "JP-28"};
  SettlingSite osaka{"osaka.example", "JP-27"};
  peer(kobe, osaka);
  kobe.owe("osaka.example", "h_agreed", true);
  osaka.owe("kobe.example", "h_agreed", false);
  kobe.owe("osaka.example", "h_late", true);  // osaka has not recorded it yet
  kobe.owe("osaka.example", "h_theirs", false);
  osaka.owe("kobe.example", "h_theirs", false);  // both claim to be owed: wrong direction

  auto first = proposed(kobe, "osaka.example");
  kobe.site.deliver();
  auto s = kobe.statement(first);
  CHECK(s.at("state") == "agreed");
  CHECK(s.at("disputed") ==
        nlohmann::json::parse(
            R"([{"handoff":"h_late","owed_by":"proposer","reason":"unknown_obligation"},
                                  {"handoff":"h_theirs","owed_by":"counterparty","reason":"wrong_direction"}])"));
  CHECK(s.at("net") == -1);
  CHECK(kobe.obligation("osaka.example", "h_agreed")->statement == first);
  CHECK(kobe.obligation("osaka.example", "h_late")->statement.empty());
  CHECK(kobe.alerts("settlement_disputed").size() == 1);
  CHECK(osaka.alerts("settlement_disputed").size() == 1);

  // The late obligation arrives at osaka; the next statement carries it (and the disputed one
  // again) and it settles.
  osaka.owe("kobe.example", "h_late", false);
  auto second = proposed(kobe, "osaka.example");
  kobe.site.deliver();
  auto t = kobe.statement(second);
  CHECK(t.at("items").size() == 2);
  CHECK(t.at("disputed").size() == 1);
  CHECK(t.at("disputed").at(0).at("handoff") == "h_theirs");
  CHECK(kobe.obligation("osaka.example", "h_late")->statement == second);
  CHECK(osaka.obligation("kobe.example", "h_late")->statement == second);

  auto report = audit_pair(kobe, osaka, "2");
  CHECK_MESSAGE(report.ok(), relay::audit::to_text(report, false));
  CHECK(report.agreed_items == 2);
  CHECK(report.disputed_items == 3);
  CHECK(report.positions.at("kobe.example") == -2);
}

TEST_CASE("settlement: a tampered statement is refused and changes nothing") {
  SettlingSite kobe{"kobe.example", "JP-28"};
  SettlingSite osaka{"osaka.example", "JP-27"};
  peer(kobe, osaka);
  osaka.owe("kobe.example", "h_1", false);
  osaka.owe("kobe.example", "h_2", false);
  auto before = osaka.site.ledger_bytes();

  // Signed over one item, sent with two: the statement's own signature no longer verifies,
  // although the envelope around it is properly signed.
  ps::Statement signed_one{"s_forged", "kobe.example", "osaka.example", "2026-11", 1, {}};
  signed_one.items = {{"h_1", true}};
  auto bytes = ps::statement_bytes(signed_one);
  auto signature = relay::crypto::to_base64(relay::crypto::sign(
      kobe.site.keys.current()->signing.secret_key, relay::crypto::as_bytes(bytes)));
  CHECK(ps::verify(kobe.site.keys.current()->signing.public_key, bytes, signature));
  relay::protocol::SettlementStatementMessage m{
      "s_forged", "2026-11", 1, {{"h_1", true}, {"h_2", true}}, signature};
  auto r = kobe.site.send(osaka.site, "settlement.statement", m.to_json());
  CHECK(r.status == 400);
  CHECK(r.body.find("bad_statement_signature") != std::string::npos);
  // Items out of order, or a third party's owed_by word: refused before any check.
  auto body = m.to_json();
  body["items"] = nlohmann::json::parse(
      R"([{"handoff":"h_2","owed_by":"proposer"},{"handoff":"h_1","owed_by":"proposer"}])");
  CHECK(kobe.site.send(osaka.site, "settlement.statement", body).status == 400);
  body["items"] = nlohmann::json::parse(R"([{"handoff":"h_1","owed_by":"kyoto"}])");
  CHECK(kobe.site.send(osaka.site, "settlement.statement", body).status == 400);
  // Signed by osaka's own key for kobe's name: not kobe's signature.
  auto forged = relay::crypto::to_base64(relay::crypto::sign(
      osaka.site.keys.current()->signing.secret_key, relay::crypto::as_bytes(bytes)));
  m.items = signed_one.items;
  m.signature = forged;
  CHECK(kobe.site.send(osaka.site, "settlement.statement", m.to_json()).status == 400);
  CHECK(osaka.site.ledger_bytes() == before);
  CHECK(osaka.settlements.list().at("statements").empty());
  CHECK(osaka.obligation("kobe.example", "h_1")->statement.empty());

  // The genuine statement still settles.
  kobe.owe("osaka.example", "h_1", true);
  kobe.owe("osaka.example", "h_2", true);
  auto id = proposed(kobe, "osaka.example");
  kobe.site.deliver();
  CHECK(osaka.statement(id).at("net") == 2);
}

TEST_CASE("settlement: a peer that never countersigns is reported and holds back nobody else") {
  sm::SettlementSettings off{false, relay::config::SettlementPeriod::monthly,
                             std::chrono::seconds(259200), 0};
  SettlingSite kobe{"kobe.example", "JP-28"};
  SettlingSite osaka{"osaka.example", "JP-27"};
  SettlingSite kyoto{"kyoto.example", "JP-26", off};
  peer(kobe, osaka);
  peer(kobe, kyoto);
  kobe.owe("kyoto.example", "h_k", false);
  kyoto.owe("kobe.example", "h_k", true);
  kobe.owe("osaka.example", "h_o", false);
  osaka.owe("kobe.example", "h_o", true);

  auto silent = proposed(kobe, "kyoto.example");
  kobe.site.deliver();  // 403 settlement_disabled: backed off, retried later
  CHECK(kobe.statement(silent).at("state") == "pending");
  // One pending statement per peer: kyoto's holds back only kyoto's next one.
  CHECK(kobe.settlements.propose("kyoto.example").error() ==
        sm::SettlementError::statement_pending);
  auto live = proposed(kobe, "osaka.example");
  kobe.site.deliver();
  CHECK(kobe.statement(live).at("state") == "agreed");
  CHECK(kyoto.settlements.propose("kobe.example").error() == sm::SettlementError::disabled);

  // Past settlement.countersign_within_s the operator is told; the items stay open.
  for (auto* s : {&kobe, &osaka, &kyoto}) s->site.clock.advance(std::chrono::hours(73));
  kobe.settlements.sweep();
  CHECK(kobe.statement(silent).at("state") == "unsigned");
  auto alerts = kobe.alerts("settlement_unsigned");
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].at("peer") == "kyoto.example");
  kobe.settlements.sweep();
  CHECK(kobe.alerts("settlement_unsigned").size() == 1);  // once
  CHECK(kobe.obligation("kyoto.example", "h_k")->statement.empty());
  // A new statement may go; the unsigned one's items wait for its answer.
  auto again = proposed(kobe, "kyoto.example");
  CHECK(kobe.statement(again).at("items").empty());
}

TEST_CASE("settlement: the schedule proposes last month's statement once, from one side") {
  SettlingSite kobe{"kobe.example", "JP-28"};
  SettlingSite osaka{"osaka.example", "JP-27"};
  peer(kobe, osaka);
  kobe.owe("osaka.example", "h_1", true);
  osaka.owe("kobe.example", "h_1", false);
  // Nothing is proposed for a month that is still running.
  CHECK(kobe.settlements.sweep() == 0);
  auto now = kobe.site.clock.now_ms();
  auto month = sm::period_containing(now, relay::config::SettlementPeriod::monthly);
  for (auto* s : {&kobe, &osaka}) s->site.clock.set(month.end_ms + 60'000);
  CHECK(osaka.settlements.sweep() == 0);  // "kobe.example" sorts first: kobe proposes
  CHECK(kobe.settlements.sweep() == 1);
  kobe.site.deliver();
  CHECK(kobe.settlements.sweep() == 0);  // once per period
  auto s = kobe.settlements.list().at("statements").at(0);
  CHECK(s.at("period") == month.label);
  CHECK(s.at("until_ms") == month.end_ms);
  CHECK(s.at("state") == "agreed");
}

TEST_CASE("settlement: crossing statements never settle an item twice") {
  SettlingSite kobe{"kobe.example", "JP-28"};
  SettlingSite osaka{"osaka.example", "JP-27"};
  peer(kobe, osaka);
  kobe.owe("osaka.example", "h_1", true);
  osaka.owe("kobe.example", "h_1", false);
  auto from_kobe = proposed(kobe, "osaka.example");
  auto from_osaka = proposed(osaka, "kobe.example");
  osaka.site.deliver();  // kobe answers osaka's while its own is open: in_open_statement
  CHECK(osaka.statement(from_osaka).at("disputed").at(0).at("reason") == "in_open_statement");
  kobe.site.deliver();  // osaka agrees kobe's
  CHECK(kobe.obligation("osaka.example", "h_1")->statement == from_kobe);
  CHECK(osaka.obligation("kobe.example", "h_1")->statement == from_kobe);

  auto report = audit_pair(kobe, osaka, "3");
  CHECK_MESSAGE(report.ok(), relay::audit::to_text(report, false));
  CHECK(report.statements == 2);
  CHECK(report.agreed_items == 1);

  // The consortium check needs every counterparty's log.
  relay::audit::ExportDirSource alone(kobe.export_to("export-alone"));
  auto partial = relay::audit::check_consortium({&alone}, {1});
  CHECK_FALSE(partial.ok());
  CHECK(partial.problems.mentions("no log of osaka.example given"));
}

TEST_CASE("settlement periods are JST months and days") {
  using relay::config::SettlementPeriod;
  // 2026-11-30T15:00:00Z is 2026-12-01 00:00 JST.
  const std::int64_t dec1_jst = 1796050800000;
  auto m = sm::period_containing(dec1_jst, SettlementPeriod::monthly);
  CHECK(m.label == "2026-12");
  CHECK(m.start_ms == dec1_jst);
  CHECK(sm::period_containing(dec1_jst - 1, SettlementPeriod::monthly).label == "2026-11");
  auto last = sm::last_complete_period(dec1_jst + 5, SettlementPeriod::monthly);
  CHECK(last.label == "2026-11");
  CHECK(last.end_ms == dec1_jst);
  CHECK(last.start_ms == dec1_jst - 30LL * 86400000);
  auto d = sm::last_complete_period(dec1_jst, SettlementPeriod::daily);
  CHECK(d.label == "2026-11-30");
  CHECK(d.end_ms - d.start_ms == 86400000);
}

TEST_CASE("relay-audit: a settlement one side made up is refused") {
  SettlingSite kobe{"kobe.example", "JP-28"};
  SettlingSite osaka{"osaka.example", "JP-27"};
  peer(kobe, osaka);
  kobe.owe("osaka.example", "h_1", false);
  osaka.owe("kobe.example", "h_1", true);
  auto id = proposed(kobe, "osaka.example");
  kobe.site.deliver();
  REQUIRE(kobe.statement(id).at("state") == "agreed");
  auto honest = audit_pair(kobe, osaka, "honest");
  CHECK_MESSAGE(honest.ok(), relay::audit::to_text(honest, false));

  // Kobe records, under its own valid signature, a statement osaka never countersigned (the
  // countersignature is kobe's own), settling an obligation osaka never recorded.
  kobe.owe("osaka.example", "h_2", false);
  ps::Statement made_up{"s_madeup", "kobe.example",  "osaka.example", "2026-11",
                        1,          {{"h_2", false}}};
  auto sign = [&](const std::string& bytes) {
    return relay::crypto::to_base64(relay::crypto::sign(
        kobe.site.keys.current()->signing.secret_key, relay::crypto::as_bytes(bytes)));
  };
  kobe.site.writer.submit_wait([&](st::WriteTxn& txn) {
    kobe.site.ledger.append(
        txn, relay::protocol::settlement_agreed(made_up, "osaka.example", true, {},
                                                sign(ps::statement_bytes(made_up)),
                                                sign(ps::agreement_bytes(made_up, {}))));
  });
  auto report = audit_pair(kobe, osaka, "made-up");
  CHECK_FALSE(report.ok());
  CHECK(report.problems.mentions("statement s_madeup is not in osaka.example's log"));
  CHECK(report.problems.mentions("net positions sum to 1, not 0"));
}

TEST_CASE("netting: a cycle of three agreed statements cancels, signed by all three") {
  SettlingSite kobe{"kobe.example", "JP-28"};
  SettlingSite kyoto{"kyoto.example", "JP-26"};
  SettlingSite osaka{"osaka.example", "JP-27"};
  peer(kobe, osaka);
  peer(kobe, kyoto);
  peer(kyoto, osaka);
  // kobe owes osaka, osaka owes kyoto, kyoto owes kobe: one introduction each.
  auto owes = [](SettlingSite& debtor, SettlingSite& creditor, const std::string& handoff) {
    debtor.owe(creditor.site.name(), handoff, true);
    creditor.owe(debtor.site.name(), handoff, false);
  };
  owes(kobe, osaka, "h_ko");
  owes(osaka, kyoto, "h_oy");
  owes(kyoto, kobe, "h_yk");
  // Before the bilateral statements there is nothing to net.
  CHECK(kobe.nettings.propose({"osaka.example", "kyoto.example"}).error().error ==
        sm::NettingError::nothing_to_net);
  auto s1 = proposed(kobe, "osaka.example");
  auto s2 = proposed(kobe, "kyoto.example");
  auto s3 = proposed(kyoto, "osaka.example");
  kobe.site.deliver();
  kyoto.site.deliver();
  for (const auto& id : {s1, s2}) CHECK(kobe.statement(id).at("state") == "agreed");
  CHECK(kyoto.statement(s3).at("state") == "agreed");

  CHECK(kobe.nettings.propose({"osaka.example"}).error().error == sm::NettingError::too_few);
  CHECK(kobe.nettings.propose({"osaka.example", "nara.example"}).error().peer == "nara.example");
  auto proposed_netting = kobe.nettings.propose({"osaka.example", "kyoto.example", "kobe.example"});
  REQUIRE(proposed_netting);
  auto id = proposed_netting->at("netting").get<std::string>();
  CHECK(proposed_netting->at("statements").size() == 3);
  CHECK(proposed_netting->at("state") == "proposed");
  // While it is open, no other netting is proposed from here.
  CHECK(kobe.nettings.propose({"osaka.example", "kyoto.example"}).error().error ==
        sm::NettingError::pending);
  kobe.site.deliver();  // proposals, signatures back, then netting.complete to both
  for (auto* site : {&kobe, &osaka, &kyoto}) {
    auto agreed = site->events("netting_agreed");
    REQUIRE(agreed.size() == 1);
    CHECK(agreed[0].at("netting") == id);
    CHECK(agreed[0].at("signatures").size() == 3);
    CHECK(agreed[0].at("transfers").empty());  // the cycle cancels
    for (const auto& [node, net] : agreed[0].at("positions").items()) CHECK(net == 0);
    CHECK(site->nettings.list().at("nettings").at(0).at("state") == "agreed");
  }
  CHECK(kobe.events("netting_agreed") == osaka.events("netting_agreed"));

  // The auditor: the three logs agree on the netting and every signature verifies.
  relay::audit::ExportDirSource a(kobe.export_to("export-net"));
  relay::audit::ExportDirSource b(kyoto.export_to("export-net"));
  relay::audit::ExportDirSource c(osaka.export_to("export-net"));
  auto report = relay::audit::check_consortium({&a, &b, &c}, {1});
  CHECK_MESSAGE(report.ok(), relay::audit::to_text(report, true));
  CHECK(report.nettings == 3);
  CHECK(report.statements == 3);
  CHECK(report.sum == 0);
}

TEST_CASE("netting: a proposal that misstates a statement or is not the proposer's is refused") {
  SettlingSite kobe{"kobe.example", "JP-28"};
  SettlingSite kyoto{"kyoto.example", "JP-26"};
  SettlingSite osaka{"osaka.example", "JP-27"};
  peer(kobe, osaka);
  peer(kobe, kyoto);
  peer(kyoto, osaka);
  kobe.owe("osaka.example", "h_1", true);
  osaka.owe("kobe.example", "h_1", false);
  auto statement = proposed(kobe, "osaka.example");
  kobe.site.deliver();
  REQUIRE(osaka.statement(statement).at("state") == "agreed");

  namespace pn = relay::protocol::netting;
  pn::Netting n{"n_forged",
                "kobe.example",
                {"kobe.example", "kyoto.example", "osaka.example"},
                {{statement, "kobe.example", "osaka.example", 2}}};  // the statement says 1
  auto sign_with = [&](SettlingSite& signer) {
    return relay::crypto::to_base64(
        relay::crypto::sign(signer.site.keys.current()->signing.secret_key,
                            relay::crypto::as_bytes(pn::document_bytes(n))));
  };
  auto before = osaka.site.ledger_bytes();
  auto r =
      kobe.site.send(osaka.site, "netting.proposal", pn::Proposal{n, sign_with(kobe)}.to_json());
  CHECK(r.status == 409);
  CHECK(r.body.find("netting_mismatch") != std::string::npos);
  n.statements[0].amount = 1;
  n.id = "n_forged2";
  // Signed by kyoto's key for kobe's proposal: refused.
  r = kobe.site.send(osaka.site, "netting.proposal", pn::Proposal{n, sign_with(kyoto)}.to_json());
  CHECK(r.status == 400);
  CHECK(r.body.find("bad_netting_signature") != std::string::npos);
  // Sent by kyoto in kobe's name: refused.
  r = kyoto.site.send(osaka.site, "netting.proposal", pn::Proposal{n, sign_with(kobe)}.to_json());
  CHECK(r.status == 403);
  // A completion for a netting osaka never signed.
  r = kobe.site.send(osaka.site, "netting.complete",
                     pn::Complete{"n_forged2", {{"kobe.example", "c2ln"}}}.to_json());
  CHECK(r.status == 404);
  CHECK(osaka.site.ledger_bytes() == before);
  CHECK(osaka.nettings.list().at("nettings").empty());
  CHECK(osaka.statement(statement).at("netting") == "");
}
