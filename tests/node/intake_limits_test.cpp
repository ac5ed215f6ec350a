// node/referrals/intake under abuse (issue 17, findings 4 and 6), without HTTP: repeats of a
// registration re-mail the same link, never grow the record, and stop mailing after the daily
// cap; a later registration for a pending address replaces the data, and the confirmation
// shows what is confirmed.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "node/domain_fixture.hpp"
#include "node/referrals/address_identity.hpp"

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
  // No token entry more than after the first registration: the intake state is in the
  // record, which grew by the last nonce's hash at most.
  CHECK(after.second == first.second);
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

TEST_CASE(
    "intake: the state lives in the person's record; a record from before keeps its state in "
    "a token entry, which still caps the mails and spots a repeated form") {
  Domain d;
  auto m = d.admit("Upgraded KK").member;
  const std::string person = "taro@example.jp";
  auto before = footprint(d);
  REQUIRE(submit(d, m.link_token, form_for("Taro", person)).accepted);
  const auto today = d.clock.now_ms() / 86'400'000;
  auto in = [&](const storage::Txn& txn) {
    auto found = d.candidates.find_by_pseudonym(txn, d.candidates.pseudonym_of(person));
    REQUIRE(found);
    return *found;
  };
  auto record = [&] { return in(d.env.begin_read()); };
  {
    auto r = record();
    REQUIRE(r.intake);
    CHECK(r.intake->day == today);
    CHECK(r.intake->mails == 1);
    CHECK(r.intake->form.empty());
    CHECK(r.intake->links.size() == 1);
    // No token entry: the confirmation link is the record's id and a MAC.
    CHECK(footprint(d).second == before.second);
  }

  // The layout an older version left: no state in the record, today's five mails spent and
  // the last form's nonce in the person's "intake" entry.
  // What the state keeps of a nonce: its hex SHA-256.
  auto hash_of = [](const std::string& nonce) {
    return relay::crypto::to_hex(relay::crypto::sha256(relay::crypto::as_bytes(nonce)));
  };
  const std::string nonce = "nonce-before-the-upgrade";
  d.write([&](storage::WriteTxn& txn) {
    auto r = in(txn);
    r.intake.reset();
    d.candidates.bind_token_to(txn, d.candidates.stable_token(r.id, "intake"), r, "intake",
                               {{"day", today}, {"mails", 5}, {"form", hash_of(nonce)}});
    d.candidates.save(txn, r);
  });
  REQUIRE_FALSE(record().intake);

  auto repeated = form_for("Taro", person);
  repeated["nonce"] = nonce;
  auto r = submit(d, m.link_token, repeated);
  CHECK(r.accepted);
  CHECK(r.repeated);  // answered as before, nothing new

  auto later = form_for("Taro", person);
  later["nonce"] = "nonce-after-the-upgrade";
  r = submit(d, m.link_token, later);
  CHECK(r.accepted);
  CHECK_FALSE(r.repeated);
  CHECK(r.mail_capped);  // today's five were spent before the upgrade
  CHECK(verify_links(d, person).size() == 1);
  auto now = record();
  REQUIRE(now.intake);  // the record holds the state from now on
  CHECK(now.intake->mails == 5);
  CHECK(now.intake->form == hash_of(later["nonce"]));

  // Erasure takes the state with the record; the old entry goes with the record's tokens.
  auto tokens_before_erasure = footprint(d).second;
  CHECK(tokens_before_erasure == before.second + 1);
  d.write([&](storage::WriteTxn& txn) {
    auto r = in(txn);
    d.candidates.erase(txn, r);
  });
  auto txn = d.env.begin_read();
  auto erased = d.candidates.find(txn, now.id);
  REQUIRE(erased);
  CHECK_FALSE(erased->intake);
  CHECK(footprint(d).second == before.second);
}

TEST_CASE(
    "intake: a double tap is spotted for an address whose canonical form differs (dots and a "
    "+tag at Gmail): one registration, one mail") {
  Domain d;
  auto m = d.admit("Canonical KK").member;
  // Registered under the canonical address's pseudonym ("taroyamada@gmail.com"), not the
  // typed one's: the repeated form must be found under the same pseudonym.
  const std::string typed = "Taro.Yamada+jobs@gmail.com";
  auto form = form_for("Taro", typed);
  form["nonce"] = "nonce-double-tap-canonical";
  auto first = submit(d, m.link_token, form);
  REQUIRE(first.accepted);
  CHECK_FALSE(first.repeated);
  auto again = submit(d, m.link_token, form);
  CHECK(again.accepted);
  CHECK(again.repeated);  // answered as before, nothing new
  CHECK(verify_links(d, typed).size() == 1);
  auto txn = d.env.begin_read();
  auto canonical = referrals::identify_address("taro.yamada+jobs@gmail.com").canonical;
  auto record = d.candidates.find_by_pseudonym(txn, d.candidates.pseudonym_of(canonical));
  REQUIRE(record);
  REQUIRE(record->intake);
  CHECK(record->intake->mails == 1);
}
