// audit: balances recomputed from the events, the credit rules, and the comparison with the
// node's own balances (synthetic exports, verified end to end by verify_log).
#include "audit/balance_book.hpp"

#include <doctest/doctest.h>

#include "audit/export_dir_source.hpp"
#include "audit/log_verifier.hpp"
#include "audit/synthetic_log.hpp"
#include "protocol/event.hpp"

namespace fs = std::filesystem;
using relay::audit::VerifyReport;
using relay::test::SyntheticLog;
using relay::test::TempDir;
using relay::test::write_text;
namespace protocol = relay::protocol;

using relay::test::problems_text;
using relay::test::verify_export;

TEST_SUITE_BEGIN("audit");

TEST_CASE("balance book: the node's balances must equal the recomputed ones") {
  TempDir dir("audit-balances");
  SyntheticLog log(2);
  auto acme = log.admit("acme");
  for (int i = 0; i < 5; ++i) log.refer(acme);
  log.spend(acme);

  SUBCASE("equal") {
    CHECK(verify_export(log, dir.path).ok());
  }
  SUBCASE("a balance differs") {
    log.balances()[acme].balance = 3;
    auto report = verify_export(log, dir.path);
    INFO(problems_text(report));
    CHECK(report.problems.total() == 1);
    CHECK(report.problems.kept().at(0).text() == "member m_acme: balance 3 in node, 1 recomputed");
  }
  SUBCASE("every field is compared") {
    log.balances()[acme] = {9, 8, 7, 6, 0, 0};
    auto report = verify_export(log, dir.path);
    CHECK(report.problems.mentions("member m_acme: verified_referrals 9 in node, 5 recomputed"));
    CHECK(report.problems.mentions("member m_acme: credits_minted 8 in node, 2 recomputed"));
    CHECK(report.problems.mentions("member m_acme: credits_spent 7 in node, 1 recomputed"));
    CHECK(report.problems.mentions("member m_acme: balance 6 in node, 1 recomputed"));
  }
  SUBCASE("a member only one side knows") {
    log.balances()["m_ghost"] = {};
    log.balances().erase(acme);
    auto report = verify_export(log, dir.path);
    CHECK(report.problems.mentions(
        "member m_ghost: in the node's balances, never admitted in the log"));
    CHECK(report.problems.mentions(
        "member m_acme: admitted in the log, missing from the node's balances"));
  }
  SUBCASE("the node's balances as of an earlier size are compared there") {
    const auto earlier = log.balances_file();  // as of 10 entries
    log.refer(acme);
    log.refer(acme);  // and a mint
    log.write(dir.path);
    write_text(dir.path / "balances.json", earlier);
    relay::audit::ExportDirSource source(dir.path);
    auto report = relay::audit::verify_log(source, {});
    INFO(problems_text(report));
    CHECK(report.ok());
    CHECK(report.node_balances_at == 10);
    CHECK(report.balances.at(acme).balance == 2);
  }
  SUBCASE("a malformed balances document") {
    log.write(dir.path);
    write_text(dir.path / "balances.json", "{\"ledger_size\":9}\n");
    relay::audit::ExportDirSource source(dir.path);
    auto report = relay::audit::verify_log(source, {});
    CHECK(report.problems.mentions("balances.json: expected exactly"));
  }
}

TEST_CASE("balance book: the floor rule") {
  TempDir dir("audit-floor");
  SyntheticLog log(3);
  auto acme = log.admit("acme");
  log.refer(acme);
  log.refer(acme);

  SUBCASE("a credit minted before it is due") {
    log.append(protocol::credit_minted(acme, 1, 1));
    log.balances()[acme] = {2, 1, 0, 1, 0, 0};
    auto report = verify_export(log, dir.path);
    INFO(problems_text(report));
    CHECK(report.problems.total() == 1);
    CHECK(
        report.problems.kept().at(0).text() ==
        "entry 4: member m_acme: credit_minted breaks the floor rule (1 minted, floor(2 / 3) = 0)");
  }
  SUBCASE("a credit due but never minted") {
    log.balances()[acme].verified_referrals = 3;
    log.append(protocol::referral_verified(acme, "r3", "cand3", true, 3));
    log.admit("later");
    auto report = verify_export(log, dir.path);
    INFO(problems_text(report));
    CHECK(report.problems.total() == 1);
    CHECK(report.problems.kept().at(0).text() ==
          "entry 4: member m_acme: floor(3 / 3) = 1 credits due after this referral, 0 minted");
  }
  SUBCASE("a credit due at the end of the log") {
    log.balances()[acme].verified_referrals = 3;
    log.append(protocol::referral_verified(acme, "r3", "cand3", true, 3));
    auto report = verify_export(log, dir.path);
    CHECK(report.problems.mentions("entry 4: member m_acme: floor(3 / 3) = 1 credits due"));
  }
  SUBCASE("the event's own fields must agree") {
    log.refer(acme);  // entry 4 (referral), entry 5 (mint)
    log.entries().resize(5);
    log.append(protocol::credit_minted(acme, 2, 7));
    auto report = verify_export(log, dir.path);
    INFO(problems_text(report));
    CHECK(report.problems.mentions("entry 5: member m_acme: minted_total 2, recomputed 1"));
    CHECK(report.problems.mentions("entry 5: member m_acme: balance 7, recomputed 1"));
  }
  SUBCASE("counted_total must be the member's count") {
    log.append(protocol::referral_verified(acme, "r3", "cand9", false, 5));
    auto report = verify_export(log, dir.path);
    CHECK(report.problems.mentions("entry 4: member m_acme: counted_total 5, recomputed 2"));
  }
}

