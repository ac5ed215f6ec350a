// node/referrals: the local referral flow without HTTP. Intake::submit and Intake::confirm on
// a real LMDB environment, through the Writer, as the routes call them.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "node/domain_fixture.hpp"
#include "node/storage/index_marks.hpp"
#include "protocol/ledger_entry.hpp"

using namespace relay::node;
using relay::test::Domain;
using Form = std::map<std::string, std::string>;

namespace {

Form form_for(const std::string& name, const std::string& email) {
  return {{"name", name},
          {"email", email},
          {"job_category", "C"},
          {"skills", "Excel, 簿記"},
          {"prefecture", "JP-13"},
          {"age_band", "35-44"},
          {"experience_band", "6-10"},
          {"consent_region", "yes"}};
}

referrals::SubmitResult submit(Domain& d, const std::string& link, const Form& form) {
  return d.write([&](storage::WriteTxn& txn) { return d.intake.submit(txn, link, form); });
}

referrals::ConfirmResult confirm(Domain& d, const std::string& token) {
  return d.write([&](storage::WriteTxn& txn) { return d.intake.confirm(txn, token); });
}

// Tokens of the links with `prefix` ("/r/v/", "/r/m/") in mail queued to `to`.
std::set<std::string> queued_tokens(Domain& d, const std::string& to, const std::string& prefix) {
  std::set<std::string> out;
  auto txn = d.env.begin_read();
  for (const auto& q : d.candidates.queued_mail(txn, 10'000)) {
    if (q.mail.to != to) continue;
    for (auto at = q.mail.body.find(prefix); at != std::string::npos;
         at = q.mail.body.find(prefix, at + 1)) {
      auto start = at + prefix.size();
      auto end = q.mail.body.find_first_of("\r\n ", start);
      out.insert(q.mail.body.substr(start, end - start));
    }
  }
  return out;
}

// Entry counts of every database the flow writes, and the ledger size.
std::map<std::string, std::size_t> snapshot(Domain& d) {
  std::map<std::string, std::size_t> out;
  auto txn = d.env.begin_read();
  for (const char* name : {"candidates", "candidate_pseudonyms", "candidate_tokens", "mail_queue",
                           "referrals", "member_referrals_by_time", "member_referral_counts",
                           "single_links", "credit_accounts", "credit_history", "members"})
    out[name] = txn.count(d.env.database(name));
  out["ledger"] = d.ledger.size(txn);
  return out;
}

std::vector<std::string> ledger_kinds(Domain& d) {
  std::vector<std::string> kinds;
  auto txn = d.env.begin_read();
  for (std::uint64_t i = 0; i < d.ledger.size(txn); ++i) {
    auto parsed = relay::protocol::parse_entry(*d.ledger.entry(txn, i));
    REQUIRE(std::holds_alternative<relay::protocol::LedgerEntry>(parsed));
    kinds.push_back(std::get<relay::protocol::LedgerEntry>(parsed).kind);
  }
  return kinds;
}

referrals::Account account(Domain& d, const std::string& member_id) {
  auto txn = d.env.begin_read();
  return d.credits.account(txn, member_id);
}

std::vector<referrals::Referral> referrals_of(Domain& d, const std::string& member_id) {
  auto txn = d.env.begin_read();
  return d.referrals.for_member(txn, member_id);
}

// Registers and confirms one person; returns the confirmation's result.
// The record a management link names now (find_managed), in a read txn of its own.
std::optional<candidates::CandidateRecord> managed_by(Domain& d, const std::string& token) {
  auto txn = d.env.begin_read();
  return d.candidates.find_managed(txn, token);
}

referrals::ConfirmResult register_person(Domain& d, const std::string& link,
                                         const std::string& email) {
  auto before = queued_tokens(d, email, "/r/v/");
  auto r = submit(d, link, form_for("Person " + email, email));
  REQUIRE(r.accepted);
  auto after = queued_tokens(d, email, "/r/v/");
  REQUIRE(after.size() == before.size() + 1);
  for (const auto& t : after)
    if (!before.count(t)) return confirm(d, t);
  FAIL("no new verification token");
  return {};
}

}  // namespace

TEST_SUITE_BEGIN("intake");

TEST_CASE("intake: links resolve to their member, or say why not") {
  Domain d;
  auto m = d.admit("Resolve KK").member;
  auto txn_state = [&](const std::string& token) {
    auto txn = d.env.begin_read();
    return d.intake.resolve_link(txn, token).state;
  };
  CHECK(txn_state(m.link_token) == referrals::LinkState::ok);
  CHECK(txn_state("nosuchlinktoken0000000000") == referrals::LinkState::unknown);
  CHECK(txn_state("") == referrals::LinkState::unknown);
  d.write([&](storage::WriteTxn& txn) { return d.members.set_active(txn, m.id, false); });
  CHECK(txn_state(m.link_token) == referrals::LinkState::member_inactive);
  auto before = snapshot(d);
  auto r = submit(d, m.link_token, form_for("Suspended Sam", "sam@example.jp"));
  CHECK(r.link == referrals::LinkState::member_inactive);
  CHECK_FALSE(r.accepted);
  CHECK(snapshot(d) == before);
  r = submit(d, "nosuchlinktoken0000000000", form_for("Nobody", "nobody@example.jp"));
  CHECK(r.link == referrals::LinkState::unknown);
  CHECK(snapshot(d) == before);
}

TEST_CASE("intake: an invalid form stores nothing") {
  Domain d;
  auto m = d.admit("Form KK").member;
  auto issued = d.write([&](storage::WriteTxn& txn) {
    return d.referrals.issue_single_use(txn, m.id, "app-9", "C");
  });
  auto before = snapshot(d);
  auto bad = form_for("Bad Form", "not-an-email");
  bad["prefecture"] = "JP-99";
  for (const auto& link : {m.link_token, issued.token}) {
    auto r = submit(d, link, bad);
    CHECK(r.link == referrals::LinkState::ok);
    CHECK_FALSE(r.accepted);
    CHECK(r.errors.count("email") == 1);
    CHECK(r.errors.count("prefecture") == 1);
    CHECK(r.errors.size() == 2);
    CHECK(snapshot(d) == before);
  }
  // The single-use link was not consumed by the failed attempt.
  auto txn = d.env.begin_read();
  auto single = d.referrals.single_use(txn, issued.token);
  REQUIRE(single);
  CHECK_FALSE(single->used);
}

TEST_CASE("intake: a submission creates a pending candidate and referral and queues mail") {
  Domain d;
  auto m = d.admit("Pending KK").member;
  auto ledger = d.ledger_size();
  auto r = submit(d, m.link_token, form_for("Hanako", "Hanako@Example.jp"));
  CHECK(r.accepted);
  CHECK(r.errors.empty());
  auto s = snapshot(d);
  CHECK(s["candidates"] == 1);
  CHECK(s["candidate_pseudonyms"] == 2);  // the person, and the member's referral of them
  CHECK(s["referrals"] == 1);
  CHECK(s["mail_queue"] == 1);
  CHECK(d.ledger_size() == ledger);  // nothing is logged before verification
  auto list = referrals_of(d, m.id);
  REQUIRE(list.size() == 1);
  CHECK(list[0].status == relay::node::referrals::ReferralStatus::pending);
  CHECK_FALSE(list[0].counted);
  auto member_view = list[0].to_member_json().dump();
  CHECK(member_view.find("Hanako") == std::string::npos);
  CHECK(member_view.find(list[0].pseudonym) == std::string::npos);
  CHECK(member_view.find(list[0].candidate_id) == std::string::npos);
  auto tokens = queued_tokens(d, "Hanako@Example.jp", "/r/v/");
  REQUIRE(tokens.size() == 1);
  {
    auto txn = d.env.begin_read();
    CHECK(d.intake.verification_pending(txn, *tokens.begin()));
    CHECK_FALSE(d.intake.verification_pending(txn, "x" + *tokens.begin()));
    auto mails = d.candidates.queued_mail(txn, 10);
    REQUIRE(mails.size() == 1);
    CHECK(mails[0].mail.from == "relay@unit.relaynode");
    CHECK(mails[0].mail.body.find("http://127.0.0.1:9/r/v/" + *tokens.begin()) !=
          std::string::npos);
    CHECK(mails[0].mail.body.find("Pending KK") != std::string::npos);
  }
  // The queued mail is sealed: neither the address nor the name is stored in plaintext.
  auto txn = d.env.begin_read();
  bool plaintext = false;
  for (const char* db :
       {"candidates", "mail_queue", "candidate_pseudonyms", "candidate_tokens", "referrals"})
    txn.for_each_prefix(d.env.database(db), "", [&](std::string_view k, std::string_view v) {
      for (std::string_view needle : {"Hanako", "hanako@example.jp", "Example.jp"})
        if (k.find(needle) != std::string_view::npos || v.find(needle) != std::string_view::npos)
          plaintext = true;
    });
  CHECK_FALSE(plaintext);
}

TEST_CASE("intake: repeats by the same person for the same member create no new referral") {
  Domain d;
  auto m = d.admit("Repeat KK").member;
  REQUIRE(submit(d, m.link_token, form_for("Jiro", "jiro@example.jp")).accepted);
  auto first = snapshot(d);
  // The same address, differently cased and padded, is the same person.
  for (const char* email : {"jiro@example.jp", "JIRO@Example.JP", "  jiro@example.jp "}) {
    auto r = submit(d, m.link_token, form_for("Jiro Again", email));
    CHECK(r.accepted);
  }
  auto s = snapshot(d);
  CHECK(s["candidates"] == first["candidates"]);
  CHECK(s["referrals"] == first["referrals"]);
  CHECK(s["candidate_pseudonyms"] == first["candidate_pseudonyms"]);
  CHECK(s["mail_queue"] == first["mail_queue"] + 3);  // a fresh verification mail each time
  CHECK(s["ledger"] == first["ledger"]);
  CHECK(referrals_of(d, m.id).size() == 1);

  // Another member's link for the same person: one more referral, the same candidate.
  auto other = d.admit("Other KK").member;
  REQUIRE(submit(d, other.link_token, form_for("Jiro", "jiro@example.jp")).accepted);
  s = snapshot(d);
  CHECK(s["candidates"] == first["candidates"]);
  CHECK(s["referrals"] == first["referrals"] + 1);
  CHECK(referrals_of(d, other.id).size() == 1);
  CHECK(referrals_of(d, other.id)[0].candidate_id == referrals_of(d, m.id)[0].candidate_id);
}

TEST_CASE("intake: confirm verifies once and counts once") {
  Domain d;
  auto m = d.admit("Confirm KK").member;
  for (int i = 0; i < 3; ++i)
    REQUIRE(submit(d, m.link_token, form_for("Saburo", "saburo@example.jp")).accepted);
  // Three mails, one link: a repeat re-mails the link it mailed before.
  auto tokens = queued_tokens(d, "saburo@example.jp", "/r/v/");
  REQUIRE(tokens.size() == 1);
  auto ledger = d.ledger_size();

  auto it = tokens.begin();
  auto first = confirm(d, *it);
  CHECK(first.state == referrals::ConfirmState::confirmed);
  CHECK(first.management_token.size() >= 20);
  CHECK_FALSE(first.minted);
  // No hold in this domain: held and counted in the confirming transaction.
  CHECK(d.ledger_size() == ledger + 2);
  CHECK(ledger_kinds(d).back() == "referral_counted");
  CHECK(*(ledger_kinds(d).end() - 2) == "referral_held");
  auto list = referrals_of(d, m.id);
  REQUIRE(list.size() == 1);
  CHECK(list[0].status == relay::node::referrals::ReferralStatus::verified);
  CHECK(list[0].counted);
  CHECK(list[0].verified_ms > 0);
  CHECK(account(d, m.id).counted == 1);
  {
    auto txn = d.env.begin_read();
    auto candidate = d.candidates.find(txn, list[0].candidate_id);
    REQUIRE(candidate);
    CHECK(candidate->status == candidates::Status::active);
    // The management link is the record's own (no entry), and no confirmation link.
    CHECK(first.management_token == d.candidates.record_link(candidate->id, "manage"));
    CHECK(d.candidates.find_managed(txn, first.management_token));
    CHECK_FALSE(d.intake.verify_link(txn, first.management_token));
    CHECK(txn.count(d.env.database("candidate_tokens")) == 0);
    CHECK_FALSE(d.intake.verification_pending(txn, *it));
  }
  // The same token again: already confirmed (the link is remembered as used).
  CHECK(confirm(d, *it).state == referrals::ConfirmState::already_confirmed);
  CHECK(confirm(d, "neverissuedtoken000000000").state == referrals::ConfirmState::unknown);
  CHECK(account(d, m.id).counted == 1);
  CHECK(d.ledger_size() == ledger + 2);
  CHECK(queued_tokens(d, "saburo@example.jp", "/r/m/").count(first.management_token) == 1);

  // A verified person submitting again gets a management link, and nothing counts.
  auto before = snapshot(d);
  REQUIRE(submit(d, m.link_token, form_for("Saburo", "saburo@example.jp")).accepted);
  auto after = snapshot(d);
  CHECK(after["referrals"] == before["referrals"]);
  CHECK(after["ledger"] == before["ledger"]);
  CHECK(after["mail_queue"] == before["mail_queue"] + 1);
  CHECK(after["candidate_tokens"] == before["candidate_tokens"]);
  // The same management link as the confirmation's.
  CHECK(queued_tokens(d, "saburo@example.jp", "/r/m/") ==
        std::set<std::string>{first.management_token});
  CHECK(account(d, m.id).counted == 1);
}

TEST_CASE("intake: the confirming save passes on the profile it opened") {
  // The pool index lists a confirmed record from that profile instead of opening the record
  // a second time (pool_index_test.cpp): it must be what the saved sealed data holds.
  Domain d;
  auto m = d.admit("Pool KK").member;
  struct Seen {
    candidates::Status status;
    std::string sealed;
    nlohmann::json profile;
  };
  std::vector<Seen> passed;
  d.candidates.on_saved([&](const candidates::CandidateRecord& r, const candidates::Profile* p) {
    if (p) passed.push_back({r.status, r.sealed_data(), p->to_json()});
  });
  REQUIRE(submit(d, m.link_token, form_for("Shiro", "shiro@example.jp")).accepted);
  CHECK(passed.empty());  // a registration opens nothing
  auto tokens = queued_tokens(d, "shiro@example.jp", "/r/v/");
  REQUIRE(tokens.size() == 1);
  REQUIRE(confirm(d, *tokens.begin()).state == referrals::ConfirmState::confirmed);
  REQUIRE(passed.size() == 1);
  CHECK(passed[0].status == candidates::Status::active);
  auto txn = d.env.begin_read();
  auto id = referrals_of(d, m.id).at(0).candidate_id;
  auto saved = d.candidates.find(txn, id);
  REQUIRE(saved);
  CHECK(passed[0].sealed == saved->sealed_data());
  auto opened = d.candidates.open(*saved);
  REQUIRE(opened);
  CHECK(passed[0].profile == opened->profile.to_json());
  CHECK(passed[0].profile.at("job_category") == "C");
}

TEST_CASE("intake: an expired verification link confirms nothing") {
  Domain d;
  referrals::Intake quick(
      d.members, d.candidates, d.referrals, d.credits, d.holds, d.reference,
      referrals::IntakeSettings{"http://127.0.0.1:9", "unit.relaynode", "relay@unit.relaynode",
                                "2026-11-01", std::chrono::hours(0)},
      d.clock);
  auto m = d.admit("Expiry KK").member;
  auto r = d.write([&](storage::WriteTxn& txn) {
    return quick.submit(txn, m.link_token, form_for("Shiro", "shiro@example.jp"));
  });
  REQUIRE(r.accepted);
  auto tokens = queued_tokens(d, "shiro@example.jp", "/r/v/");
  REQUIRE(tokens.size() == 1);
  d.clock.advance(std::chrono::milliseconds(5));  // past the 0-hour expiry, without sleeping
  auto ledger = d.ledger_size();
  {
    auto txn = d.env.begin_read();
    CHECK_FALSE(quick.verification_pending(txn, *tokens.begin()));
  }
  auto c = d.write([&](storage::WriteTxn& txn) { return quick.confirm(txn, *tokens.begin()); });
  CHECK(c.state == referrals::ConfirmState::expired);
  CHECK(c.management_token.empty());
  CHECK(referrals_of(d, m.id)[0].status == relay::node::referrals::ReferralStatus::pending);
  CHECK(account(d, m.id).counted == 0);
  CHECK(d.ledger_size() == ledger);
  // Nothing was written for the link: it says it expired each time it is used (until the
  // pending record is shredded, pending_expiry.hpp).
  CHECK(confirm(d, *tokens.begin()).state == referrals::ConfirmState::expired);
  CHECK(d.ledger_size() == ledger);
}

// Issue 19: a registration wrote the confirmation link's digest as an entry of its own, at a
// random key, and the confirmation deleted and rewrote it. The link is now the record's id
// and a MAC over (id, referral), checked against the referrals the person's intake state
// lists.
TEST_CASE(
    "intake: a confirmation link needs no entry; an altered one confirms nothing; one an "
    "older version stored still confirms once") {
  Domain d;
  auto m = d.admit("Link KK").member;
  const auto tokens_db = d.env.database("candidate_tokens");
  auto entries = [&] { return d.env.begin_read().count(tokens_db); };
  auto pending = [&](const std::string& token) {
    auto txn = d.env.begin_read();
    return d.intake.verification_pending(txn, token);
  };
  auto used = [&](const std::string& token) {
    auto txn = d.env.begin_read();
    return d.intake.verification_used(txn, token);
  };
  REQUIRE(submit(d, m.link_token, form_for("Rokuro", "rokuro@example.jp")).accepted);
  REQUIRE(submit(d, m.link_token, form_for("Nanami", "nanami@example.jp")).accepted);
  CHECK(entries() == 0);
  const auto link = *queued_tokens(d, "rokuro@example.jp", "/r/v/").begin();
  const auto other = *queued_tokens(d, "nanami@example.jp", "/r/v/").begin();
  const auto list = referrals_of(d, m.id);
  REQUIRE(list.size() == 2);
  const auto& mine = list[0].candidate_id == link.substr(0, link.find('.')) ? list[0] : list[1];
  CHECK(link == d.candidates.record_link(mine.candidate_id, "verify/" + mine.id));
  CHECK(pending(link));

  auto altered = link;
  altered.back() = altered.back() == 'A' ? 'B' : 'A';
  const std::string forged[] = {
      altered,
      // another person's MAC under this person's id
      mine.candidate_id + other.substr(other.find('.')),
      // a MAC this node would make, for a referral the person's state does not list
      d.candidates.record_link(mine.candidate_id, "verify/r_notlisted00000000"),
      mine.candidate_id + ".", "." + link.substr(link.find('.') + 1),
      "c_nosuchrecord." + link.substr(link.find('.') + 1)};
  for (const auto& token : forged) {
    CAPTURE(token);
    CHECK_FALSE(pending(token));
    CHECK_FALSE(used(token));
    CHECK(confirm(d, token).state == referrals::ConfirmState::unknown);
  }
  CHECK(account(d, m.id).counted == 0);

  auto c = confirm(d, link);
  REQUIRE(c.state == referrals::ConfirmState::confirmed);
  CHECK(entries() == 0);  // the management link is a record_link too
  CHECK(used(link));
  CHECK_FALSE(pending(link));
  CHECK(confirm(d, link).state == referrals::ConfirmState::already_confirmed);
  CHECK(account(d, m.id).counted == 1);

  // The other person's link as an older version stored it: a "verify" entry, no link in the
  // record. It still confirms, once; afterwards the referral says it was used.
  const std::string legacy = "legacy-verify-link-00000000001";
  const auto& theirs = &mine == &list[0] ? list[1] : list[0];
  d.write([&](storage::WriteTxn& txn) {
    auto r = d.candidates.find(txn, theirs.candidate_id);
    REQUIRE(r);
    r->intake->links.clear();
    d.candidates.bind_token_to(
        txn, legacy, *r, "verify",
        {{"referral", theirs.id}, {"expires_ms", d.clock.now_ms() + 3'600'000}});
    d.candidates.save(txn, *r);
  });
  CHECK_FALSE(pending(other));  // no longer listed
  CHECK(pending(legacy));
  CHECK(confirm(d, legacy).state == referrals::ConfirmState::confirmed);
  CHECK(used(legacy));
  CHECK(confirm(d, legacy).state == referrals::ConfirmState::already_confirmed);
  CHECK(account(d, m.id).counted == 2);
  // A used link as an older version stored it.
  d.write([&](storage::WriteTxn& txn) {
    d.candidates.bind_token(txn, "legacy-used-link-000000000001", theirs.candidate_id, "verified");
  });
  CHECK(used("legacy-used-link-000000000001"));
  CHECK(confirm(d, "legacy-used-link-000000000001").state ==
        referrals::ConfirmState::already_confirmed);
}

// The management link is a record_link too (one per record, mailed at every confirmation,
// resend and introduction): a link an older version issued is an entry, and still works.
TEST_CASE(
    "intake: the management link is the record's own; one an older version issued still opens "
    "the record; after erasure both name the tombstone") {
  Domain d;
  auto m = d.admit("Manage KK").member;
  REQUIRE(submit(d, m.link_token, form_for("Kyuro", "kyuro@example.jp")).accepted);
  const auto verify = *queued_tokens(d, "kyuro@example.jp", "/r/v/").begin();
  auto c = confirm(d, verify);
  REQUIRE(c.state == referrals::ConfirmState::confirmed);
  auto managed = [&](const std::string& token) { return managed_by(d, token); };
  auto record = managed(c.management_token);
  REQUIRE(record);
  CHECK(record->status == candidates::Status::active);
  CHECK(c.management_token == d.candidates.record_link(record->id, "manage"));

  const std::string older = "manage-link-an-older-version-issued";
  d.write(
      [&](storage::WriteTxn& txn) { d.candidates.bind_token(txn, older, record->id, "manage"); });
  REQUIRE(managed(older));
  CHECK(managed(older)->id == record->id);
  auto altered = c.management_token;
  altered.back() = altered.back() == 'A' ? 'B' : 'A';
  CHECK_FALSE(managed(altered));
  CHECK_FALSE(managed(verify));  // the confirmation link's MAC is for another purpose
  CHECK_FALSE(managed(record->id + "." + record->id));

  // Erased as CandidateRights::erase does it: an older link's entry is bound "erased".
  d.write([&](storage::WriteTxn& txn) {
    auto r = d.candidates.find(txn, record->id);
    d.candidates.erase(txn, *r);
    d.candidates.bind_token(txn, older, r->id, "erased");
  });
  for (const auto& token : {c.management_token, older}) {
    CAPTURE(token);
    auto named = managed(token);
    REQUIRE(named);
    CHECK(named->id == record->id);
    CHECK(named->status == candidates::Status::erased);
  }
}

// The "lost your link?" page's step: only a confirmed person's current link, to the address
// their record holds, counted in the address's daily mail cap; the outcome is never shown.
TEST_CASE("intake: a lost management link is mailed again to a confirmed person, within the cap") {
  using Reminder = referrals::Intake::LinkReminder;
  Domain d;
  auto m = d.admit("Remind KK").member;
  const std::string email = "wasure@example.jp";
  auto remind = [&](const std::string& typed) {
    return d.write([&](storage::WriteTxn& txn) { return d.intake.remind_link(txn, typed); });
  };
  REQUIRE(submit(d, m.link_token, form_for("Wasure", email)).accepted);
  // Pending: no management link exists yet, and nothing is queued.
  CHECK(remind(email) == Reminder::no_one);
  CHECK(queued_tokens(d, email, "/r/m/").empty());
  auto c = confirm(d, *queued_tokens(d, email, "/r/v/").begin());
  REQUIRE(c.state == referrals::ConfirmState::confirmed);
  auto before = snapshot(d);

  CHECK(remind("nobody@example.jp") == Reminder::no_one);
  CHECK(remind("not an address") == Reminder::no_one);
  CHECK(snapshot(d) == before);
  // Typed in capitals: the same person, mailed at the address the record holds.
  CHECK(remind("WASURE@Example.JP") == Reminder::mailed);
  CHECK(queued_tokens(d, email, "/r/m/") == std::set<std::string>{c.management_token});
  CHECK(queued_tokens(d, "WASURE@Example.JP", "/r/m/").empty());
  CHECK(snapshot(d)["ledger"] == before["ledger"]);
  CHECK(snapshot(d)["mail_queue"] == before["mail_queue"] + 1);

  // The registration counted one mail today; the cap is 5 (IntakeSettings).
  std::vector<Reminder> outcomes;
  for (int i = 0; i < 5; ++i) outcomes.push_back(remind(email));
  CHECK(outcomes == std::vector<Reminder>{Reminder::mailed, Reminder::mailed, Reminder::mailed,
                                          Reminder::capped, Reminder::capped});
  const auto queued = snapshot(d)["mail_queue"];
  CHECK(queued == before["mail_queue"] + 4);
  d.clock.advance(std::chrono::hours(24));
  CHECK(remind(email) == Reminder::mailed);
  CHECK(snapshot(d)["mail_queue"] == queued + 1);
}

// A leaked link stops working once replaced: the one before it, and an older version's token,
// open nothing; the new one opens the record, and after erasure its tombstone.
TEST_CASE("candidates: replacing the management link ends the links before it") {
  Domain d;
  auto m = d.admit("Replace KK").member;
  auto c = register_person(d, m.link_token, "kawaru@example.jp");
  REQUIRE(c.state == referrals::ConfirmState::confirmed);
  auto managed = [&](const std::string& token) { return managed_by(d, token); };
  auto record = managed(c.management_token);
  REQUIRE(record);
  const std::string older = "manage-link-an-older-version-issued";
  d.write(
      [&](storage::WriteTxn& txn) { d.candidates.bind_token(txn, older, record->id, "manage"); });
  REQUIRE(managed(older));

  auto replace = [&] {
    return d.write([&](storage::WriteTxn& txn) {
      auto r = d.candidates.find(txn, record->id);
      d.candidates.replace_management_link(txn, *r);
      d.candidates.save(txn, *r);
      return d.candidates.management_link(*r);
    });
  };
  auto first = replace();
  CHECK(first != c.management_token);
  CHECK_FALSE(managed(c.management_token));
  CHECK_FALSE(managed(older));
  REQUIRE(managed(first));
  CHECK(managed(first)->id == record->id);
  CHECK(managed(first)->link_generation == 1);
  CHECK(candidates::to_stored(*managed(first)).at("link") == 1);
  {
    auto txn = d.env.begin_read();
    CHECK(txn.count(d.env.database("candidate_tokens")) == 0);  // the older token's entry
  }
  auto second = replace();
  CHECK_FALSE(managed(first));
  REQUIRE(managed(second));

  d.write([&](storage::WriteTxn& txn) {
    auto r = d.candidates.find(txn, record->id);
    return d.candidates.erase(txn, *r);
  });
  auto tombstone = managed(second);
  REQUIRE(tombstone);
  CHECK(tombstone->status == candidates::Status::erased);
  CHECK(tombstone->link_generation == 2);
  for (const auto& dead : {c.management_token, first, older}) CHECK_FALSE(managed(dead));
}

TEST_CASE("intake: every referrals_per_credit counted referrals mint one credit") {
  Domain d(3);
  auto m = d.admit("Ratio KK").member;
  auto other = d.admit("Bystander KK").member;
  std::vector<bool> minted;
  for (int i = 1; i <= 7; ++i) {
    auto c = register_person(d, m.link_token, "p" + std::to_string(i) + "@example.jp");
    CHECK(c.state == referrals::ConfirmState::confirmed);
    minted.push_back(c.minted);
  }
  CHECK(minted == std::vector<bool>{false, false, true, false, false, true, false});
  auto a = account(d, m.id);
  CHECK(a.counted == 7);
  CHECK(a.minted == 2);
  CHECK(a.spent == 0);
  CHECK(a.balance() == 2);
  CHECK(account(d, other.id).minted == 0);

  auto kinds = ledger_kinds(d);
  CHECK(std::count(kinds.begin(), kinds.end(), "referral_held") == 7);
  CHECK(std::count(kinds.begin(), kinds.end(), "referral_counted") == 7);
  CHECK(std::count(kinds.begin(), kinds.end(), "referral_verified") == 0);
  CHECK(std::count(kinds.begin(), kinds.end(), "credit_minted") == 2);
  // Each mint directly follows the referral that completed its block.
  auto first_mint = std::find(kinds.begin(), kinds.end(), "credit_minted");
  REQUIRE(first_mint != kinds.end());
  CHECK(*(first_mint - 1) == "referral_counted");

  auto txn = d.env.begin_read();
  auto history = d.credits.history(txn, m.id, 100);
  REQUIRE(history.size() == 16);                         // 7 held, 7 counted, 2 minted
  CHECK(history.front()["kind"] == "referral_counted");  // newest first
  CHECK(history[1]["kind"] == "referral_held");
  CHECK(history[2]["kind"] == "credit_minted");  // after the sixth
  CHECK(history[2]["balance"] == 2);
  // A limit reads only the newest items: the same as the first ones of the whole history.
  CHECK(d.credits.history(txn, m.id, 3) ==
        std::vector<nlohmann::json>(history.begin(), history.begin() + 3));
  CHECK(d.credits.history(txn, other.id, 100).empty());
}

TEST_CASE("intake: a referral confirmed while its member is suspended does not count") {
  Domain d(1);
  auto m = d.admit("Paused KK").member;
  REQUIRE(submit(d, m.link_token, form_for("Goro", "goro@example.jp")).accepted);
  auto token = *queued_tokens(d, "goro@example.jp", "/r/v/").begin();
  d.write([&](storage::WriteTxn& txn) { return d.members.set_active(txn, m.id, false); });
  auto c = confirm(d, token);
  CHECK(c.state == referrals::ConfirmState::confirmed);
  CHECK_FALSE(c.minted);
  auto list = referrals_of(d, m.id);
  REQUIRE(list.size() == 1);
  CHECK(list[0].status == relay::node::referrals::ReferralStatus::verified);
  CHECK_FALSE(list[0].counted);
  CHECK(account(d, m.id).counted == 0);
  CHECK(account(d, m.id).minted == 0);
}

TEST_CASE("intake: a single-use link is consumed by its first registration") {
  Domain d;
  auto m = d.admit("ATS KK").member;
  auto issued = d.write([&](storage::WriteTxn& txn) {
    return d.referrals.issue_single_use(txn, m.id, "app-42", "B");
  });
  CHECK_FALSE(issued.used);
  // Derived, not random: an ATS retry gets the same link.
  auto again = d.write([&](storage::WriteTxn& txn) {
    return d.referrals.issue_single_use(txn, m.id, "app-42", "B");
  });
  CHECK(again.token == issued.token);
  CHECK_FALSE(again.used);
  auto other_app = d.write([&](storage::WriteTxn& txn) {
    return d.referrals.issue_single_use(txn, m.id, "app-43", "");
  });
  CHECK(other_app.token != issued.token);
  {
    auto txn = d.env.begin_read();
    auto target = d.intake.resolve_link(txn, issued.token);
    CHECK(target.state == referrals::LinkState::ok);
    REQUIRE(target.member);
    CHECK(target.member->id == m.id);
    REQUIRE(target.single);
    CHECK(target.single->application_id == "app-42");
  }
  auto c = register_person(d, issued.token, "rokuro@example.jp");
  CHECK(c.state == referrals::ConfirmState::confirmed);
  auto list = referrals_of(d, m.id);
  REQUIRE(list.size() == 1);
  CHECK(list[0].application_id == "app-42");
  CHECK(list[0].job_category == "B");

  auto before = snapshot(d);
  auto r = submit(d, issued.token, form_for("Shichiro", "shichiro@example.jp"));
  CHECK(r.link == referrals::LinkState::used);
  CHECK_FALSE(r.accepted);
  CHECK(snapshot(d) == before);
  auto reissued = d.write([&](storage::WriteTxn& txn) {
    return d.referrals.issue_single_use(txn, m.id, "app-42", "B");
  });
  CHECK(reissued.used);
  CHECK(reissued.token == issued.token);
}

TEST_CASE("intake: erasing a candidate shreds the data but keeps the member's referrals") {
  Domain d;
  auto m = d.admit("Erase KK").member;
  auto c = register_person(d, m.link_token, "hachiro@example.jp");
  REQUIRE(c.state == referrals::ConfirmState::confirmed);
  auto list = referrals_of(d, m.id);
  REQUIRE(list.size() == 1);
  auto id = list[0].candidate_id;
  auto before = account(d, m.id);

  auto spool = d.write([&](storage::WriteTxn& txn) {
    auto record = d.candidates.find(txn, id);
    return d.candidates.erase(txn, *record);
  });
  CHECK(spool.empty());  // nothing was spooled yet (no dispatcher here)
  auto txn = d.env.begin_read();
  auto record = d.candidates.find(txn, id);
  REQUIRE(record);
  CHECK(record->status == candidates::Status::erased);
  CHECK_FALSE(d.candidates.open(*record));
  auto stored = candidates::to_stored(*record);
  CHECK_FALSE(stored.contains("key"));
  CHECK_FALSE(stored.contains("data"));
  // The management link names the tombstone, which opens nothing.
  auto named = d.candidates.find_managed(txn, c.management_token);
  REQUIRE(named);
  CHECK(named->status == candidates::Status::erased);
  CHECK_FALSE(d.candidates.find_by_pseudonym(txn, record->pseudonym));
  CHECK(d.candidates.queued_mail(txn, 100).empty());
  auto a = d.credits.account(txn, m.id);
  CHECK(a.counted == before.counted);
  CHECK(a.minted == before.minted);
  CHECK(d.referrals.for_member(txn, m.id).size() == 1);
}

// Issue 19: the links a registration and a confirmation mail are record_links (the record's id
// and a MAC), so a first registration (intake state, confirmation link), a second member's
// registration, the confirmation (management link, used link), and a registration after it
// (the management link mailed again) write no token entry; erasure leaves no link working.
TEST_CASE("intake: a registration and confirmation bind no token; erasure ends their links") {
  Domain d;
  auto m1 = d.admit("Bind One KK").member;
  auto m2 = d.admit("Bind Two KK").member;
  const std::string email = "kuro@example.jp";
  auto form = form_for("Kuro", email);
  form["nonce"] = "nonce-bind-0000000001";
  REQUIRE(submit(d, m1.link_token, form).accepted);
  auto m1_links = queued_tokens(d, email, "/r/v/");
  REQUIRE(m1_links.size() == 1);
  form["nonce"] = "nonce-bind-0000000002";
  REQUIRE(submit(d, m2.link_token, form).accepted);
  REQUIRE(queued_tokens(d, email, "/r/v/").size() == 2);
  auto c = confirm(d, *m1_links.begin());  // m1's referral is the one confirmed
  REQUIRE(c.state == referrals::ConfirmState::confirmed);
  form["nonce"] = "nonce-bind-0000000003";
  REQUIRE(submit(d, m1.link_token, form).accepted);  // already confirmed: management link
  CHECK(queued_tokens(d, email, "/r/m/") == std::set<std::string>{c.management_token});

  const auto tokens_db = d.env.database("candidate_tokens");
  std::string id;
  {
    auto txn = d.env.begin_read();
    auto record = d.candidates.find_managed(txn, c.management_token);
    REQUIRE(record);
    id = record->id;
    // Nothing: the two confirmation links (one used), the management link and the intake
    // state are the record's own, not entries.
    CHECK(txn.count(tokens_db) == 0);
    REQUIRE(record->intake);
    CHECK(record->intake->links.size() == 2);
    CHECK(candidates::to_stored(*record).at("tokens").empty());
  }
  d.write([&](storage::WriteTxn& txn) {
    auto record = d.candidates.find(txn, id);
    return d.candidates.erase(txn, *record);
  });
  auto txn = d.env.begin_read();
  CHECK(txn.count(tokens_db) == 0);
  CHECK_FALSE(d.candidates.find(txn, id)->intake);
  CHECK_FALSE(d.intake.verification_used(txn, *m1_links.begin()));
  CHECK_FALSE(d.intake.verify_link(txn, *m1_links.begin()));
}

// GET /api/v1/referrals?limit=&after= (issue 19): pages in the order made, read from their own
// index (member_referrals_by_time), which a data directory from before it gets built once.
namespace {
// One page of each_for_member, collected; each_listed must give the same page.
struct Page {
  std::vector<referrals::Referral> items;
  bool more = false;
};
std::optional<Page> page_for_member(Domain& d, const storage::Txn& txn, const std::string& member,
                                    std::size_t limit, const std::string& after) {
  Page page;
  std::vector<std::pair<std::string, std::string>> expected;
  auto more = d.referrals.each_for_member(
      txn, member, limit, after, [&](const referrals::Referral& r, std::string_view json) {
        // The text handed with each referral is its member JSON as written now.
        CHECK(json == nlohmann::json(r.to_member_json()).dump());
        page.items.push_back(r);
        expected.emplace_back(r.id, json);
      });
  std::vector<std::pair<std::string, std::string>> listed;
  auto listed_more = d.referrals.each_listed(
      txn, member, limit, after,
      [&](std::string_view id, std::string_view json) { listed.emplace_back(id, json); });
  CHECK(listed == expected);
  CHECK(listed_more == more);
  if (!more) return std::nullopt;
  page.more = *more;
  return page;
}
// What member_referrals_by_time holds, by referral id.
std::map<std::string, std::string> stored_listings(Domain& d) {
  std::map<std::string, std::string> out;
  auto txn = d.env.begin_read();
  txn.for_each_prefix(d.env.database("member_referrals_by_time"), "",
                      [&](std::string_view key, std::string_view value) {
                        out[std::string(key.substr(key.find('/') + 9))] = value;
                      });
  return out;
}
// A data directory from before the index kept the member JSON (its keys with empty values),
// or kept it in another form (every other entry: another mark), and the build that writes the
// JSON not yet run.
void blank_listings(Domain& d) {
  d.write([&](storage::WriteTxn& txn) {
    auto by_time = d.env.database("member_referrals_by_time");
    std::vector<std::string> keys;
    txn.for_each_prefix(by_time, "",
                        [&](std::string_view k, std::string_view) { keys.emplace_back(k); });
    for (std::size_t i = 0; i < keys.size(); ++i)
      txn.put(by_time, keys[i], i % 2 ? "" : "0{\"stale\":1}");
    txn.del(d.env.database(storage::kIndexMarks), "member_referrals_listing_1");
  });
}
// What a node does for its referrals' indexes at start-up, and then in the background; how
// many entries it wrote or visited.
std::size_t rebuild(Domain& d) {
  std::size_t n = d.write([&](storage::WriteTxn& txn) { return d.referrals.index_existing(txn); });
  while (auto more =
             d.write([&](storage::WriteTxn& txn) { return d.referrals.write_listings(txn, 4096); }))
    n += more;
  return n;
}
}  // namespace

TEST_CASE("referrals: a member's referrals page in the order made; the index is built once") {
  Domain d;
  CHECK(rebuild(d) == 0);  // as at a node's first start: every build marked done
  auto m = d.admit("Page KK").member;
  auto other = d.admit("Other Page KK").member;
  for (int i = 0; i < 7; ++i) {
    d.clock.advance(std::chrono::milliseconds(1000));
    submit(d, m.link_token, form_for("Page", "page" + std::to_string(i) + "@example.jp"));
    if (i % 3 == 0)
      submit(d, other.link_token, form_for("Other", "other" + std::to_string(i) + "@example.jp"));
  }
  std::vector<std::string> made;
  for (const auto& r : referrals_of(d, m.id)) made.push_back(r.id);
  REQUIRE(made.size() == 7);
  // How many each member has: one read of member_referral_counts.
  auto counts = [&] {
    auto txn = d.env.begin_read();
    return std::pair{d.referrals.count_for_member(txn, m.id),
                     d.referrals.count_for_member(txn, other.id)};
  };
  CHECK(counts() == std::pair<std::uint64_t, std::uint64_t>{7, 3});
  {
    auto txn = d.env.begin_read();
    CHECK(d.referrals.count_for_member(txn, "m_nosuchmember") == 0);
  }
  auto pages = [&](std::size_t limit) {
    std::vector<std::vector<std::string>> out;
    auto txn = d.env.begin_read();
    std::string after;
    for (bool more = true; more;) {
      auto page = page_for_member(d, txn, m.id, limit, after);
      REQUIRE(page);
      std::vector<std::string> ids;
      for (const auto& r : page->items) {
        CHECK(r.member_id == m.id);
        ids.push_back(r.id);
      }
      out.push_back(ids);
      more = page->more;
      if (more) after = ids.back();
    }
    return out;
  };
  auto three = pages(3);
  REQUIRE(three.size() == 3);
  CHECK(three[0] == std::vector<std::string>(made.begin(), made.begin() + 3));
  CHECK(three[1] == std::vector<std::string>(made.begin() + 3, made.begin() + 6));
  CHECK(three[2] == std::vector<std::string>{made[6]});
  CHECK(pages(7) == std::vector<std::vector<std::string>>{made});  // exactly full: no more
  CHECK(pages(100) == std::vector<std::vector<std::string>>{made});
  // Last made first (?order=newest): the same referrals from the other end, the other member's
  // (made in between) left out; each_listed gives each page as each_for_member does.
  auto newest = [&](std::size_t limit) {
    std::vector<std::string> out;
    auto txn = d.env.begin_read();
    std::string after;
    for (;;) {
      std::vector<std::string> ids, listed;
      auto more = d.referrals.each_for_member(
          txn, m.id, limit, after,
          [&](const referrals::Referral& r, std::string_view) { ids.push_back(r.id); }, true);
      auto listed_more = d.referrals.each_listed(
          txn, m.id, limit, after,
          [&](std::string_view id, std::string_view) { listed.emplace_back(id); }, true);
      REQUIRE(more);
      CHECK(listed == ids);
      CHECK(listed_more == more);
      CHECK(ids.size() <= limit);
      out.insert(out.end(), ids.begin(), ids.end());
      if (!*more) return out;
      after = out.back();
    }
  };
  for (std::size_t limit : {1, 3, 7, 100})
    CHECK_MESSAGE(newest(limit) == std::vector<std::string>(made.rbegin(), made.rend()), limit);
  {
    auto txn = d.env.begin_read();
    auto theirs = d.referrals.for_member(txn, other.id);
    REQUIRE(theirs.size() == 3);
    CHECK_FALSE(page_for_member(d, txn, m.id, 3, theirs[0].id));  // not m's
    CHECK_FALSE(page_for_member(d, txn, m.id, 3, "r_nosuchreferral"));
    auto last = page_for_member(d, txn, m.id, 3, made.back());
    REQUIRE(last);
    CHECK(last->items.empty());
    CHECK_FALSE(last->more);
  }
  // The member JSON handed with each referral follows its record: a change shows at once, and
  // a change rolled back (its record was cached as it was written) does not.
  auto first_json = [&] {
    std::string json;
    auto txn = d.env.begin_read();
    d.referrals.each_listed(txn, m.id, 1, "",
                            [&](std::string_view, std::string_view j) { json = j; });
    REQUIRE(page_for_member(d, txn, m.id, 1, ""));  // each_for_member agrees
    return json;
  };
  auto set_stage = [&](storage::WriteTxn& txn, const std::string& stage) {
    auto r = d.referrals.find(txn, made[0]);
    REQUIRE(r);
    r->stage = stage;
    d.referrals.save(txn, *r);
  };
  CHECK(first_json().find("\"stage\"") == std::string::npos);
  d.write([&](storage::WriteTxn& txn) { set_stage(txn, "interview"); });
  CHECK(first_json().find("\"stage\":\"interview\"") != std::string::npos);
  CHECK_THROWS_AS(d.write([&](storage::WriteTxn& txn) {
    set_stage(txn, "offer");
    throw std::runtime_error("rolled back");
  }),
                  std::runtime_error);
  CHECK(first_json().find("\"stage\":\"interview\"") != std::string::npos);
  CHECK(first_json().find("offer") == std::string::npos);
  // Every entry of the index holds its referral's member JSON, behind the listing's mark.
  const auto listings = stored_listings(d);
  REQUIRE(listings.size() == 10);
  {
    auto txn = d.env.begin_read();
    for (const auto& [id, value] : listings) {
      auto r = d.referrals.find(txn, id);
      REQUIRE(r);
      CHECK(value == "1" + nlohmann::json(r->to_member_json()).dump());
    }
  }
  // A directory whose index predates the JSON: pages are looked up, the same, until the
  // start-up build writes the JSON in.
  blank_listings(d);
  for (const auto& [id, value] : stored_listings(d)) CHECK((value.empty() || value[0] == '0'));
  CHECK(pages(3) == three);
  CHECK(first_json().find("\"stage\":\"interview\"") != std::string::npos);
  CHECK(rebuild(d) == 10);
  CHECK(stored_listings(d) == listings);
  CHECK(pages(3) == three);
  // An older data directory: no index, no counts, no mark; the start-up build restores the
  // same pages (10 entries) and counts (2 members).
  d.write([&](storage::WriteTxn& txn) {
    txn.clear(d.env.database("member_referrals_by_time"));
    txn.clear(d.env.database("member_referral_counts"));
    txn.clear(d.env.database(storage::kIndexMarks));
    txn.put(d.env.database("member_referrals"), m.id + "/" + made[0], "");  // the old index
  });
  CHECK(pages(3) == std::vector<std::vector<std::string>>{{}});
  CHECK(counts() == std::pair<std::uint64_t, std::uint64_t>{0, 0});
  CHECK(rebuild(d) == 12);
  CHECK(pages(3) == three);
  CHECK(counts() == std::pair<std::uint64_t, std::uint64_t>{7, 3});
  CHECK(stored_listings(d) == listings);  // written with the keys: nothing left to list
  CHECK(d.write([&](storage::WriteTxn& txn) { return d.referrals.write_listings(txn, 4096); }) ==
        0);
  CHECK(d.env.begin_read().count(d.env.database("member_referrals")) == 0);  // emptied
  CHECK(rebuild(d) == 0);
  // A referral made after the build is counted on.
  submit(d, other.link_token, form_for("Other", "other-late@example.jp"));
  CHECK(counts() == std::pair<std::uint64_t, std::uint64_t>{7, 4});
}

TEST_CASE("referrals: member_people's entries move next to each person's key, once") {
  Domain d;
  CHECK(rebuild(d) == 0);
  auto m = d.admit("Moved KK").member;
  auto other = d.admit("Other Moved KK").member;
  submit(d, m.link_token, form_for("Moved", "moved1@example.jp"));
  d.clock.advance(std::chrono::milliseconds(1000));  // all[1], below, is moved2's
  submit(d, m.link_token, form_for("Moved", "moved2@example.jp"));
  submit(d, other.link_token, form_for("Moved", "moved1@example.jp"));
  auto all = referrals_of(d, m.id);
  for (const auto& r : referrals_of(d, other.id)) all.push_back(r);
  REQUIRE(all.size() == 3);
  // As an older node left them: member "/" pseudonym in member_people, the move not yet made.
  const auto people = d.env.database(candidates::kPseudonyms);
  const auto old_people = d.env.database("member_people");
  d.write([&](storage::WriteTxn& txn) {
    for (const auto& r : all) {
      CHECK(txn.del(people, r.pseudonym + "/" + r.member_id));
      txn.put(old_people, r.member_id + "/" + r.pseudonym, r.id);
    }
    // More than the build moves at once (4,096), as a large directory has.
    for (int i = 0; i < 5000; ++i)
      txn.put(old_people, other.id + "/p" + std::to_string(100000 + i), "r_x" + std::to_string(i));
    txn.del(d.env.database(storage::kIndexMarks), "person_referrals");
  });
  {
    auto txn = d.env.begin_read();
    CHECK_FALSE(d.referrals.for_person(txn, m.id, all[0].pseudonym));
  }
  CHECK(rebuild(d) == 3 + 5000);
  {
    auto txn = d.env.begin_read();
    for (const auto& r : all) {
      auto found = d.referrals.for_person(txn, r.member_id, r.pseudonym);
      REQUIRE(found);
      CHECK(found->id == r.id);
    }
    CHECK_FALSE(d.referrals.for_person(txn, other.id, all[1].pseudonym));
    CHECK(txn.get(people, "p100000/" + other.id) == "r_x0");
    CHECK(txn.get(people, "p104999/" + other.id) == "r_x4999");
    CHECK(txn.count(old_people) == 0);
    CHECK(txn.count(people) == 2 + 3 + 5000);  // two people, their three referrals, the rest
  }
  CHECK(rebuild(d) == 0);
  // The person registering again behind the same link is the same referral.
  submit(d, m.link_token, form_for("Moved", "moved1@example.jp"));
  CHECK(referrals_of(d, m.id).size() == 2);
}

TEST_CASE("referrals: the background build lists every entry, a txn per chunk") {
  Domain d;
  CHECK(rebuild(d) == 0);  // as at a node's first start: every build marked done
  auto m = d.admit("Many KK").member;
  constexpr std::size_t kMany = 4096 * 2 + 5;
  d.write([&](storage::WriteTxn& txn) {
    for (std::size_t i = 0; i < kMany; ++i)
      d.referrals.create(txn, m.id, "c_" + std::to_string(i), "p" + std::to_string(i), "", "");
  });
  REQUIRE(stored_listings(d).size() == kMany);
  CHECK(d.referrals.count_for_member(d.env.begin_read(), m.id) == kMany);  // one txn, one key
  blank_listings(d);
  // A txn per chunk, each going on where the last stopped; then nothing more to do.
  auto chunk = [&] {
    return d.write([&](storage::WriteTxn& txn) { return d.referrals.write_listings(txn, 4096); });
  };
  CHECK(chunk() == 4096);
  // Meanwhile the node serves: the entry the build reaches last changes, and a referral is
  // made; save() lists both, and the build leaves them as they are.
  std::string last_id;
  {
    auto txn = d.env.begin_read();
    txn.for_each_prefix(
        d.env.database("member_referrals_by_time"), "",
        [&](std::string_view key, std::string_view) { last_id = key.substr(key.find('/') + 9); });
  }
  d.write([&](storage::WriteTxn& txn) {
    auto r = d.referrals.find(txn, last_id);
    REQUIRE(r);
    r->stage = "interview";
    d.referrals.save(txn, *r);
    d.clock.advance(std::chrono::milliseconds(1));  // made after the rest: listed last
    d.referrals.create(txn, m.id, "c_late", "p_late", "", "");
  });
  CHECK(chunk() == 4096);
  CHECK(chunk() == 6);  // the five left and the one made meanwhile
  // Every entry now holds its record's listing, the changed one's stage included.
  const auto listings = stored_listings(d);
  CHECK(listings.size() == kMany + 1);
  {
    auto txn = d.env.begin_read();
    for (const auto& [id, value] : listings) {
      auto r = d.referrals.find(txn, id);
      REQUIRE(r);
      REQUIRE(value == "1" + nlohmann::json(r->to_member_json()).dump());
    }
    CHECK(listings.at(last_id).find("\"stage\":\"interview\"") != std::string::npos);
  }
  CHECK(chunk() == 0);
  CHECK(rebuild(d) == 0);
}

TEST_SUITE_END();
