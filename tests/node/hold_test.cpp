// node/referrals/hold: the holding period and the farming checks (issue 17) on the real local
// domain (LMDB, keys, ledger), with a ManualClock: nothing counts before its hold ends;
// withdrawn or erased meanwhile it never counts; flagged referrals wait for the operator;
// the auditor's BalanceBook agrees with the node at every step.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>

#include "node/common/key_encoding.hpp"
#include "node/domain_fixture.hpp"
#include "node/ledger_audit.hpp"
#include "node/storage/index_marks.hpp"
#include "protocol/event.hpp"
#include "protocol/ledger_entry.hpp"

using namespace relay::node;
using relay::test::Domain;
using Form = std::map<std::string, std::string>;
using namespace std::chrono_literals;

namespace {

constexpr auto kDay = std::chrono::milliseconds(std::chrono::hours(24));

referrals::HoldRules hold_days(int days) {
  referrals::HoldRules rules;
  rules.holding = kDay * days;
  return rules;
}

// A 14-day hold; more than 3 confirmations of a member within an hour are flagged.
referrals::HoldRules burst_rules() {
  auto rules = hold_days(14);
  rules.velocity_max = 3;
  rules.velocity_window = std::chrono::hours(1);
  return rules;
}

void init_ledger(Domain& d, std::uint32_t ratio, std::uint32_t holding_days) {
  d.write([&](storage::WriteTxn& txn) {
    auto keys = d.keys.current();
    d.ledger.append(txn, relay::protocol::node_initialised("JP-28", ratio, keys->signing.public_key,
                                                           keys->encryption.public_key));
    if (holding_days) d.ledger.append(txn, relay::protocol::referral_hold_rule(holding_days));
  });
}

Form form_for(const std::string& email) {
  return {{"name", "Person"},          {"email", email},         {"job_category", "C"},
          {"skills", "Excel"},         {"prefecture", "JP-13"},  {"age_band", "35-44"},
          {"experience_band", "6-10"}, {"consent_region", "yes"}};
}

// Every verification token mailed to `to`.
std::set<std::string> verify_tokens(Domain& d, const std::string& to) {
  auto txn = d.env.begin_read();
  std::set<std::string> out;
  for (const auto& q : d.candidates.queued_mail(txn, 10'000)) {
    if (q.mail.to != to) continue;
    auto at = q.mail.body.find("/r/v/");
    if (at == std::string::npos) continue;
    auto start = at + 5;
    out.insert(q.mail.body.substr(start, q.mail.body.find_first_of("\r\n ", start) - start));
  }
  return out;
}

// Registers `email` through the member's link and confirms it with the token just mailed.
referrals::ConfirmResult refer(Domain& d, const members::Member& m, const std::string& email) {
  d.clock.advance(1ms);  // referrals list in the order they were made
  auto before = verify_tokens(d, email);
  auto submitted = d.write(
      [&](storage::WriteTxn& txn) { return d.intake.submit(txn, m.link_token, form_for(email)); });
  REQUIRE(submitted.accepted);
  std::string token;
  for (const auto& t : verify_tokens(d, email))
    if (!before.count(t)) token = t;
  REQUIRE_FALSE(token.empty());
  return d.write([&](storage::WriteTxn& txn) { return d.intake.confirm(txn, token); });
}

referrals::Account account(Domain& d, const std::string& member) {
  auto txn = d.env.begin_read();
  return d.credits.account(txn, member);
}

std::size_t release(Domain& d) {
  return d.write([&](storage::WriteTxn& txn) { return d.holds.release_due(txn); });
}

std::vector<referrals::ReviewItem> in_review(Domain& d) {
  auto txn = d.env.begin_read();
  return d.holds.in_review(txn)->items;
}

std::vector<std::string> ids_of(const std::vector<referrals::ReviewItem>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) out.push_back(item.referral);
  return out;
}

std::vector<referrals::Referral> referrals_of(Domain& d, const std::string& member) {
  auto txn = d.env.begin_read();
  return d.referrals.for_member(txn, member);
}

// The entries of `kind`, data only.
std::vector<nlohmann::json> entries(Domain& d, std::string_view kind) {
  std::vector<nlohmann::json> out;
  auto txn = d.env.begin_read();
  for (std::uint64_t i = 0; i < d.ledger.size(txn); ++i) {
    auto e = std::get<relay::protocol::LedgerEntry>(
        relay::protocol::parse_entry(*d.ledger.entry(txn, i)));
    if (e.kind == kind) out.push_back(e.data);
  }
  return out;
}

// Entries in the database named `db`.
std::size_t count_of(Domain& d, const char* db) {
  auto txn = d.env.begin_read();
  return txn.count(d.env.database(db));
}

// As in a data directory from before the index `db` (its mark has the same name).
void forget_index(Domain& d, const char* db) {
  d.write([&](storage::WriteTxn& txn) {
    txn.clear(d.env.database(db));
    txn.del(d.env.database(storage::kIndexMarks), db);
  });
}

std::string problems(Domain& d) {
  std::string out;
  for (const auto& p : relay::test::audit_ledger(d.env, d.ledger).problems) out += p + "\n";
  return out;
}

}  // namespace