TEST_CASE("balance book: spending, suspension, duplicates, unknown members") {
  TempDir dir("audit-rules");
  SyntheticLog log(1);
  auto acme = log.admit("acme");

  SUBCASE("a credit spent with none left") {
    log.spend(acme);
    auto report = verify_export(log, dir.path);
    CHECK(report.problems.total() == 1);
    CHECK(report.problems.mentions(
        "entry 2: member m_acme: credit spent with no credit left (balance -1)"));
  }
  SUBCASE("a referral counted while the member is suspended") {
    log.append(protocol::member_suspended(acme));
    log.refer(acme);
    auto report = verify_export(log, dir.path);
    CHECK(report.problems.total() == 1);
    CHECK(report.problems.mentions(
        "entry 3: member m_acme: referral counted while the member is suspended"));
    log.entries().resize(3);
    log.balances()[acme] = {};
    log.refer(acme, false);  // uncounted while suspended: right
    log.append(protocol::member_reinstated(acme));
    log.refer(acme);
    CHECK(verify_export(log, dir.path).ok());
  }
  SUBCASE("the same candidate counted twice for a member") {
    log.append(protocol::referral_verified(acme, "r1", "same", true, 1));
    log.append(protocol::credit_minted(acme, 1, 1));
    log.append(protocol::referral_verified(acme, "r2", "same", true, 2));
    log.append(protocol::credit_minted(acme, 2, 2));
    log.balances()[acme] = {2, 2, 0, 2, 0, 0};
    auto report = verify_export(log, dir.path);
    INFO(problems_text(report));
    CHECK(report.problems.total() == 1);
    CHECK(report.problems.mentions("entry 4: member m_acme: candidate same counted a second time"));
  }
  SUBCASE("events for members never admitted, or admitted twice") {
    log.append(protocol::credit_spent("m_nobody", "p", 0));
    log.append(protocol::member_admitted(acme, "acme again"));
    auto report = verify_export(log, dir.path);
    CHECK(report.problems.mentions("entry 2: credit_spent names member m_nobody, never admitted"));
    CHECK(report.problems.mentions("entry 3: member m_acme admitted twice"));
  }
  SUBCASE("malformed event data") {
    log.append(protocol::Event{"credit_minted",
                               {{"member", acme}, {"minted_total", "one"}, {"balance", 1}}});
    log.append(protocol::Event{"referral_verified", {{"member", 7}}});
    auto report = verify_export(log, dir.path);
    CHECK(report.problems.mentions(
        "entry 2: credit_minted: data.minted_total is missing or not an unsigned integer"));
    CHECK(report.problems.mentions(
        "entry 3: referral_verified: data.member is missing or not a string"));
  }
}

TEST_CASE("balance book: a changed ratio mints up to floor(counted / ratio), never takes back") {
  TempDir dir("audit-ratio");
  SyntheticLog log(10);
  auto acme = log.admit("acme");
  for (int i = 0; i < 9; ++i) log.refer(acme);
  log.change_ratio(2);  // 9 counted: 4 due, minted at the next counted referral
  log.refer(acme);      // 10 counted: five credits at once
  CHECK(log.balances()[acme].credits_minted == 5);
  log.change_ratio(10);  // nothing is taken back
  log.refer(acme);
  log.spend(acme);
  auto report = verify_export(log, dir.path);
  INFO(problems_text(report));
  CHECK(report.ok());
  CHECK(report.balances.at(acme) == relay::audit::MemberBalance{11, 5, 1, 4, 0, 0});
}

TEST_CASE("balance book: node balances documents") {
  auto parsed = relay::audit::parse_node_balances(
      R"({"ledger_size":4,"members":{"m_a":{"balance":-1,"credits_minted":0,"credits_spent":1,"verified_referrals":2}}})",
      false);
  REQUIRE(parsed.balances);
  CHECK(parsed.balances->ledger_size == 4);
  CHECK(parsed.balances->members.at("m_a") == relay::audit::MemberBalance{2, 0, 1, -1, 0, 0});
  CHECK_FALSE(
      relay::audit::parse_node_balances(R"({"ledger_size":4,"members":{}})", true).balances);
  CHECK(relay::audit::parse_node_balances("{\"ledger_size\":4,\"members\":{}}\n", true).balances);
  CHECK_FALSE(
      relay::audit::parse_node_balances(R"({"ledger_size":4,"members":{},"x":1})", false).balances);
  CHECK_FALSE(
      relay::audit::parse_node_balances(R"({"ledger_size":4,"members":{"m":{"balance":1}}})", false)
          .balances);
}

TEST_SUITE_END();
