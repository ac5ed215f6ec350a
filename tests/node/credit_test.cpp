// Credit accounts: spend, refund and grant (issue 14), each with its ledger entry in the same
// txn, and the auditor's recomputation of the node's own ledger agreeing with the accounts.
// The race: N threads spend the last credit through one real Writer; exactly one wins.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "domain_fixture.hpp"
#include "ledger_audit.hpp"
#include "protocol/event.hpp"

using relay::test::Domain;
namespace referrals = relay::node::referrals;
namespace storage = relay::node::storage;
namespace protocol = relay::protocol;

namespace {

// The node's first entry, as node.cpp writes it, so the auditor knows the ratio.
void init_ledger(Domain& d, std::uint32_t ratio) {
  d.write([&](storage::WriteTxn& txn) {
    auto keys = d.keys.current();
    d.ledger.append(txn, protocol::node_initialised("JP-28", ratio, keys->signing.public_key,
                                                    keys->encryption.public_key));
  });
}

referrals::Account account(Domain& d, const std::string& member) {
  auto txn = d.env.begin_read();
  return d.credits.account(txn, member);
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

}  // namespace

TEST_SUITE_BEGIN("node");

TEST_CASE("credits: grant, spend and refund keep balance = minted + granted - spent + refunded") {
  Domain d(1);
  init_ledger(d, 1);
  auto m = d.admit("Credit KK").member;
  d.write([&](storage::WriteTxn& txn) {
    return d.credits.record_verified(txn, m.id, "r1", "cand1", true);
  });  // minted 1
  auto granted = d.write([&](storage::WriteTxn& txn) {
    return d.credits.grant(txn, m.id, 2, "神戸市 再就職支援プログラム 2026");
  });
  REQUIRE(granted);
  CHECK(granted->balance() == 3);

  auto spent = d.write([&](storage::WriteTxn& txn) { return d.credits.spend(txn, m.id, "i1"); });
  REQUIRE(spent);
  CHECK(spent->balance() == 2);
  CHECK(spent->spent == 1);

  SUBCASE("a second spend on the same introduction is refused") {
    auto again = d.write([&](storage::WriteTxn& txn) { return d.credits.spend(txn, m.id, "i1"); });
    REQUIRE_FALSE(again);
    CHECK(again.error() == referrals::SpendError::already_spent);
  }

  auto refunded = d.write([&](storage::WriteTxn& txn) {
    return d.credits.refund(txn, m.id, "i1", protocol::refund_reason::declined);
  });
  REQUIRE(refunded);
  CHECK(refunded->balance() == 3);
  CHECK(refunded->refunded == 1);

  SUBCASE("refunds: only of a spend, only once, only for a known reason; nothing written") {
    const auto size = d.ledger_size();
    auto twice = d.write([&](storage::WriteTxn& txn) {
      return d.credits.refund(txn, m.id, "i1", protocol::refund_reason::declined);
    });
    REQUIRE_FALSE(twice);
    CHECK(twice.error() == referrals::RefundError::already_refunded);
    auto never = d.write([&](storage::WriteTxn& txn) {
      return d.credits.refund(txn, m.id, "i-never", protocol::refund_reason::declined);
    });
    REQUIRE_FALSE(never);
    CHECK(never.error() == referrals::RefundError::not_spent);
    auto other = d.admit("Other KK").member;
    auto not_theirs = d.write([&](storage::WriteTxn& txn) {
      return d.credits.refund(txn, other.id, "i1", protocol::refund_reason::declined);
    });
    REQUIRE_FALSE(not_theirs);
    CHECK(not_theirs.error() == referrals::RefundError::not_spent);
    auto reason =
        d.write([&](storage::WriteTxn& txn) { return d.credits.refund(txn, m.id, "i1", "hired"); });
    REQUIRE_FALSE(reason);
    CHECK(reason.error() == referrals::RefundError::bad_reason);
    CHECK(d.ledger_size() == size + 1);  // only Other KK's admission
  }
  SUBCASE("grants: a count of 1..1000 and a clean reason") {
    const auto size = d.ledger_size();
    auto zero = d.write([&](storage::WriteTxn& txn) { return d.credits.grant(txn, m.id, 0, "x"); });
    CHECK(zero.error() == referrals::GrantError::bad_count);
    auto many =
        d.write([&](storage::WriteTxn& txn) { return d.credits.grant(txn, m.id, 1001, "x"); });
    CHECK(many.error() == referrals::GrantError::bad_count);
    auto blank =
        d.write([&](storage::WriteTxn& txn) { return d.credits.grant(txn, m.id, 1, "  "); });
    CHECK(blank.error() == referrals::GrantError::bad_reason);
    CHECK(d.ledger_size() == size);
  }

  // The account, its JSON view, its history and the auditor agree.
  auto a = account(d, m.id);
  CHECK(a.minted == 1);
  CHECK(a.granted == 2);
  CHECK(a.spent == 1);
  CHECK(a.refunded == 1);
  CHECK(a.balance() == 3);
  auto json = a.to_json();
  CHECK(json == nlohmann::json{{"verified_referrals", 1},
                               {"credits_minted", 1},
                               {"credits_spent", 1},
                               {"balance", 3},
                               {"credits_granted", 2},
                               {"credits_refunded", 1}});
  {
    auto txn = d.env.begin_read();
    auto history = d.credits.history(txn, m.id, 10);
    REQUIRE(history.size() == 6);  // held, counted, minted, granted, spent, refunded
    CHECK(history[0]["kind"] == "credit_refunded");
    CHECK(history[0]["reason"] == "declined");
    CHECK(history[1]["kind"] == "credit_spent");
    CHECK(history[1]["introduction"] == "i1");
    CHECK(history[2]["kind"] == "credit_granted");
    CHECK(history[2]["credits"] == 2);
  }
  auto audited = relay::test::audit_ledger(d.env, d.ledger);
  INFO(joined(audited.problems));
  CHECK(audited.problems.empty());
  const auto& b = audited.balances.at(m.id);
  CHECK(b.balance == a.balance());
  CHECK(b.credits_granted == a.granted);
  CHECK(b.credits_refunded == a.refunded);
  CHECK(b.credits_spent == a.spent);
}

TEST_CASE("credits: the history read again is the history as it now stands") {
  // history_array keeps its text while the member's newest item stands. Each read here must
  // show what the txn holds: after every append, and after an append read and rolled back
  // whose sequence number the next committed item takes.
  Domain d;
  auto m = d.admit("History KK").member;
  auto read = [&](std::size_t limit) {
    auto txn = d.env.begin_read();
    return nlohmann::json::parse(*d.credits.history_array(txn, m.id, limit));
  };
  CHECK(read(200) == nlohmann::json::array());
  for (int i = 1; i <= 3; ++i) {
    REQUIRE(d.write([&](storage::WriteTxn& txn) {
      return d.credits.grant(txn, m.id, 1, "grant " + std::to_string(i));
    }));
    auto history = read(200);
    REQUIRE(history.size() == static_cast<std::size_t>(i));
    CHECK(history[0]["reason"] == "grant " + std::to_string(i));
    CHECK(history[0]["balance"] == i);
  }
  CHECK(read(2).size() == 2);  // another limit, another array
  CHECK(read(200).size() == 3);

  // Read inside a write txn that then rolls back: its item never shows in a read txn.
  auto seen = d.write([&](storage::WriteTxn& txn) -> std::string {
    REQUIRE(d.credits.grant(txn, m.id, 5, "rolled back"));
    auto inside = d.credits.history_array(txn, m.id, 200);
    throw storage::Rollback<std::string>{*inside};
  });
  CHECK(nlohmann::json::parse(seen)[0]["reason"] == "rolled back");
  REQUIRE(d.write([&](storage::WriteTxn& txn) { return d.credits.grant(txn, m.id, 1, "kept"); }));
  auto history = read(200);
  REQUIRE(history.size() == 4);
  CHECK(history[0]["reason"] == "kept");
  CHECK(history[0]["balance"] == 4);
  // The other members' histories are their own.
  auto other = d.admit("Other KK").member;
  auto txn = d.env.begin_read();
  CHECK(*d.credits.history_array(txn, other.id, 200) == "[]");
}

TEST_CASE("credits: spending with no credit is refused and writes nothing") {
  Domain d;
  auto m = d.admit("Empty KK").member;
  const auto size = d.ledger_size();
  auto r = d.write([&](storage::WriteTxn& txn) { return d.credits.spend(txn, m.id, "i1"); });
  REQUIRE_FALSE(r);
  CHECK(r.error() == referrals::SpendError::no_credit);
  CHECK(referrals::to_string(r.error()) == "no_credit");
  CHECK(d.ledger_size() == size);
  CHECK(account(d, m.id).spent == 0);
}

TEST_CASE("credits: N parallel spends of the last credit through the Writer: exactly one wins") {
  constexpr int kThreads = 16;
  Domain d;
  auto m = d.admit("Race KK").member;
  REQUIRE(
      d.write([&](storage::WriteTxn& txn) { return d.credits.grant(txn, m.id, 1, "programme"); }));

  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<int> outcome(kThreads, -1);  // 1 = spent, 0 = no_credit, 2 = other
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (!go.load()) std::this_thread::yield();
      auto r = d.writer.submit_wait([&, i](storage::WriteTxn& txn) {
        return d.credits.spend(txn, m.id, "intro-" + std::to_string(i));
      });
      outcome[i] = r ? 1 : (r.error() == referrals::SpendError::no_credit ? 0 : 2);
    });
  }
  while (ready.load() < kThreads) std::this_thread::yield();
  go = true;
  for (auto& t : threads) t.join();

  CHECK(std::count(outcome.begin(), outcome.end(), 1) == 1);
  CHECK(std::count(outcome.begin(), outcome.end(), 0) == kThreads - 1);
  auto a = account(d, m.id);
  CHECK(a.spent == 1);
  CHECK(a.balance() == 0);
  auto audited = relay::test::audit_ledger(d.env, d.ledger);
  CHECK(std::count(audited.kinds.begin(), audited.kinds.end(), "credit_spent") == 1);
  CHECK(audited.balances.at(m.id).balance == 0);
}

TEST_SUITE_END();