TEST_SUITE_BEGIN("referrals");

TEST_CASE("hold: a referral counts only when its holding period has ended") {
  Domain d(2, false, hold_days(14));
  init_ledger(d, 2, 14);
  auto m = d.admit("Hold KK").member;
  auto first = refer(d, m, "hold.one@example.jp");
  CHECK(first.state == referrals::ConfirmState::confirmed);
  CHECK_FALSE(first.minted);
  refer(d, m, "hold.two@example.jp");
  CHECK(account(d, m.id).counted == 0);
  CHECK(account(d, m.id).minted == 0);
  CHECK(entries(d, "referral_held").size() == 2);
  CHECK(entries(d, "referral_verified").empty());
  for (const auto& r : referrals_of(d, m.id)) CHECK(r.stage == "held");

  d.clock.advance(kDay * 13);
  CHECK(release(d) == 0);  // not yet
  CHECK(account(d, m.id).counted == 0);
  d.clock.advance(kDay * 1 + 1ms);
  CHECK(release(d) == 2);
  CHECK(account(d, m.id).counted == 2);
  CHECK(account(d, m.id).minted == 1);  // 2 per credit
  CHECK(entries(d, "referral_counted").size() == 2);
  for (const auto& r : referrals_of(d, m.id)) {
    CHECK(r.stage == "counted");
    CHECK(r.counted);
  }
  CHECK(release(d) == 0);  // nothing twice
  CHECK(problems(d) == "");
  auto audited = relay::test::audit_ledger(d.env, d.ledger);
  CHECK(audited.balances.at(m.id).credits_minted == 1);
  CHECK(audited.balances.at(m.id).verified_referrals == 2);
}

TEST_CASE("hold: withdrawn or erased during the hold, or the member suspended: never counted") {
  Domain d(1, false, hold_days(14));
  init_ledger(d, 1, 14);
  auto m = d.admit("Drop KK").member;
  auto other = d.admit("Suspended KK").member;
  refer(d, m, "withdraws@example.jp");
  refer(d, m, "erases@example.jp");
  refer(d, m, "stays@example.jp");
  refer(d, other, "stays@example.jp");
  auto list = referrals_of(d, m.id);
  REQUIRE(list.size() == 3);
  d.write([&](storage::WriteTxn& txn) {
    auto withdrawing = *d.candidates.find(txn, list[0].candidate_id);
    withdrawing.consent.region = withdrawing.consent.peers = withdrawing.consent.stats = false;
    d.candidates.save(txn, withdrawing);
    auto erasing = *d.candidates.find(txn, list[1].candidate_id);
    d.candidates.erase(txn, erasing);
    return d.members.set_active(txn, other.id, false);
  });
  d.clock.advance(kDay * 15);
  CHECK(release(d) == 4);
  CHECK(account(d, m.id).counted == 1);
  CHECK(account(d, m.id).minted == 1);
  CHECK(account(d, other.id).counted == 0);
  std::multiset<std::string> reasons;
  for (const auto& e : entries(d, "referral_dropped")) reasons.insert(e.at("reason"));
  CHECK(reasons == std::multiset<std::string>{"erased", "member_suspended", "withdrawn"});
  CHECK(problems(d) == "");
}

