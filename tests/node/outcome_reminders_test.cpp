// Reminders of due outcomes by mail (issue 14, item 5), with a ManualClock and the spool
// mailer: each due item is mailed once to the member's contact email; advancing the clock or
// restarting never mails it again; a member with no email on file gets nothing and nothing
// fails. The mail carries ids and codes only, no candidate data.
#include "node/services/outcome_reminders.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "node/domain_fixture.hpp"
#include "node/introductions/introduction.hpp"
#include "node/introductions/requisition.hpp"
#include "node/mail/mailer.hpp"
#include "node/mail/smtp_mailer.hpp"
#include "node/storage/txn.hpp"
#include "support/smtp_test_server.hpp"
#include "support/temp_dir.hpp"

using namespace relay::node;
using relay::test::Domain;
namespace intro = relay::node::introductions;
using std::chrono::hours;

namespace {

constexpr auto kDay = hours(24);

struct Fixture {
  Domain d;
  relay::test::TempDir spool{"reminder-spool"};
  intro::Requisitions reqs{d.env, d.ledger, d.reference, d.clock};
  intro::Introductions intros{d.env, d.ledger, d.credits, reqs, d.clock};
  mail::SpoolMailer mailer{spool.path};

  std::unique_ptr<services::OutcomeReminders> reminders(mail::Mailer* through = nullptr) {
    return std::make_unique<services::OutcomeReminders>(
        d.env, d.writer, d.members, intros, through ? *through : mailer, d.clock,
        services::ReminderSettings{
            "unit.relaynode",
            "http://127.0.0.1:9",
            "relay@unit.relaynode",
            {std::chrono::minutes(1), std::chrono::hours(1), 72 * hours(1)}});
  }

  // The stored state of one member's reminders: {"state", "attempts", "next_ms", ...} each.
  std::vector<nlohmann::json> records(const std::string& member) {
    std::vector<nlohmann::json> out;
    auto txn = d.env.begin_read();
    auto db = d.env.database("outcome_reminders");
    txn.for_each_prefix(db, member + "/", [&](std::string_view, std::string_view v) {
      out.push_back(nlohmann::json::parse(v));
      return true;
    });
    return out;
  }

  std::string member(const std::string& name, const std::string& email) {
    auto id = d.admit(name).member.id;
    if (!email.empty())
      d.write([&](storage::WriteTxn& txn) { return d.members.set_contact_email(txn, id, email); });
    REQUIRE(
        d.write([&](storage::WriteTxn& txn) { return d.credits.grant(txn, id, 5, "programme"); }));
    return id;
  }

  // A delivered local introduction of member, reported hired now.
  std::string hired(const std::string& member) {
    intro::RequisitionInput in;
    in.title = "倉庫作業";
    in.category = "K";
    in.required_skills = {"フォークリフト"};
    in.prefectures = {"JP-28"};
    in.employment_type = "regular";
    auto req = d.write([&](storage::WriteTxn& txn) { return reqs.open(txn, member, in); });
    REQUIRE(req);
    auto i = d.write([&](storage::WriteTxn& txn) {
      return intros.create(txn, member, req->id, "local", "ref-" + member);
    });
    REQUIRE(i);
    REQUIRE(d.write([&](storage::WriteTxn& txn) { return intros.accept(txn, i->id); }));
    REQUIRE(d.write([&](storage::WriteTxn& txn) { return intros.deliver(txn, i->id); }));
    REQUIRE(d.write([&](storage::WriteTxn& txn) {
      return intros.report_outcome(txn, member, i->id, intro::Outcome::hired);
    }));
    return i->id;
  }

  std::vector<std::string> spooled() {
    std::vector<std::string> out;
    for (const auto& f : std::filesystem::directory_iterator(spool.path)) {
      std::ifstream in(f.path());
      std::stringstream text;
      text << in.rdbuf();
      out.push_back(text.str());
    }
    return out;
  }
};

}  // namespace

TEST_SUITE_BEGIN("reminders");

