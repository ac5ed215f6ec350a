// Introductions (issue 14): a credit spent with the introduction in one txn; every refund path
// (decline, timeout, withdrawal, erasure, peer never delivers); outcomes refused for another
// member's introduction (not_found) or in the wrong order (conflict); what is due. Time moves
// with the ManualClock only.
#include "node/introductions/introduction.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

#include "domain_fixture.hpp"
#include "ledger_audit.hpp"
#include "node/introductions/requisition.hpp"
#include "node/storage/index_marks.hpp"
#include "record_pages.hpp"

using relay::test::Domain;
namespace intro = relay::node::introductions;
namespace storage = relay::node::storage;
using Code = intro::IntroductionError::Code;
using intro::Outcome;
using std::chrono::hours;

namespace {

constexpr auto kDay = hours(24);

struct Fixture {
  using common_result_t =
      relay::node::common::Result<intro::Introduction, intro::IntroductionError>;
  Domain d;
  intro::Requisitions reqs{d.env, d.ledger, d.reference, d.clock};
  intro::Introductions intros{d.env, d.ledger, d.credits, reqs, d.clock};
  std::string member;
  std::string requisition;
  int refs = 0;

  explicit Fixture(std::uint64_t credits = 5) {
    member = d.admit("Hire KK").member.id;
    requisition = open_requisition(member);
    if (credits > 0)
      REQUIRE(d.write([&](storage::WriteTxn& txn) {
        return d.credits.grant(txn, member, credits, "programme");
      }));
  }

  std::string open_requisition(const std::string& who) {
    intro::RequisitionInput in;
    in.title = "フォークリフト作業";
    in.category = "I";
    in.required_skills = {"フォークリフト"};
    in.prefectures = {"JP-28"};
    in.employment_type = "regular";
    auto r = d.write([&](storage::WriteTxn& txn) { return reqs.open(txn, who, in); });
    REQUIRE(r);
    return r->id;
  }

  // A new introduction; each call names another candidate unless `ref` is given.
  common_result_t create(const std::string& holder = "local", std::string ref = {}) {
    if (ref.empty()) ref = "cand-ref-" + std::to_string(++refs);
    return d.write([&](storage::WriteTxn& txn) {
      return intros.create(txn, member, requisition, holder, ref);
    });
  }
  template <class F>
  common_result_t step(F f) {
    return d.write([&](storage::WriteTxn& txn) { return f(txn); });
  }
  common_result_t accept(const std::string& id) {
    return step([&](auto& t) { return intros.accept(t, id); });
  }
  common_result_t deliver(const std::string& id) {
    return step([&](auto& t) { return intros.deliver(t, id); });
  }
  common_result_t outcome(const std::string& id, Outcome o, std::string reason = {},
                          std::string who = {}) {
    return step([&](auto& t) {
      return intros.report_outcome(t, who.empty() ? member : who, id, o, reason);
    });
  }
  // A delivered local introduction.
  std::string delivered() {
    auto i = create();
    REQUIRE(i);
    REQUIRE(accept(i->id));
    REQUIRE(deliver(i->id));
    return i->id;
  }

  std::int64_t balance() {
    auto txn = d.env.begin_read();
    return d.credits.account(txn, member).balance();
  }

  // The auditor's recomputation agrees with the account, with no problem named.
  void audit_agrees() {
    auto audited = relay::test::audit_ledger(d.env, d.ledger);
    std::string text;
    for (const auto& p : audited.problems) text += p + "\n";
    INFO(text);
    CHECK(audited.problems.empty());
    CHECK(audited.balances.at(member).balance == balance());
  }

  std::size_t count(const std::string& kind) {
    auto kinds = relay::test::audit_ledger(d.env, d.ledger).kinds;
    return static_cast<std::size_t>(std::count(kinds.begin(), kinds.end(), kind));
  }
};

}  // namespace

TEST_SUITE_BEGIN("node");