TEST_CASE("hold: velocity flags a burst; the operator's decision is final") {
  Domain d(1, false, burst_rules());
  init_ledger(d, 1, 14);
  auto m = d.admit("Burst KK").member;
  auto calm = d.admit("Calm KK").member;
  for (int i = 0; i < 3; ++i)
    refer(d, m, "burst" + std::string(1, char('a' + i)) + "@ex" + std::to_string(i) + ".jp");
  CHECK(in_review(d).empty());   // three in an hour is ordinary
  refer(d, m, "burstd@ex3.jp");  // the fourth tips it: all four wait
  auto waiting = in_review(d);
  REQUIRE(waiting.size() == 4);
  for (const auto& w : waiting) {
    CHECK(w.member == m.id);
    CHECK(w.company == "Burst KK");
    CHECK(w.reasons == std::vector<std::string>{"velocity"});
    auto shown = w.to_json().dump();
    CHECK(shown.find("burst") == std::string::npos);  // no address, not even a part of it
    CHECK(shown.find("ex3.jp") == std::string::npos);
  }
  // Each record says so, the one that tipped it as much as the three before it, and each has
  // its referral_flagged entry.
  for (const auto& r : referrals_of(d, m.id)) CHECK(r.stage == "review");
  CHECK(entries(d, "referral_flagged").size() == 4);
  // Another member's referrals are not in this member's window.
  d.clock.advance(2h);
  refer(d, calm, "calm@example.jp");
  refer(d, m, "later@ex9.jp");  // out of the window: not flagged
  CHECK(in_review(d).size() == 4);

  // Reject one, accept three; a decision is taken once.
  auto rejected = d.write(
      [&](storage::WriteTxn& txn) { return d.holds.decide(txn, waiting[0].referral, false); });
  CHECK(rejected);
  for (int i = 1; i < 4; ++i)
    CHECK(d.write(
        [&](storage::WriteTxn& txn) { return d.holds.decide(txn, waiting[i].referral, true); }));
  auto again = d.write(
      [&](storage::WriteTxn& txn) { return d.holds.decide(txn, waiting[0].referral, true); });
  REQUIRE_FALSE(again);
  CHECK(again.error() == referrals::ReviewError::not_in_review);
  auto unknown =
      d.write([&](storage::WriteTxn& txn) { return d.holds.decide(txn, "r_nosuch", true); });
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error() == referrals::ReviewError::not_found);
  CHECK(in_review(d).empty());
  CHECK(account(d, m.id).counted == 0);  // accepted still waits for its hold

  d.clock.advance(kDay * 15);
  release(d);
  CHECK(account(d, m.id).counted == 4);  // three accepted + the later one
  CHECK(account(d, calm.id).counted == 1);
  for (const auto& r : referrals_of(d, m.id))
    if (r.id == waiting[0].referral) {
      CHECK(r.stage == "rejected");
      CHECK_FALSE(r.counted);
    }
  CHECK(problems(d) == "");
}

