// audit: the credit rules for spends, refunds and grants (issue 14, item 7):
//   balance = minted + granted - spent + refunded, no spend below zero, every refund names an
//   earlier spend of that member and refunds it at most once. Each rule is broken once in a
//   synthetic log and the auditor must name the entry.
#include <doctest/doctest.h>

#include "audit/balance_book.hpp"
#include "audit/export_dir_source.hpp"
#include "audit/log_verifier.hpp"
#include "audit/synthetic_log.hpp"
#include "protocol/event.hpp"

namespace fs = std::filesystem;
using relay::audit::VerifyReport;
using relay::test::SyntheticLog;
using relay::test::TempDir;
namespace protocol = relay::protocol;

using relay::test::problems_text;
using relay::test::verify_export;

TEST_SUITE_BEGIN("audit");

TEST_CASE("credit rules: minted + granted - spent + refunded, recomputed and compared") {
  TempDir dir("audit-credit-rules");
  SyntheticLog log(2);
  auto acme = log.admit("acme");
  auto beta = log.admit("beta");
  for (int i = 0; i < 4; ++i) log.refer(acme);                // 2 minted
  log.grant(acme, 3);                                         // 5
  auto first = log.spend(acme);                               // 4
  auto second = log.spend(acme);                              // 3
  log.refund(acme, first, protocol::refund_reason::expired);  // 4
  log.grant(beta, 1);
  auto beta_spend = log.spend(beta);
  log.refund(beta, beta_spend, protocol::refund_reason::undelivered);
  (void)second;

  auto report = verify_export(log, dir.path);
  INFO(problems_text(report));
  CHECK(report.ok());
  CHECK(report.balances.at(acme) == relay::audit::MemberBalance{4, 2, 2, 4, 3, 1});
  CHECK(report.balances.at(beta) == relay::audit::MemberBalance{0, 0, 1, 1, 1, 1});

  SUBCASE("reports show granted and refunded only where not zero") {
    auto acme_json = report.balances.at(acme).to_json();
    CHECK(acme_json.at("credits_granted") == 3);
    CHECK(acme_json.at("credits_refunded") == 1);
    auto plain = relay::audit::MemberBalance{2, 1, 0, 1, 0, 0}.to_json();
    CHECK(plain == nlohmann::json{{"verified_referrals", 2},
                                  {"credits_minted", 1},
                                  {"credits_spent", 0},
                                  {"balance", 1}});
  }
  SUBCASE("the node's granted and refunded counts are compared too") {
    log.balances()[acme].credits_granted = 9;
    log.balances()[acme].credits_refunded = 0;
    auto wrong = verify_export(log, dir.path);
    CHECK(wrong.problems.mentions("member m_acme: credits_granted 9 in node, 3 recomputed"));
    CHECK(wrong.problems.mentions("member m_acme: credits_refunded 0 in node, 1 recomputed"));
  }
}