TEST_CASE("introductions: create spends a credit in the same txn; none left is no_credit") {
  Fixture f(1);
  auto i = f.create();
  REQUIRE(i);
  CHECK(i->state == intro::IntroductionState::requested);
  CHECK(i->kind == intro::IntroductionKind::local);
  CHECK(i->answer_due_ms == i->requested_ms + std::chrono::milliseconds(14 * kDay).count());
  CHECK(f.balance() == 0);
  CHECK(f.count("credit_spent") == 1);
  CHECK(f.count("introduction_made") == 1);
  {
    // The candidate is named under this member's scope, never by the pool ref (which is the
    // same for every member) nor as another member's entries would name them.
    auto txn = f.d.env.begin_read();
    auto made = nlohmann::json::parse(*f.d.ledger.entry(txn, f.d.ledger.size(txn) - 1));
    auto named = made.at("data").at("candidate").get<std::string>();
    CHECK(made.at("kind") == "introduction_made");
    const auto ref = "ref/local/" + i->candidate_ref;
    CHECK(named != i->candidate_ref);
    CHECK(named == f.d.ledger.pseudonym("member/" + f.member, ref));
    CHECK(named != f.d.ledger.pseudonym("member/m_other", ref));
  }

  const auto size = f.d.ledger_size();
  auto none = f.create();
  REQUIRE_FALSE(none);
  CHECK(none.error().code == Code::no_credit);
  CHECK(intro::to_string(none.error().code) == "no_credit");
  CHECK(f.d.ledger_size() == size);
  {
    auto txn = f.d.env.begin_read();
    CHECK(f.intros.page(txn, f.member, 1000, "")->records.size() == 1);
  }

  SUBCASE("another member's requisition, or a closed one, is refused before spending") {
    REQUIRE(f.d.write(
        [&](storage::WriteTxn& txn) { return f.d.credits.grant(txn, f.member, 1, "programme"); }));
    auto other = f.d.admit("Other KK").member.id;
    auto theirs = f.open_requisition(other);
    auto r = f.d.write([&](storage::WriteTxn& txn) {
      return f.intros.create(txn, f.member, theirs, "local", "x");
    });
    CHECK(r.error().code == Code::not_found);
    REQUIRE(f.d.write(
        [&](storage::WriteTxn& txn) { return f.reqs.close(txn, f.member, f.requisition); }));
    CHECK(f.create().error().code == Code::conflict);
    CHECK(f.balance() == 1);
  }
  f.audit_agrees();
}

TEST_CASE("introductions: one live introduction per member and candidate, decided in the txn") {
  Fixture f(5);
  auto first = f.create("local", "same-ref");
  REQUIRE(first);
  // In one txn, as requests of one Writer batch are: the second sees the first and spends nothing.
  auto both = f.d.write([&](storage::WriteTxn& txn) {
    auto again = f.intros.create(txn, f.member, f.requisition, "local", "same-ref");
    auto other_holder =
        f.intros.create(txn, f.member, f.requisition, "osaka.relaynode", "same-ref");
    return std::make_pair(again, other_holder);
  });
  REQUIRE_FALSE(both.first);
  CHECK(both.first.error().code == Code::duplicate);
  CHECK(both.second);  // the same ref at another holder is another candidate
  CHECK(f.balance() == 3);
  {
    auto txn = f.d.env.begin_read();
    auto live = f.intros.live_for(txn, f.member, "local", "same-ref");
    REQUIRE(live);
    CHECK(live->id == first->id);
    CHECK_FALSE(f.intros.live_for(txn, f.member, "local", "never-asked"));
  }
  // Another member may ask for the same candidate.
  auto other = f.d.admit("Other KK").member.id;
  REQUIRE(f.d.write(
      [&](storage::WriteTxn& txn) { return f.d.credits.grant(txn, other, 1, "programme"); }));
  auto theirs = f.open_requisition(other);
  CHECK(f.d.write([&](storage::WriteTxn& txn) {
    return f.intros.create(txn, other, theirs, "local", "same-ref");
  }));
  // Once it ends (declined: refunded), the member may ask again.
  REQUIRE(f.step([&](auto& t) { return f.intros.decline(t, first->id); }));
  auto second = f.create("local", "same-ref");
  REQUIRE(second);
  CHECK(second->id != first->id);
  f.audit_agrees();
}