// Each confirmation of a burst flags only itself once its group was over the limit already
// (hold.cpp: the group's ends carry the reason); what ends up flagged, and what the ledger
// says, is what flagging the whole group every time gave.
TEST_CASE("hold: a long burst flags every referral once; a decision inside it stays") {
  auto rules = hold_days(14);
  rules.velocity_max = 3;
  rules.velocity_window = std::chrono::hours(1);
  rules.same_domain_max = 5;
  Domain d(1, false, rules);
  init_ledger(d, 1, 14);
  auto m = d.admit("Burst KK").member;
  // Twelve from one company domain in an hour: velocity from the fourth, same_domain from the
  // sixth. The eighth is accepted by the operator while the burst goes on.
  std::string accepted;
  for (int i = 0; i < 12; ++i) {
    refer(d, m, "p" + std::to_string(i) + "@burst-corp.co.jp");
    if (i == 7) {
      auto newest = referrals_of(d, m.id).back().id;
      REQUIRE(d.write([&](storage::WriteTxn& txn) { return d.holds.decide(txn, newest, true); }));
      accepted = newest;
    }
  }
  auto all = referrals_of(d, m.id);
  REQUIRE(all.size() == 12);
  std::map<std::string, std::vector<std::string>> flagged;  // referral -> reasons, as logged
  for (const auto& e : entries(d, "referral_flagged"))
    for (const auto& r : e.at("reasons")) flagged[e.at("referral")].push_back(r);
  for (const auto& r : all) {
    const auto& reasons = flagged[r.id];
    // Each reason logged once, by the confirmation that tipped its group or by its own.
    CHECK(std::count(reasons.begin(), reasons.end(), "velocity") == 1);
    CHECK(std::count(reasons.begin(), reasons.end(), "same_domain") == 1);
  }
  auto waiting = in_review(d);
  CHECK(waiting.size() == 11);  // all but the accepted one
  for (const auto& w : waiting) {
    CHECK(w.referral != accepted);
    CHECK(std::find(w.reasons.begin(), w.reasons.end(), "velocity") != w.reasons.end());
    CHECK(std::find(w.reasons.begin(), w.reasons.end(), "same_domain") != w.reasons.end());
  }
  CHECK(problems(d) == "");
}

TEST_CASE("hold: one domain, similar local parts and disposable domains are flagged") {
  auto rules = hold_days(0);  // a zero hold: unflagged referrals count at once
  rules.same_domain_max = 2;
  rules.similar_max = 2;
  rules.flag_disposable = true;
  Domain d(10, false, rules);
  init_ledger(d, 10, 0);
  auto m = d.admit("Cluster KK").member;
  refer(d, m, "a@farm.example");
  refer(d, m, "b@farm.example");
  CHECK(account(d, m.id).counted == 2);  // counted at once: nothing flagged yet
  refer(d, m, "c@farm.example");         // the third of one domain: flagged
  refer(d, m, "sato1@a.example");
  refer(d, m, "sato2@b.example");
  refer(d, m, "sato.3@c.example");  // the third "sato": flagged
  refer(d, m, "anyone@yopmail.com");
  std::map<std::string, std::vector<std::string>> reasons;
  std::string disposable;
  for (const auto& w : in_review(d)) {
    reasons[w.referral] = w.reasons;
    if (!w.domain.empty()) disposable = w.domain;
  }
  CHECK(reasons.size() == 3);  // the first two of each group had counted already
  CHECK(disposable == "yopmail.com");
  std::multiset<std::string> all;
  for (const auto& [id, r] : reasons) all.insert(r.begin(), r.end());
  CHECK(all == std::multiset<std::string>{"disposable_domain", "same_domain", "similar_addresses"});
  CHECK(account(d, m.id).counted == 4);  // a, b, sato1, sato2
  // Many addresses at one public provider are normal.
  Domain p(10, false, rules);
  init_ledger(p, 10, 0);
  auto pm = p.admit("Public KK").member;
  for (const auto* e : {"ichiro@gmail.com", "jiro@gmail.com", "saburo@gmail.com"}) refer(p, pm, e);
  CHECK(in_review(p).empty());
  CHECK(problems(d) == "");
}