TEST_CASE("credit rules: each violation is named with its entry") {
  TempDir dir("audit-credit-violations");
  SyntheticLog log(1);
  auto acme = log.admit("acme");  // entry 1
  auto beta = log.admit("beta");  // entry 2
  log.refer(acme);                // 3, mint 4: balance 1

  SUBCASE("a grant lets a spend through; without it the spend goes below zero") {
    log.grant(beta, 1);  // 5
    log.spend(beta);     // 6
    CHECK(verify_export(log, dir.path).ok());
    log.spend(beta);  // 7
    auto report = verify_export(log, dir.path);
    CHECK(report.problems.total() == 1);
    CHECK(report.problems.mentions(
        "entry 7: member m_beta: credit spent with no credit left (balance -1)"));
  }
  SUBCASE("a refund that names no spend") {
    log.refund(acme, "intro-never");  // 5
    auto report = verify_export(log, dir.path);
    INFO(problems_text(report));
    CHECK(report.problems.total() == 1);
    CHECK(report.problems.mentions(
        "entry 5: member m_acme: credit refunded for introduction intro-never, on which no "
        "credit was spent"));
  }
  SUBCASE("a refund that names another member's spend") {
    auto intro = log.spend(acme);  // 5
    log.grant(beta, 1);            // 6
    log.refund(beta, intro);       // 7
    auto report = verify_export(log, dir.path);
    CHECK(report.problems.total() == 1);
    CHECK(report.problems.mentions("entry 7: member m_beta: credit refunded for introduction " +
                                   intro + ", on which no credit was spent"));
  }
  SUBCASE("a spend refunded twice") {
    auto intro = log.spend(acme);  // 5
    log.refund(acme, intro);       // 6
    log.refund(acme, intro);       // 7
    auto report = verify_export(log, dir.path);
    CHECK(report.problems.total() == 1);
    CHECK(report.problems.mentions("entry 7: member m_acme: credit for introduction " + intro +
                                   " refunded a second time"));
  }
  SUBCASE("a refund before its spend") {
    log.refund(acme, "intro6");                             // 5
    log.append(protocol::credit_spent(acme, "intro6", 1));  // 6: balance 2 - 1
    log.balances()[acme].credits_spent = 1;
    log.balances()[acme].balance = 1;
    auto report = verify_export(log, dir.path);
    INFO(problems_text(report));
    CHECK(report.problems.total() == 1);
    CHECK(
        report.problems.mentions("entry 5: member m_acme: credit refunded for introduction "
                                 "intro6, on which no credit was spent"));
  }
  SUBCASE("two spends on one introduction") {
    log.grant(acme, 1);                                  // 5: balance 2
    log.append(protocol::credit_spent(acme, "dup", 1));  // 6
    log.append(protocol::credit_spent(acme, "dup", 0));  // 7
    log.balances()[acme].credits_spent = 2;
    log.balances()[acme].balance = 0;
    auto report = verify_export(log, dir.path);
    CHECK(report.problems.total() == 1);
    CHECK(report.problems.mentions(
        "entry 7: member m_acme: a second credit spent on introduction dup"));
  }
  SUBCASE("a refund with an unknown reason, or a wrong balance") {
    auto intro = log.spend(acme);                                    // 5: balance 0
    log.append(protocol::credit_refunded(acme, intro, "bored", 5));  // 6: recomputed 1
    log.balances()[acme].credits_refunded = 1;
    log.balances()[acme].balance = 1;
    auto report = verify_export(log, dir.path);
    INFO(problems_text(report));
    CHECK(report.problems.total() == 2);
    CHECK(
        report.problems.mentions("entry 6: credit_refunded: data.reason is missing or not "
                                 "declined, expired, withdrawn, erased or undelivered"));
    CHECK(report.problems.mentions("entry 6: member m_acme: balance 5, recomputed 1"));
  }
  SUBCASE("grants: zero credits, no reason, a suspended member, a wrong balance") {
    log.append(protocol::credit_granted(acme, 0, "programme", 1));  // 5
    log.append(protocol::credit_granted(acme, 1, "", 2));           // 6
    log.append(protocol::member_suspended(beta));                   // 7
    log.append(protocol::credit_granted(beta, 2, "programme", 2));  // 8
    log.append(protocol::credit_granted(acme, 1, "programme", 9));  // 9: recomputed 3
    log.balances()[acme].credits_granted = 2;
    log.balances()[acme].balance = 3;
    log.balances()[beta].credits_granted = 2;
    log.balances()[beta].balance = 2;
    auto report = verify_export(log, dir.path);
    INFO(problems_text(report));
    CHECK(report.problems.total() == 4);
    CHECK(report.problems.mentions(
        "entry 5: credit_granted: data.credits is missing or not a positive integer"));
    CHECK(report.problems.mentions(
        "entry 6: credit_granted: data.reason is missing or not a non-empty string"));
    CHECK(report.problems.mentions(
        "entry 8: member m_beta: credits granted while the member is suspended"));
    CHECK(report.problems.mentions("entry 9: member m_acme: balance 9, recomputed 3"));
  }
  SUBCASE("grants and refunds for members never admitted") {
    log.append(protocol::credit_granted("m_nobody", 1, "programme", 1));
    log.append(protocol::credit_refunded("m_nobody", "x", "declined", 1));
    auto report = verify_export(log, dir.path);
    CHECK(
        report.problems.mentions("entry 5: credit_granted names member m_nobody, never admitted"));
    CHECK(
        report.problems.mentions("entry 6: credit_refunded names member m_nobody, never admitted"));
  }
}

TEST_CASE("credit rules: logs from before introductions verify as before") {
  TempDir dir("audit-credit-legacy");
  SyntheticLog log(1);
  auto acme = log.admit("acme");
  log.refer(acme);
  // A spend as the node wrote it before introductions: "purpose" instead of "introduction".
  log.append(
      protocol::Event{"credit_spent", {{"member", acme}, {"purpose", "p1"}, {"balance", 0}}});
  log.balances()[acme].credits_spent = 1;
  log.balances()[acme].balance = 0;
  auto report = verify_export(log, dir.path);
  INFO(problems_text(report));
  CHECK(report.ok());

  SUBCASE("a refund may name such a spend") {
    log.refund(acme, "p1", protocol::refund_reason::withdrawn);
    CHECK(verify_export(log, dir.path).ok());
  }
  SUBCASE("the node's balances without grant and refund fields are accepted") {
    auto parsed = relay::audit::parse_node_balances(
        R"({"ledger_size":4,"members":{"m_a":{"balance":1,"credits_minted":1,"credits_spent":0,"verified_referrals":1}}})",
        false);
    REQUIRE(parsed.balances);
    CHECK(parsed.balances->members.at("m_a") == relay::audit::MemberBalance{1, 1, 0, 1, 0, 0});
    auto full = relay::audit::parse_node_balances(
        R"({"ledger_size":4,"members":{"m_a":{"balance":3,"credits_granted":2,"credits_minted":1,"credits_refunded":1,"credits_spent":1,"verified_referrals":1}}})",
        false);
    REQUIRE(full.balances);
    CHECK(full.balances->members.at("m_a") == relay::audit::MemberBalance{1, 1, 1, 3, 2, 1});
    CHECK_FALSE(
        relay::audit::parse_node_balances(
            R"({"ledger_size":4,"members":{"m_a":{"balance":3,"credits_granted":-2,"credits_minted":1,"credits_spent":1,"verified_referrals":1}}})",
            false)
            .balances);
  }
}
TEST_SUITE_END();