TEST_CASE("introductions: the pair index is built once over introductions stored before it") {
  Fixture f(3);
  auto a = f.create("local", "old-a");
  auto b = f.create("local", "old-b");
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(f.step([&](auto& t) { return f.intros.decline(t, b->id); }));
  // Every index built and marked, as a node does at start-up: `a` is live (pairs) and
  // requested (waiting, its own test below); both are listed by time (their own test below).
  REQUIRE(f.d.write([&](storage::WriteTxn& txn) { return f.intros.index_existing(txn); }) == 4);
  // A data directory from before the index: its entries and the mark removed.
  f.d.write([&](storage::WriteTxn& txn) {
    txn.clear(f.d.env.database("introduction_pairs"));
    txn.del(f.d.env.database(relay::node::storage::kIndexMarks), "introduction_pairs");
    return 0;
  });
  auto indexed = f.d.write([&](storage::WriteTxn& txn) { return f.intros.index_existing(txn); });
  CHECK(indexed == 1);  // the live one; the declined one needs no entry
  CHECK(f.d.write([&](storage::WriteTxn& txn) { return f.intros.index_existing(txn); }) == 0);
  CHECK(f.create("local", "old-a").error().code == Code::duplicate);
  CHECK(f.create("local", "old-b"));
}

TEST_CASE("introductions: the sweeps read the due ones from the waiting index, not every one") {
  // expire and expire_undelivered run hourly on the writer thread: they read
  // introductions_waiting (requested; a peer's accepted), which every state change keeps.
  Fixture f(6);
  auto waiting = [&] {
    auto txn = f.d.env.begin_read();
    std::size_t n = 0;
    txn.for_each_prefix(f.d.env.database("introductions_waiting"), "",
                        [&](std::string_view, std::string_view) { ++n; });
    return n;
  };
  auto expire = [&] {
    return f.d.write([&](storage::WriteTxn& txn) {
      return f.intros.expire(txn, f.d.clock.now_ms(), f.intros.settings().answer_within);
    });
  };
  auto expire_undelivered = [&] {
    return f.d.write([&](storage::WriteTxn& txn) {
      return f.intros.expire_undelivered(txn, f.d.clock.now_ms(),
                                         f.intros.settings().deliver_within);
    });
  };
  REQUIRE(f.d.write([&](storage::WriteTxn& txn) { return f.intros.index_existing(txn); }) == 0);
  auto first = f.create();
  auto declined = f.create();
  auto delivered = f.create();
  auto peer = f.create("osaka.relaynode", "peer-ref-1");
  REQUIRE((first && declined && delivered && peer));
  CHECK(waiting() == 4);  // all requested
  REQUIRE(f.step([&](auto& t) { return f.intros.decline(t, declined->id); }));
  REQUIRE(f.accept(delivered->id));
  REQUIRE(f.deliver(delivered->id));
  REQUIRE(f.accept(peer->id));
  CHECK(waiting() == 2);  // first (requested), peer (accepted, not delivered)

  f.d.clock.advance(kDay);
  auto later = f.create();
  REQUIRE(later);
  f.d.clock.advance(13 * kDay);  // 14 days after the first request, 13 after the later one
  CHECK(expire() == std::vector<std::string>{first->id});
  CHECK(expire_undelivered() == std::vector<std::string>{peer->id});
  CHECK(waiting() == 1);
  CHECK(expire().empty());
  CHECK(expire_undelivered().empty());

  // A data directory from before the index: the later one is not swept until indexed (the
  // sweep reads the index only), then is, once.
  f.d.write([&](storage::WriteTxn& txn) {
    txn.clear(f.d.env.database("introductions_waiting"));
    txn.del(f.d.env.database(relay::node::storage::kIndexMarks), "introductions_waiting");
    return 0;
  });
  f.d.clock.advance(kDay);
  CHECK(expire().empty());
  CHECK(f.d.write([&](storage::WriteTxn& txn) { return f.intros.index_existing(txn); }) == 1);
  CHECK(f.d.write([&](storage::WriteTxn& txn) { return f.intros.index_existing(txn); }) == 0);
  CHECK(waiting() == 1);
  CHECK(expire() == std::vector<std::string>{later->id});
  CHECK(waiting() == 0);
  CHECK(f.balance() == 6 - 5 + 4);  // 5 spent; declined, first, peer and later refunded
  f.audit_agrees();
}