TEST_CASE("hold: aliases are one person; people registered before the rule are found") {
  Domain d(10, false, hold_days(0));
  init_ledger(d, 10, 0);
  auto m = d.admit("Alias KK").member;
  refer(d, m, "taro@gmail.com");
  for (const auto* alias : {"taro+1@gmail.com", "t.a.r.o@gmail.com", "Taro+x@GoogleMail.com"}) {
    auto submitted = d.write([&](storage::WriteTxn& txn) {
      return d.intake.submit(txn, m.link_token, form_for(alias));
    });
    CHECK(submitted.accepted);
  }
  CHECK(referrals_of(d, m.id).size() == 1);
  CHECK(account(d, m.id).counted == 1);

  // A candidate registered before the rule, under the pseudonym of the plain normalised
  // address, is found again under that address (no second person, no second referral).
  auto legacy_pseudonym = d.candidates.pseudonym_of("h.anako@gmail.com");
  d.write([&](storage::WriteTxn& txn) {
    candidates::Registration reg;
    reg.personal.name = "Hanako";
    reg.personal.email = "h.anako@gmail.com";
    return d.candidates.create(txn, reg, legacy_pseudonym).id;
  });
  auto submitted = d.write([&](storage::WriteTxn& txn) {
    return d.intake.submit(txn, m.link_token, form_for("h.anako@gmail.com"));
  });
  CHECK(submitted.accepted);
  auto txn = d.env.begin_read();
  CHECK(d.referrals.for_person(txn, m.id, legacy_pseudonym).has_value());
}

TEST_CASE("hold: the ledger names one person differently for each member") {
  Domain d(10, false, hold_days(0));
  init_ledger(d, 10, 0);
  auto a = d.admit("A KK").member;
  auto b = d.admit("B KK").member;
  refer(d, a, "shared.person@example.jp");
  refer(d, b, "shared.person@example.jp");
  auto held = entries(d, "referral_held");
  REQUIRE(held.size() == 2);
  CHECK(held[0].at("member") != held[1].at("member"));
  CHECK(held[0].at("candidate") != held[1].at("candidate"));
  auto node_pseudonym = referrals_of(d, a.id)[0].pseudonym;
  for (const auto& h : held) CHECK(h.at("candidate") != node_pseudonym);
  // Stable within one member: the same value in its referral_counted.
  auto counted = entries(d, "referral_counted");
  REQUIRE(counted.size() == 2);
  CHECK(counted[0].at("candidate") == held[0].at("candidate"));
  CHECK(problems(d) == "");
}

TEST_CASE("hold: confirmations from before the group index are indexed once; old ones leave it") {
  auto rules = hold_days(0);
  rules.same_domain_max = 2;
  rules.similar_max = 2;
  Domain d(10, false, rules);
  init_ledger(d, 10, 0);
  auto m = d.admit("Index KK").member;
  refer(d, m, "kenji1@farm.example");
  refer(d, m, "kenji2@farm.example");
  CHECK(count_of(d, "member_confirmations") == 2);
  CHECK(count_of(d, "confirmation_groups") == 4);  // a domain key and a stem key each
  // A data directory written before the index: its confirmations have no group keys.
  forget_index(d, "confirmation_groups");
  CHECK(d.write([&](storage::WriteTxn& txn) { return d.holds.index_existing(txn); }) == 2);
  CHECK(d.write([&](storage::WriteTxn& txn) { return d.holds.index_existing(txn); }) == 0);
  CHECK(count_of(d, "confirmation_groups") == 4);
  refer(d, m, "kenji3@farm.example");  // the third of one domain and one stem: both signals
  auto waiting = in_review(d);
  REQUIRE(waiting.size() == 1);
  CHECK(waiting[0].reasons == std::vector<std::string>{"same_domain", "similar_addresses"});
  // Past the window the old confirmations, and their group keys, are gone: nothing is flagged.
  d.clock.advance(kDay * 8);
  refer(d, m, "kenji4@farm.example");
  CHECK(in_review(d).size() == 1);
  CHECK(count_of(d, "member_confirmations") == 1);
  CHECK(count_of(d, "confirmation_groups") == 2);
  CHECK(problems(d) == "");
}

