// audit: the holding period and the operator's review (ledger version 2, issue 17). A
// referral counts only through referral_held -> referral_counted, no earlier than its
// `until`, never while flagged and not accepted, never after a rejection; the auditor
// recomputes every credit from these entries and names each invalid sequence.
#include <doctest/doctest.h>

#include "audit/balance_book.hpp"
#include "audit/synthetic_log.hpp"
#include "protocol/event.hpp"

using relay::test::problems_text;
using relay::test::SyntheticLog;
using relay::test::TempDir;
using relay::test::verify_export;
namespace protocol = relay::protocol;

namespace {
constexpr std::int64_t kDay = 86'400'000;
}

TEST_SUITE_BEGIN("audit");

TEST_CASE("hold rules: held, flagged, accepted, counted after the hold: credits recomputed") {
  TempDir dir("audit-hold");
  SyntheticLog log(2);
  log.set_version(2);
  log.append(protocol::referral_hold_rule(14));
  auto acme = log.admit("acme");
  auto a = log.hold(acme, log.now() + 14 * kDay);
  auto b = log.hold(acme, log.now() + 14 * kDay);
  auto c = log.hold(acme, log.now() + 14 * kDay);
  auto d = log.hold(acme, log.now() + 14 * kDay);
  log.append(protocol::referral_flagged(acme, b, {"velocity", "same_domain"}));
  log.append(protocol::referral_flagged(acme, c, {"disposable_domain"}));
  log.append(protocol::referral_accepted(acme, b));
  log.append(protocol::referral_rejected(acme, c));
  log.append(protocol::referral_dropped(acme, d, "withdrawn"));
  log.advance(15 * kDay);
  log.release(acme, a);
  log.release(acme, b);  // 2 counted: 1 minted
  auto report = verify_export(log, dir.path);
  INFO(problems_text(report));
  CHECK(report.ok());
  CHECK(report.balances.at(acme) == relay::audit::MemberBalance{2, 1, 0, 1, 0, 0});
}

TEST_CASE("hold rules: every invalid credit sequence is refused and named") {
  TempDir dir("audit-hold-invalid");
  SyntheticLog log(1);
  log.set_version(2);
  log.append(protocol::referral_hold_rule(14));  // entry 1
  auto acme = log.admit("acme");                 // entry 2

  SUBCASE("a referral counted at verification in a version 2 entry") {
    log.refer(acme);  // entry 3, mint at 4
    auto report = verify_export(log, dir.path);
    CHECK(
        report.problems.mentions("entry 3: member m_acme: referral_verified counted in a "
                                 "version 2 entry"));
  }
  SUBCASE("held for less than the holding period") {
    log.hold(acme, log.now() + kDay);  // entry 3
    auto report = verify_export(log, dir.path);
    CHECK(report.problems.mentions("entry 3: member m_acme: referral r3 held until"));
    CHECK(report.problems.mentions("before the holding period ends"));
  }
  SUBCASE("counted before its hold ends") {
    auto r = log.hold(acme, log.now() + 14 * kDay);  // entry 3
    log.release(acme, r);                            // entry 4, mint at 5
    auto report = verify_export(log, dir.path);
    CHECK(report.problems.mentions("entry 4: member m_acme: referral r3 counted at"));
    CHECK(report.problems.mentions("before its hold ends"));
  }
  SUBCASE("counted while flagged and not accepted") {
    auto r = log.hold(acme, log.now() + 14 * kDay);                 // entry 3
    log.append(protocol::referral_flagged(acme, r, {"velocity"}));  // entry 4
    log.advance(15 * kDay);
    log.release(acme, r);  // entry 5
    auto report = verify_export(log, dir.path);
    CHECK(report.problems.mentions(
        "entry 5: member m_acme: referral r3 counted while flagged and not accepted"));
  }
  SUBCASE("counted after the operator rejected it") {
    auto r = log.hold(acme, log.now() + 14 * kDay);
    log.append(protocol::referral_flagged(acme, r, {"velocity"}));
    log.append(protocol::referral_rejected(acme, r));
    log.advance(15 * kDay);
    log.release(acme, r);  // entry 6
    auto report = verify_export(log, dir.path);
    CHECK(
        report.problems.mentions("entry 6: referral_counted: member m_acme: referral r3 is "
                                 "not held"));
  }
  SUBCASE("counted twice, or after it was dropped") {
    auto r = log.hold(acme, log.now() + 14 * kDay);
    log.advance(15 * kDay);
    log.release(acme, r);  // entry 4, mint 5
    log.release(acme, r);  // entry 6
    auto report = verify_export(log, dir.path);
    CHECK(
        report.problems.mentions("entry 6: referral_counted: member m_acme: referral r3 is "
                                 "not held"));
  }
  SUBCASE("a mint with nothing counted: the floor rule") {
    log.hold(acme, log.now() + 14 * kDay);
    log.append(protocol::credit_minted(acme, 1, 1));  // entry 4
    log.balances()[acme].credits_minted = 1;
    log.balances()[acme].balance = 1;
    auto report = verify_export(log, dir.path);
    CHECK(report.problems.mentions("entry 4: member m_acme: credit_minted breaks the floor rule"));
  }
  SUBCASE("accepting what was never flagged, an unknown flag, an unknown drop reason") {
    auto r = log.hold(acme, log.now() + 14 * kDay);                  // entry 3
    log.append(protocol::referral_accepted(acme, r));                // entry 4
    log.append(protocol::referral_flagged(acme, r, {"looks_odd"}));  // entry 5
    log.append(protocol::referral_dropped(acme, r, "bored"));        // entry 6
    auto report = verify_export(log, dir.path);
    CHECK(report.problems.mentions(
        "entry 4: referral_accepted: member m_acme: referral r3 is not flagged"));
    CHECK(report.problems.mentions("entry 5: referral_flagged: data.reasons is missing"));
    CHECK(report.problems.mentions("entry 6: referral_dropped: data.reason is missing"));
  }
  SUBCASE("the same person counted twice for one member through two holds") {
    auto r1 = log.hold(acme, log.now() + 14 * kDay);  // entry 3, cand1
    log.append(protocol::referral_held(acme, "r_again", "cand1", log.now() + 14 * kDay));
    log.advance(15 * kDay);
    log.release(acme, r1);                                                // entry 5, mint 6
    log.append(protocol::referral_counted(acme, "r_again", "cand1", 2));  // entry 7
    log.balances()[acme].verified_referrals = 2;
    auto report = verify_export(log, dir.path);
    CHECK(
        report.problems.mentions("entry 7: member m_acme: candidate cand1 counted a second time"));
  }
  SUBCASE("entry versions never go down") {
    log.set_version(1);
    log.admit("late");  // entry 3
    auto report = verify_export(log, dir.path);
    CHECK(report.problems.mentions("entry 3: entry version 1 after version 2"));
  }
}

TEST_CASE("hold rules: a version 1 log followed by version 2 entries verifies") {
  TempDir dir("audit-hold-upgrade");
  SyntheticLog log(2);
  auto acme = log.admit("acme");
  log.refer(acme);  // version 1: counted at verification
  log.set_version(2);
  auto r = log.hold(acme);  // a zero hold (no rule recorded: 0 days)
  log.release(acme, r);     // 2 counted: 1 minted
  auto report = verify_export(log, dir.path);
  INFO(problems_text(report));
  CHECK(report.ok());
  CHECK(report.balances.at(acme) == relay::audit::MemberBalance{2, 1, 0, 1, 0, 0});
}

TEST_SUITE_END();