TEST_CASE("introductions: every refund path gives the credit back once, naming the introduction") {
  Fixture f(5);
  auto declined = f.create();
  auto timed_out = f.create();
  auto withdrawn = f.create();
  auto erased = f.create();
  auto undelivered = f.create("osaka.relaynode", "peer-ref-1");
  REQUIRE((declined && timed_out && withdrawn && erased && undelivered));
  CHECK(undelivered->kind == intro::IntroductionKind::peer);
  CHECK(f.balance() == 0);

  // Declined by the candidate.
  auto d1 = f.step([&](auto& t) { return f.intros.decline(t, declined->id); });
  REQUIRE(d1);
  CHECK(d1->state == intro::IntroductionState::declined);
  CHECK(f.balance() == 1);
  CHECK(f.step([&](auto& t) { return f.intros.decline(t, declined->id); }).error().code ==
        Code::conflict);
  CHECK(f.balance() == 1);

  // Withdrawn and erased after acceptance, before delivery.
  REQUIRE(f.accept(withdrawn->id));
  REQUIRE(f.step([&](auto& t) { return f.intros.withdraw(t, withdrawn->id); }));
  REQUIRE(f.step([&](auto& t) { return f.intros.erase(t, erased->id); }));
  CHECK(f.balance() == 3);

  // Peer never delivers: accepted on the holder's side, then the horizon passes.
  REQUIRE(f.accept(undelivered->id));
  f.d.clock.advance(6 * kDay);
  auto none_yet = f.d.write([&](storage::WriteTxn& txn) {
    return f.intros.expire_undelivered(txn, f.d.clock.now_ms(), f.intros.settings().deliver_within);
  });
  CHECK(none_yet.empty());
  f.d.clock.advance(2 * kDay);  // 8 days after acceptance
  auto ended = f.d.write([&](storage::WriteTxn& txn) {
    return f.intros.expire_undelivered(txn, f.d.clock.now_ms(), f.intros.settings().deliver_within);
  });
  CHECK(ended == std::vector<std::string>{undelivered->id});
  CHECK(f.balance() == 4);

  // No answer within 14 days: expired. Nothing expires a day early.
  f.d.clock.advance(5 * kDay);  // 13 days after the request
  auto early = f.d.write([&](storage::WriteTxn& txn) {
    return f.intros.expire(txn, f.d.clock.now_ms(), f.intros.settings().answer_within);
  });
  CHECK(early.empty());
  // Made in the same millisecond as the first, timed_out was recorded 1 ms after it (the order
  // made: storage::next_time), and is due as much later.
  f.d.clock.advance(kDay + std::chrono::milliseconds(1));
  auto expired = f.d.write([&](storage::WriteTxn& txn) {
    return f.intros.expire(txn, f.d.clock.now_ms(), f.intros.settings().answer_within);
  });
  CHECK(expired == std::vector<std::string>{timed_out->id});
  CHECK(f.balance() == 5);
  auto again = f.d.write([&](storage::WriteTxn& txn) {
    return f.intros.expire(txn, f.d.clock.now_ms(), f.intros.settings().answer_within);
  });
  CHECK(again.empty());

  // One refund for each, with its reason.
  auto txn = f.d.env.begin_read();
  std::map<std::string, std::string> reasons;
  for (std::uint64_t i = 0; i < f.d.ledger.size(txn); ++i) {
    auto j = nlohmann::json::parse(*f.d.ledger.entry(txn, i));
    if (j["kind"] == "credit_refunded") reasons[j["data"]["introduction"]] = j["data"]["reason"];
  }
  CHECK(reasons == std::map<std::string, std::string>{{declined->id, "declined"},
                                                      {timed_out->id, "expired"},
                                                      {withdrawn->id, "withdrawn"},
                                                      {erased->id, "erased"},
                                                      {undelivered->id, "undelivered"}});
  f.audit_agrees();
}