TEST_CASE("hold: with every windowed check off no confirmation is kept, and old ones still go") {
  // Checks that read no window stay on: a disposable address is flagged all the same.
  auto rules = hold_days(0);
  rules.flag_disposable = true;
  Domain d(10, false, rules);
  init_ledger(d, 10, 0);
  auto m = d.admit("Quiet KK").member;
  // Kept while the checks were on (as hold.hpp lays them out), older than the longest window.
  const auto old_at = common::be64(static_cast<std::uint64_t>(d.clock.now_ms())) + "r-old";
  d.write([&](storage::WriteTxn& txn) {
    txn.put(d.env.database("member_confirmations"), m.id + "/" + old_at,
            R"({"domain":"dd","stem":"ss"})");
    txn.put(d.env.database("confirmation_groups"), m.id + "/d/dd/" + old_at, "");
    txn.put(d.env.database("confirmation_groups"), m.id + "/s/ss/" + old_at, "");
  });
  d.clock.advance(kDay * 8);
  for (const auto* email : {"kenji1@farm.example", "kenji2@farm.example", "kenji3@farm.example"})
    CHECK(refer(d, m, email).state == referrals::ConfirmState::confirmed);
  CHECK(count_of(d, "member_confirmations") == 0);
  CHECK(count_of(d, "confirmation_groups") == 0);
  CHECK(account(d, m.id).counted == 3);
  CHECK(in_review(d).empty());
  refer(d, m, "someone@mailinator.com");
  auto waiting = in_review(d);
  REQUIRE(waiting.size() == 1);
  CHECK(waiting[0].reasons == std::vector<std::string>{"disposable_domain"});
  CHECK(count_of(d, "member_confirmations") == 0);
  CHECK(problems(d) == "");
}

// The operator's queue reads the referrals waiting for a decision (review_queue), not every
// referral held: a node holds every referral of the last holding period.
TEST_CASE("hold: the review queue holds only referrals waiting for the operator") {
  Domain d(1, false, burst_rules());
  init_ledger(d, 1, 14);
  // As a node starts: every index built over the (empty) directory and marked.
  CHECK(d.write([&](storage::WriteTxn& txn) { return d.holds.index_existing(txn); }) == 0);
  auto m = d.admit("Burst KK").member;
  for (int i = 0; i < 4; ++i)
    refer(d, m, "burst" + std::to_string(i) + "@ex" + std::to_string(i) + ".jp");
  std::vector<std::string> calm_ids;
  for (int i = 0; i < 6; ++i) {
    auto calm = d.admit("Calm " + std::to_string(i) + " KK").member;
    refer(d, calm, "calm" + std::to_string(i) + "@example.jp");
    for (const auto& r : referrals_of(d, calm.id)) calm_ids.push_back(r.id);
  }
  auto holds = d.env.database("referral_holds");
  CHECK(count_of(d, "referral_holds") == 10);
  CHECK(count_of(d, "review_queue") == 4);
  REQUIRE(in_review(d).size() == 4);
  // A held referral nobody waits for is not read: a record that no longer parses stays out
  // of the operator's way (the whole-database scan threw on it).
  REQUIRE(calm_ids.size() == 6);
  auto stored = d.write([&](storage::WriteTxn& txn) {
    auto v = txn.get(holds, calm_ids[0]);
    txn.put(holds, calm_ids[0], "not json");
    return v;
  });
  REQUIRE(stored);
  auto waiting = in_review(d);
  REQUIRE(waiting.size() == 4);
  d.write([&](storage::WriteTxn& txn) { txn.put(holds, calm_ids[0], *stored); });

  // Decided referrals leave the queue, accepted or rejected.
  CHECK(d.write(
      [&](storage::WriteTxn& txn) { return d.holds.decide(txn, waiting[0].referral, true); }));
  CHECK(d.write(
      [&](storage::WriteTxn& txn) { return d.holds.decide(txn, waiting[1].referral, false); }));
  CHECK(count_of(d, "review_queue") == 2);
  auto left = in_review(d);
  REQUIRE(left.size() == 2);
  CHECK(left[0].referral == waiting[2].referral);
  CHECK(left[1].referral == waiting[3].referral);

  // A data directory from before the queue: built once from the holds, waiting ones only.
  forget_index(d, "review_queue");
  d.write([&](storage::WriteTxn& txn) {
    txn.del(d.env.database(storage::kIndexMarks), "review_queue_by_time");
  });
  CHECK(in_review(d).empty());
  CHECK(d.write([&](storage::WriteTxn& txn) { return d.holds.index_existing(txn); }) == 2);
  CHECK(d.write([&](storage::WriteTxn& txn) { return d.holds.index_existing(txn); }) == 0);
  CHECK(count_of(d, "review_queue") == 2);
  CHECK(ids_of(in_review(d)) == ids_of(left));

  // One from before the queue was keyed by time (referral id -> ""): rebuilt whole, the old
  // keys gone.
  d.write([&](storage::WriteTxn& txn) {
    auto queue = d.env.database("review_queue");
    txn.clear(queue);
    for (const auto& item : left) txn.put(queue, item.referral, "");
    txn.put(queue, waiting[0].referral, "");  // accepted since: not rebuilt
    txn.del(d.env.database(storage::kIndexMarks), "review_queue_by_time");
  });
  CHECK(d.write([&](storage::WriteTxn& txn) { return d.holds.index_existing(txn); }) == 2);
  CHECK(count_of(d, "review_queue") == 2);
  CHECK(ids_of(in_review(d)) == ids_of(left));

  d.clock.advance(kDay * 15);
  release(d);
  CHECK(count_of(d, "referral_holds") == 2);  // the two still waiting for the operator
  CHECK(in_review(d).size() == 2);
  CHECK(problems(d) == "");
}