TEST_CASE("reminders: a due retention check is mailed once, never again, even after a restart") {
  Fixture f;
  auto member = f.member("Remind KK", "hr@remind.example.jp");
  auto id = f.hired(member);
  auto reminders = f.reminders();

  CHECK(reminders->sweep() == 0);  // nothing due yet
  f.d.clock.advance(89 * kDay);
  CHECK(reminders->sweep() == 0);
  f.d.clock.advance(kDay);  // 3 months (90 days) after the hire
  CHECK(reminders->sweep() == 1);
  auto mails = f.spooled();
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].find("To: hr@remind.example.jp") != std::string::npos);
  CHECK(mails[0].find(id) != std::string::npos);

  f.d.clock.advance(kDay);
  CHECK(reminders->sweep() == 0);
  CHECK(reminders->sweep() == 0);
  auto restarted = f.reminders();  // a new process over the same store
  CHECK(restarted->sweep() == 0);
  CHECK(f.spooled().size() == 1);

  SUBCASE("the next milestone is its own reminder, once") {
    REQUIRE(f.d.write([&](storage::WriteTxn& txn) {
      return f.intros.report_outcome(txn, member, id, intro::Outcome::retained_3m);
    }));
    f.d.clock.advance(90 * kDay);  // past 6 months
    CHECK(restarted->sweep() == 1);
    CHECK(restarted->sweep() == 0);
    CHECK(f.spooled().size() == 2);
  }
}

TEST_CASE("reminders: no email on file, nothing sent and nothing fails; set later, sent once") {
  Fixture f;
  auto silent = f.member("Silent KK", "");
  f.hired(silent);
  auto reminders = f.reminders();
  f.d.clock.advance(91 * kDay);
  CHECK(reminders->sweep() == 0);
  CHECK(f.spooled().empty());
  f.d.write([&](storage::WriteTxn& txn) {
    return f.d.members.set_contact_email(txn, silent, "ops@silent.example.jp");
  });
  CHECK(reminders->sweep() == 1);
  CHECK(reminders->sweep() == 0);
}

TEST_CASE("reminders: the outcome itself is reminded after delivery, to that member only") {
  Fixture f;
  auto a = f.member("A KK", "a@a.example.jp");
  auto b = f.member("B KK", "b@b.example.jp");
  intro::RequisitionInput in;
  in.title = "事務";
  in.category = "C";
  in.required_skills = {"Excel"};
  in.prefectures = {"JP-13"};
  in.employment_type = "contract";
  auto req = f.d.write([&](storage::WriteTxn& txn) { return f.reqs.open(txn, a, in); });
  REQUIRE(req);
  auto i = f.d.write(
      [&](storage::WriteTxn& txn) { return f.intros.create(txn, a, req->id, "local", "r1"); });
  REQUIRE(i);
  REQUIRE(f.d.write([&](storage::WriteTxn& txn) { return f.intros.accept(txn, i->id); }));
  REQUIRE(f.d.write([&](storage::WriteTxn& txn) { return f.intros.deliver(txn, i->id); }));
  auto reminders = f.reminders();
  f.d.clock.advance(31 * kDay);
  CHECK(reminders->sweep() == 1);
  auto mails = f.spooled();
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].find("a@a.example.jp") != std::string::npos);
  CHECK(mails[0].find("b@b.example.jp") == std::string::npos);
  (void)b;
}