TEST_CASE("introductions: after delivery nothing refunds; a local one is never undelivered") {
  Fixture f(2);
  auto id = f.delivered();
  CHECK(f.step([&](auto& t) { return f.intros.withdraw(t, id); }).error().code == Code::conflict);
  CHECK(f.step([&](auto& t) { return f.intros.erase(t, id); }).error().code == Code::conflict);
  CHECK(f.step([&](auto& t) { return f.intros.decline(t, id); }).error().code == Code::conflict);
  auto local = f.create();
  REQUIRE(f.accept(local->id));
  CHECK(f.step([&](auto& t) { return f.intros.undelivered(t, local->id); }).error().code ==
        Code::conflict);
  CHECK(f.deliver(id).error().code == Code::conflict);
  CHECK(f.step([&](auto& t) { return f.intros.accept(t, "i_missing"); }).error().code ==
        Code::not_found);
  CHECK(f.balance() == 0);
  f.audit_agrees();
}

TEST_CASE("introductions: outcomes in order, only by the member that received it") {
  Fixture f(3);
  auto other = f.d.admit("Nosy KK").member.id;

  SUBCASE("hired before the introduction was accepted or delivered: conflict") {
    auto i = f.create();
    CHECK(f.outcome(i->id, Outcome::hired).error().code == Code::conflict);
    REQUIRE(f.accept(i->id));
    CHECK(f.outcome(i->id, Outcome::hired).error().code == Code::conflict);
  }
  SUBCASE("another member's introduction: not_found, as if absent") {
    auto id = f.delivered();
    CHECK(f.outcome(id, Outcome::hired, "", other).error().code == Code::not_found);
    CHECK(f.outcome("i_nope", Outcome::hired).error().code == Code::not_found);
  }

  auto id = f.delivered();
  const auto size = f.d.ledger_size();
  REQUIRE(f.outcome(id, Outcome::interview));
  CHECK(f.outcome(id, Outcome::interview).error().code == Code::conflict);    // twice
  CHECK(f.outcome(id, Outcome::retained_3m).error().code == Code::conflict);  // before hired
  CHECK(f.outcome(id, Outcome::left, "pay").error().code == Code::conflict);  // before hired
  REQUIRE(f.outcome(id, Outcome::offer));
  CHECK(f.outcome(id, Outcome::hired, "free text about the person").error().code == Code::invalid);
  REQUIRE(f.outcome(id, Outcome::hired));
  CHECK(f.outcome(id, Outcome::not_hired).error().code == Code::conflict);
  CHECK(f.outcome(id, Outcome::offer).error().code == Code::conflict);
  // Retention: not before its months, not out of order.
  CHECK(f.outcome(id, Outcome::retained_3m).error().code == Code::conflict);
  f.d.clock.advance(91 * kDay);
  CHECK(f.outcome(id, Outcome::retained_6m).error().code == Code::conflict);
  REQUIRE(f.outcome(id, Outcome::retained_3m));
  f.d.clock.advance(90 * kDay);
  REQUIRE(f.outcome(id, Outcome::retained_6m));
  CHECK(f.outcome(id, Outcome::left).error().code == Code::invalid);  // needs a reason code
  auto left = f.outcome(id, Outcome::left, "relocation");
  REQUIRE(left);
  CHECK(f.outcome(id, Outcome::retained_12m).error().code == Code::conflict);  // left already
  CHECK(left->outcomes.size() == 6);
  CHECK(f.d.ledger_size() == size + 6);  // one introduction_outcome per accepted report
  CHECK(f.count("introduction_outcome") == 6);
  f.audit_agrees();
}

