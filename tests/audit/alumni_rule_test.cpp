// audit: alumni referrals (issue 14, item 1). A person leaving a member (退職者) who registers
// through its alumni link is a referral of kind "alumni"; it counts toward credits only while
// the latest alumni_credit_rule entry says so. The auditor recomputes balances either way and
// names an alumni referral counted against the rule.
#include <doctest/doctest.h>

#include "audit/balance_book.hpp"
#include "audit/synthetic_log.hpp"
#include "protocol/event.hpp"

using relay::test::problems_text;
using relay::test::SyntheticLog;
using relay::test::TempDir;
using relay::test::verify_export;
namespace protocol = relay::protocol;

TEST_SUITE_BEGIN("audit");

TEST_CASE("alumni rule: uncounted alumni referrals mint nothing and verify") {
  TempDir dir("audit-alumni");
  SyntheticLog log(1);
  auto acme = log.admit("acme");
  log.refer(acme, false, "alumni");
  log.refer(acme, false, "alumni");
  log.refer(acme);  // a rejection referral: 1 minted
  auto report = verify_export(log, dir.path);
  INFO(problems_text(report));
  CHECK(report.ok());
  CHECK(report.balances.at(acme) == relay::audit::MemberBalance{1, 1, 0, 1, 0, 0});
}

TEST_CASE("alumni rule: an alumni referral counted against the rule is named") {
  TempDir dir("audit-alumni-against");
  SyntheticLog log(1);
  auto acme = log.admit("acme");    // entry 1
  log.refer(acme, true, "alumni");  // entry 2 (counted), mint at 3
  auto report = verify_export(log, dir.path);
  CHECK(report.problems.mentions(
      "entry 2: member m_acme: alumni referral counted while alumni do not count toward credits"));
}

TEST_CASE("alumni rule: counted alumni referrals verify once the rule says they count") {
  TempDir dir("audit-alumni-count");
  SyntheticLog log(2);
  auto acme = log.admit("acme");
  log.append(protocol::alumni_credit_rule(true));
  log.refer(acme, true, "alumni");
  log.refer(acme, true, "alumni");  // 2 counted: 1 minted
  auto report = verify_export(log, dir.path);
  INFO(problems_text(report));
  CHECK(report.ok());
  CHECK(report.balances.at(acme) == relay::audit::MemberBalance{2, 1, 0, 1, 0, 0});

  SUBCASE("and stop counting when the rule is switched off again") {
    log.append(protocol::alumni_credit_rule(false));  // entry 6
    log.refer(acme, true, "alumni");                  // entry 7
    auto again = verify_export(log, dir.path);
    CHECK(
        again.problems.mentions("entry 7: member m_acme: alumni referral counted while alumni "
                                "do not count toward credits"));
  }
}

TEST_CASE("alumni rule: a referral kind other than alumni, or a bad rule, is named") {
  TempDir dir("audit-alumni-bad");
  SyntheticLog log(1);
  auto acme = log.admit("acme");     // entry 1
  log.refer(acme, false, "friend");  // entry 2
  log.append({std::string(protocol::event_kind::alumni_credit_rule),
              {{"alumni_count_toward_credits", "yes"}}});  // entry 3
  auto report = verify_export(log, dir.path);
  CHECK(report.problems.mentions("entry 2: referral_verified: data.kind is missing or not"));
  CHECK(report.problems.mentions(
      "entry 3: alumni_credit_rule: data.alumni_count_toward_credits is missing or not a boolean"));
}

TEST_SUITE_END();