TEST_CASE(
    "reminders: a deferred one backs off, then is given up with an alert; a rejected one at once") {
  using relay::test::SmtpTestServer;
  SmtpTestServer server({.defer_domains = {"busy.example"}, .reject_domains = {"gone.example"}});
  server.start();
  mail::SmtpSettings smtp;
  smtp.host = "127.0.0.1";
  smtp.port = server.port();
  smtp.starttls = mail::StartTls::never;
  smtp.timeout = std::chrono::seconds(10);
  mail::SmtpMailer mailer(smtp);
  Fixture f;
  auto busy = f.member("Busy KK", "hr@busy.example");
  auto gone = f.member("Gone KK", "hr@gone.example");
  f.hired(busy);
  f.hired(gone);
  auto reminders = f.reminders(&mailer);
  std::vector<std::string> alerts;
  reminders->on_given_up(
      [&](storage::WriteTxn&, const std::string& reason) { alerts.push_back(reason); });
  f.d.clock.advance(91 * kDay);

  CHECK(reminders->sweep() == 0);
  auto first = f.records(busy);
  REQUIRE(first.size() == 1);
  CHECK(first[0]["state"] == "pending");
  CHECK(first[0]["attempts"] == 1);
  const auto next = first[0]["next_ms"].get<std::int64_t>();
  CHECK(next >= f.d.clock.now_ms() + 30'000);  // equal jitter: at least half the first backoff
  // The rejected one is given up at once, with an alert naming the introduction, not the address.
  REQUIRE(f.records(gone).size() == 1);
  CHECK(f.records(gone)[0]["state"] == "given_up");
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].find("rejected") != std::string::npos);
  CHECK(alerts[0].find("gone.example") == std::string::npos);

  CHECK(reminders->sweep() == 0);  // backing off: not tried again yet
  CHECK(f.records(busy)[0]["attempts"] == 1);
  f.d.clock.advance(std::chrono::minutes(2));
  CHECK(reminders->sweep() == 0);
  CHECK(f.records(busy)[0]["attempts"] == 2);
  CHECK(f.records(busy)[0]["next_ms"].get<std::int64_t>() > f.d.clock.now_ms());

  for (int i = 0; i < 80 && f.records(busy)[0]["state"] == "pending"; ++i) {
    f.d.clock.advance(hours(1));
    reminders->sweep();
  }
  CHECK(f.records(busy)[0]["state"] == "given_up");
  REQUIRE(alerts.size() == 2);
  CHECK(alerts[1].find("mail.give_up_after_hours") != std::string::npos);
  CHECK(alerts[1].find("busy.example") == std::string::npos);
  const auto attempts = f.records(busy)[0]["attempts"].get<int>();
  f.d.clock.advance(hours(2));
  reminders->sweep();
  CHECK(f.records(busy)[0]["attempts"] == attempts);  // given up: never tried again
  CHECK(alerts.size() == 2);
  CHECK(server.messages().empty());
}

TEST_CASE("reminders: one deferred while the server is down goes out once it is back") {
  using relay::test::SmtpTestServer;
  SmtpTestServer server(SmtpTestServer::Options{});
  mail::SmtpSettings smtp;
  smtp.host = "127.0.0.1";
  smtp.port = server.port();  // not started yet: connection refused
  smtp.starttls = mail::StartTls::never;
  smtp.timeout = std::chrono::seconds(10);
  mail::SmtpMailer mailer(smtp);
  Fixture f;
  auto member = f.member("Later KK", "hr@later.example");
  f.hired(member);
  auto reminders = f.reminders(&mailer);
  f.d.clock.advance(91 * kDay);
  CHECK(reminders->sweep() == 0);
  CHECK(f.records(member)[0]["state"] == "pending");
  server.start();
  f.d.clock.advance(std::chrono::minutes(1));
  CHECK(reminders->sweep() == 1);
  CHECK(f.records(member)[0]["state"] == "sent");
  CHECK(reminders->sweep() == 0);
  CHECK(server.messages().size() == 1);
}

TEST_CASE("members: contact emails are validated and normalised") {
  using members::normalise_contact_email;
  CHECK(normalise_contact_email("hr@Example.JP") == "hr@example.jp");
  CHECK(normalise_contact_email("  HR.Team@example.jp ") == "HR.Team@example.jp");
  for (const char* bad :
       {"", "hr", "hr@", "@example.jp", "hr@example", "hr@@example.jp", "h r@example.jp",
        "hr@example.jp.", "<hr@example.jp>", "hr@example.jp,x@y.jp", "hr@exa\nmple.jp"})
    CHECK_FALSE(normalise_contact_email(bad));
  Domain d;
  auto m = d.admit("Mail KK").member;
  CHECK(d.write([&](storage::WriteTxn& txn) {
    return d.members.set_contact_email(txn, m.id, "x@y.example.jp");
  }) == members::StatusChange::changed);
  auto txn = d.env.begin_read();
  auto found = d.members.find(txn, m.id);
  CHECK(found->contact_email == "x@y.example.jp");
  CHECK(found->to_json().at("contact_email") == "x@y.example.jp");
  // Never in the ledger.
  for (std::uint64_t i = 0; i < d.ledger.size(txn); ++i)
    CHECK(d.ledger.entry(txn, i)->find("x@y.example.jp") == std::string::npos);
}

TEST_SUITE_END();