TEST_CASE("introductions: due lists outcomes, then each retention check, when it falls due") {
  Fixture f(2);
  auto id = f.delivered();
  auto due = [&] {
    auto txn = f.d.env.begin_read();
    return f.intros.due(txn, f.member, f.d.clock.now_ms());
  };
  CHECK(due().empty());
  f.d.clock.advance(30 * kDay);
  auto d1 = due();
  REQUIRE(d1.size() == 1);
  CHECK(d1[0].what == "outcome");
  CHECK(d1[0].introduction == id);
  CHECK(d1[0].requisition == f.requisition);
  REQUIRE(f.outcome(id, Outcome::hired));
  CHECK(due().empty());
  f.d.clock.advance(90 * kDay);
  REQUIRE(due().size() == 1);
  CHECK(due()[0].what == "retained_3m");
  REQUIRE(f.outcome(id, Outcome::retained_3m));
  CHECK(due().empty());
  f.d.clock.advance(90 * kDay);
  CHECK(due()[0].what == "retained_6m");
  REQUIRE(f.outcome(id, Outcome::retained_6m));
  f.d.clock.advance(180 * kDay);
  CHECK(due()[0].what == "retained_12m");
  REQUIRE(f.outcome(id, Outcome::retained_12m));
  CHECK(due().empty());
  // Another member sees none of it.
  auto other = f.d.admit("Other KK").member.id;
  auto txn = f.d.env.begin_read();
  CHECK(f.intros.due(txn, other, f.d.clock.now_ms()).empty());
}

TEST_CASE("introductions: a member's pages in the order asked, from their own index, built once") {
  Fixture f(12);
  // As at a node's first start: every build marked done.
  CHECK(f.d.write([&](storage::WriteTxn& txn) { return f.intros.index_existing(txn); }) == 0);
  auto other = f.d.admit("Other Hire KK").member.id;
  REQUIRE(f.d.write([&](storage::WriteTxn& txn) { return f.d.credits.grant(txn, other, 2, "p"); }));
  auto theirs_requisition = f.open_requisition(other);
  // Ten of f.member's, two of them asked in the same millisecond, and two of another's (both at
  // once): listed in the order asked all the same.
  std::vector<std::string> made;
  for (int i = 0; i < 10; ++i) {
    if (i != 5) f.d.clock.advance(std::chrono::milliseconds(1000));
    auto r = f.create();
    REQUIRE(r);
    made.push_back(r->id);
  }
  std::vector<std::string> theirs;
  for (int i = 0; i < 2; ++i) {
    auto r = f.d.write([&](storage::WriteTxn& txn) {
      return f.intros.create(txn, other, theirs_requisition, "local",
                             "their-ref-" + std::to_string(i));
    });
    REQUIRE(r);
    theirs.push_back(r->id);
  }
  auto ids = [](const std::vector<intro::Introduction>& list) {
    std::vector<std::string> out;
    for (const auto& i : list) out.push_back(i.id);
    return out;
  };
  // Pages of f.member's alone (their totals too), oldest first or newest first.
  auto walk = [&](std::size_t limit, bool newest_first = false) {
    auto txn = f.d.env.begin_read();
    return relay::test::walk_record_pages(limit, [&](const std::string& after) {
      auto page = f.intros.page(txn, f.member, limit, after, newest_first);
      if (page)
        for (const auto& i : page->records) CHECK(i.member == f.member);
      return page;
    });
  };
  {
    auto txn = f.d.env.begin_read();
    CHECK(ids(f.intros.page(txn, f.member, 1000, "")->records) == made);
    CHECK(ids(f.intros.page(txn, other, 1000, "")->records) == theirs);
    CHECK_FALSE(f.intros.page(txn, f.member, 3, theirs[0]));  // another member's
    CHECK_FALSE(f.intros.page(txn, f.member, 3, "i_nosuchintroduction"));
    auto last = f.intros.page(txn, f.member, 3, made.back());
    REQUIRE(last);
    CHECK(last->records.empty());
    CHECK_FALSE(last->more);
  }
  for (std::size_t limit : {1, 3, 4, 10, 100}) CHECK_MESSAGE(walk(limit) == made, limit);
  // Last asked first (?order=newest): the same from the other end.
  for (std::size_t limit : {1, 3, 10})
    CHECK_MESSAGE(walk(limit, true) == std::vector<std::string>(made.rbegin(), made.rend()), limit);
  // A state change keeps its place (the key is the request's time).
  REQUIRE(f.accept(made[2]));
  CHECK(walk(4) == made);
  // An older data directory: its index keyed by id alone, no mark; the start-up build gives
  // the same pages and empties the old index.
  f.d.write([&](storage::WriteTxn& txn) {
    txn.clear(f.d.env.database("member_introductions_by_time"));
    txn.del(f.d.env.database(storage::kIndexMarks), "member_introductions_by_time");
    txn.put(f.d.env.database("member_introductions"), f.member + "/" + made[0], "");
  });
  CHECK(walk(3).empty());
  CHECK(f.d.write([&](storage::WriteTxn& txn) { return f.intros.index_existing(txn); }) == 12);
  CHECK(walk(3) == made);
  CHECK(f.d.env.begin_read().count(f.d.env.database("member_introductions")) == 0);
  CHECK(f.d.write([&](storage::WriteTxn& txn) { return f.intros.index_existing(txn); }) == 0);
}

