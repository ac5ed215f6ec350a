// node/referrals/intake under abuse (issue 17, findings 4 and 6), without HTTP: repeats of a
// registration re-mail the same link, never grow the record, and stop mailing after the daily
// cap; a later registration for a pending address replaces the data, and the confirmation
// shows what is confirmed.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>

#include "node/domain_fixture.hpp"

using namespace relay::node;
using relay::test::Domain;
using Form = std::map<std::string, std::string>;

namespace {

Form form_for(const std::string& name, const std::string& email, const std::string& phone = "") {
  Form f{{"name", name},
         {"email", email},
         {"job_category", "C"},
         {"skills", "Excel"},
         {"prefecture", "JP-13"},
         {"age_band", "35-44"},
         {"experience_band", "6-10"},
         {"consent_region", "yes"}};
  if (!phone.empty()) f["phone"] = phone;
  return f;
}

referrals::SubmitResult submit(Domain& d, const std::string& link, const Form& form) {
  return d.write([&](storage::WriteTxn& txn) { return d.intake.submit(txn, link, form); });
}

// Verification links queued to `to`, one per queued mail.
std::vector<std::string> verify_links(Domain& d, const std::string& to) {
  std::vector<std::string> out;
  auto txn = d.env.begin_read();
  for (const auto& q : d.candidates.queued_mail(txn, 10'000)) {
    if (q.mail.to != to) continue;
    auto at = q.mail.body.find("/r/v/");
    if (at == std::string::npos) continue;
    auto end = q.mail.body.find_first_of("\r\n ", at + 5);
    out.push_back(q.mail.body.substr(at + 5, end - at - 5));
  }
  return out;
}

// The stored bytes of the one candidate record, and the token table's size.
std::pair<std::size_t, std::size_t> footprint(Domain& d) {
  auto txn = d.env.begin_read();
  std::size_t record = 0;
  txn.for_each_prefix(d.env.database("candidates"), "",
                      [&](std::string_view, std::string_view v) { record += v.size(); });
  return {record, txn.count(d.env.database("candidate_tokens"))};
}

}  // namespace

TEST_SUITE_BEGIN("intake");

TEST_CASE(
    "intake: 300 repeats for one address mail the same link at most 5 times a day and "
    "never grow the record") {
  Domain d;
  auto m = d.admit("Bombed KK").member;
  const std::string victim = "victim@example.jp";
  REQUIRE(submit(d, m.link_token, form_for("Victim", victim)).accepted);
  auto first = footprint(d);
  int capped = 0;
  for (int i = 0; i < 300; ++i) {
    auto form = form_for("Victim", victim);
    form["nonce"] = "nonce-" + std::to_string(i) + "-abcdefghijkl";
    auto r = submit(d, m.link_token, form);
    REQUIRE(r.accepted);
    capped += r.mail_capped ? 1 : 0;
  }
  auto links = verify_links(d, victim);
  CHECK(links.size() == 5);  // limits.confirmation_mails_per_day
  CHECK(capped == 296);
  CHECK(std::set<std::string>(links.begin(), links.end()).size() == 1);  // the same link
  auto after = footprint(d);
  // One intake-state entry more than after the first registration (it holds the last nonce),
  // and the record grew by that one digest at most.
  CHECK(after.second <= first.second + 1);
  CHECK(after.first <= first.first + 100);

  // Another address through the same link is not held up by the first one's cap.
  REQUIRE(submit(d, m.link_token, form_for("Other", "other@example.jp")).accepted);
  CHECK(verify_links(d, "other@example.jp").size() == 1);

  // A new day: mails again (up to the cap), still the same link.
  d.clock.advance(std::chrono::hours(24));
  auto r = submit(d, m.link_token, form_for("Victim", victim));
  CHECK_FALSE(r.mail_capped);
  links = verify_links(d, victim);
  CHECK(links.size() == 6);
  CHECK(std::set<std::string>(links.begin(), links.end()).size() == 1);

  // The link still confirms, once.
  auto confirmed =
      d.write([&](storage::WriteTxn& txn) { return d.intake.confirm(txn, links.front()); });
  CHECK(confirmed.state == referrals::ConfirmState::confirmed);
}

TEST_CASE(
    "intake: a later registration for a pending address replaces a stranger's data, and "
    "the confirmation shows what is confirmed") {
  Domain d;
  auto m = d.admit("Poisoned KK").member;
  const std::string victim = "hanako@example.jp";
  // The attacker registers the victim's address first, with made-up data.
  REQUIRE(submit(d, m.link_token, form_for("Fake Person", victim, "09000000000")).accepted);
  // The victim registers later with their own data.
  REQUIRE(submit(d, m.link_token, form_for("山田 花子", victim, "08011112222")).accepted);
  auto links = verify_links(d, victim);
  REQUIRE(!links.empty());
  {
    auto txn = d.env.begin_read();
    auto shown = d.intake.pending_data(txn, links.back());
    REQUIRE(shown);
    CHECK(shown->personal.name == "山田 花子");
    CHECK(shown->personal.phone == "08011112222");
  }
  auto confirmed =
      d.write([&](storage::WriteTxn& txn) { return d.intake.confirm(txn, links.back()); });
  REQUIRE(confirmed.state == referrals::ConfirmState::confirmed);
  auto txn = d.env.begin_read();
  auto candidate = d.candidates.find_by_pseudonym(txn, d.candidates.pseudonym_of(victim));
  REQUIRE(candidate);
  auto opened = d.candidates.open(*candidate);
  REQUIRE(opened);
  CHECK(opened->personal.name == "山田 花子");
  CHECK(opened->personal.phone == "08011112222");
  // Once confirmed, nothing is pending to show.
  CHECK_FALSE(d.intake.pending_data(txn, links.back()));
}