// A farming flood fills the queue with one member's referrals: the operator reads it a page at
// a time, sees who they come from, and decides all of one member's at once.
TEST_CASE("hold: the review queue pages, counts per member and decides a member's at once") {
  Domain d(1, false, burst_rules());
  init_ledger(d, 1, 14);
  CHECK(d.write([&](storage::WriteTxn& txn) { return d.holds.index_existing(txn); }) == 0);
  auto farm = d.admit("Farm KK").member;
  auto other = d.admit("Other KK").member;
  // Over 3 an hour is a burst: the 4th flags all four, each later one itself.
  for (int i = 0; i < 9; ++i)
    refer(d, farm, "f" + std::to_string(i) + "@ex" + std::to_string(i) + ".jp");
  for (int i = 0; i < 4; ++i)
    refer(d, other, "o" + std::to_string(i) + "@oth" + std::to_string(i) + ".jp");
  auto all = in_review(d);
  REQUIRE(all.size() == 13);
  for (std::size_t i = 1; i < all.size(); ++i)
    CHECK(std::tie(all[i - 1].verified_ms, all[i - 1].referral) <
          std::tie(all[i].verified_ms, all[i].referral));

  auto page = [&](std::size_t limit, const std::string& after, const std::string& member) {
    auto txn = d.env.begin_read();
    return d.holds.in_review(txn, referrals::ReviewQuery{limit, after, member});
  };
  // Pages of 4 walk the whole queue in order; the last says no more follow.
  std::vector<std::string> walked;
  std::string after;
  for (int pages = 0;; ++pages) {
    REQUIRE(pages < 10);
    auto p = page(4, after, "");
    REQUIRE(p);
    for (const auto& item : p->items) walked.push_back(item.referral);
    if (!p->more) break;
    CHECK(p->last == p->items.back().referral);  // every one read is shown: all wait
    after = p->last;
  }
  CHECK(walked == ids_of(all));
  // One member's alone, paged too.
  auto farm_first = page(5, "", farm.id);
  REQUIRE(farm_first);
  CHECK(farm_first->items.size() == 5);
  CHECK(farm_first->more);
  auto farm_rest = page(5, farm_first->items.back().referral, farm.id);
  REQUIRE(farm_rest);
  CHECK(farm_rest->items.size() == 4);
  CHECK_FALSE(farm_rest->more);
  for (const auto* p : {&*farm_first, &*farm_rest})
    for (const auto& item : p->items) CHECK(item.member == farm.id);
  // An unknown referral marks no place; one decided since still does.
  CHECK_FALSE(page(4, "r_nosuchreferral", ""));
  REQUIRE(
      d.write([&](storage::WriteTxn& txn) { return d.holds.decide(txn, all[3].referral, true); }));
  auto next = page(2, all[3].referral, "");
  REQUIRE(next);
  CHECK(ids_of(next->items) == std::vector<std::string>{all[4].referral, all[5].referral});
  // A key left for a referral that no longer waits is not shown, and the walk goes past it.
  const auto stale_key =
      common::be64(static_cast<std::uint64_t>(all[3].verified_ms)) + all[3].referral;
  auto queue = d.env.database("review_queue");
  d.write([&](storage::WriteTxn& txn) { txn.put(queue, stale_key, all[3].member); });
  auto stale = page(1, all[2].referral, "");
  REQUIRE(stale);
  CHECK(stale->items.empty());
  CHECK(stale->more);
  CHECK(stale->last == all[3].referral);
  std::vector<std::string> past;
  for (std::string from;;) {
    REQUIRE(past.size() < 20);
    auto p = page(1, from, "");
    REQUIRE(p);
    for (const auto& item : p->items) past.push_back(item.referral);
    if (!p->more) break;
    from = p->last;
  }
  auto expected = ids_of(all);
  expected.erase(expected.begin() + 3);
  CHECK(past == expected);
  d.write([&](storage::WriteTxn& txn) { txn.del(queue, stale_key); });

  {
    auto txn = d.env.begin_read();
    auto counts = d.holds.waiting_by_member(txn);
    REQUIRE(counts.size() == 2);
    CHECK(counts[0].member == farm.id);
    CHECK(counts[0].company == "Farm KK");
    CHECK(counts[0].waiting + counts[1].waiting == 12);
    CHECK(d.holds.waiting_count(txn) == 12);
  }
  // A member's pages read review_queue_by_member; a directory from before it gets it built
  // once from review_queue.
  const auto farm_pages = ids_of(page(100, "", farm.id)->items);
  CHECK(farm_pages.size() == 8);
  d.write([&](storage::WriteTxn& txn) {
    txn.clear(d.env.database("review_queue_by_member"));
    txn.del(d.env.database(storage::kIndexMarks), "review_queue_by_member");
  });
  CHECK(page(100, "", farm.id)->items.empty());
  CHECK(d.write([&](storage::WriteTxn& txn) { return d.holds.index_existing(txn); }) == 12);
  CHECK(d.write([&](storage::WriteTxn& txn) { return d.holds.index_existing(txn); }) == 0);
  CHECK(ids_of(page(100, "", farm.id)->items) == farm_pages);
  CHECK(ids_of(page(100, "", other.id)->items).size() == 4);
  // All of one member's rejected, a few at a time: each its own ledger entry; the other
  // member's stay.
  const auto rejected_before = entries(d, "referral_rejected").size();
  std::size_t farm_waiting = page(100, "", farm.id)->items.size();
  std::size_t decided = 0, n = 0;
  do {
    n = d.write(
        [&](storage::WriteTxn& txn) { return d.holds.decide_member(txn, farm.id, false, 3); });
    decided += n;
  } while (n == 3);
  CHECK(decided == farm_waiting);
  CHECK(entries(d, "referral_rejected").size() == rejected_before + farm_waiting);
  CHECK(page(100, "", farm.id)->items.empty());
  auto left = in_review(d);
  CHECK(left.size() == 12 - farm_waiting);
  for (const auto& item : left) CHECK(item.member == other.id);
  for (const auto& r : referrals_of(d, farm.id))
    CHECK((r.stage == "rejected" || r.id == all[3].referral));
  CHECK(problems(d) == "");
}

TEST_SUITE_END();