TEST_CASE(
    "introductions: due() reads only those that may still fall due, indexed once for old data") {
  Fixture f(6);
  // As at a node's first start: every build marked done.
  CHECK(f.d.write([&](storage::WriteTxn& txn) { return f.intros.index_existing(txn); }) == 0);
  REQUIRE(f.create());             // requested: nothing due
  auto waiting = f.delivered();    // its outcome falls due
  auto not_hired = f.delivered();  // reported not hired: nothing more
  auto hired = f.delivered();      // hired: the retention checks fall due
  auto left = f.delivered();       // hired, then left: nothing more
  REQUIRE(f.outcome(not_hired, Outcome::not_hired));
  REQUIRE(f.outcome(hired, Outcome::hired));
  REQUIRE(f.outcome(left, Outcome::hired));
  REQUIRE(f.outcome(left, Outcome::left, "relocation"));
  auto indexed = [&] {
    std::set<std::string> out;
    auto txn = f.d.env.begin_read();
    txn.for_each_prefix(f.d.env.database("introductions_reporting"), f.member + "/",
                        [&](std::string_view key, std::string_view) {
                          out.emplace(key.substr(f.member.size() + 1));
                        });
    return out;
  };
  CHECK(indexed() == std::set<std::string>{waiting, hired});
  f.d.clock.advance(100 * kDay);
  auto due = [&] {
    std::map<std::string, std::string> out;
    auto txn = f.d.env.begin_read();
    for (const auto& d : f.intros.due(txn, f.member, f.d.clock.now_ms()))
      out[d.introduction] = d.what;
    return out;
  };
  const std::map<std::string, std::string> expected{{waiting, "outcome"}, {hired, "retained_3m"}};
  CHECK(due() == expected);
  // An older data directory: no index, no mark; due() finds nothing until the start-up build.
  f.d.write([&](storage::WriteTxn& txn) {
    txn.clear(f.d.env.database("introductions_reporting"));
    txn.del(f.d.env.database(storage::kIndexMarks), "introductions_reporting");
  });
  CHECK(due().empty());
  CHECK(f.d.write([&](storage::WriteTxn& txn) { return f.intros.index_existing(txn); }) == 2);
  CHECK(due() == expected);
  // The last report leaves the index.
  REQUIRE(f.outcome(waiting, Outcome::not_hired));
  CHECK(indexed() == std::set<std::string>{hired});
}

TEST_SUITE_END();
