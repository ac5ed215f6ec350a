// Alumni links (issue 14, item 1): people leaving a member (退職者) register through its alumni
// link as rejected candidates do, are marked as its alumni, and count toward credits only if
// the operator configured it (the ledger says which, so the auditor agrees either way). The
// member finds them again: listed (anonymised) and marked in its matches with a reason.
#include "node/services/alumni.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "ledger_audit.hpp"
#include "node/domain_fixture.hpp"
#include "node/matching/scorer.hpp"
#include "node/storage/index_marks.hpp"
#include "protocol/event.hpp"
#include "protocol/ledger_entry.hpp"

using namespace relay::node;
using relay::test::Domain;
using Form = std::map<std::string, std::string>;

namespace {

Form form_for(const std::string& email) {
  return {{"name", "Alumnus " + email},         {"email", email},         {"job_category", "H"},
          {"skills", "フォークリフト, 玉掛け"}, {"prefecture", "JP-28"},  {"age_band", "35-44"},
          {"experience_band", "6-10"},          {"consent_region", "yes"}};
}

// The node records its genesis and, if alumni count, the rule (as Node::record_genesis does).
void genesis(Domain& d, std::uint32_t ratio, bool alumni_count) {
  d.write([&](storage::WriteTxn& txn) {
    auto keys = d.keys.current();
    d.ledger.append(txn, relay::protocol::node_initialised("JP-28", ratio, keys->signing.public_key,
                                                           keys->encryption.public_key));
    if (alumni_count) d.ledger.append(txn, relay::protocol::alumni_credit_rule(true));
  });
}

// Registers and confirms one person through link; returns the confirmation's result.
referrals::ConfirmResult register_through(Domain& d, const std::string& link, const Form& form) {
  auto submitted =
      d.write([&](storage::WriteTxn& txn) { return d.intake.submit(txn, link, form); });
  REQUIRE(submitted.accepted);
  std::string token;
  {
    auto txn = d.env.begin_read();
    for (const auto& q : d.candidates.queued_mail(txn, 10'000)) {
      auto at = q.mail.body.find("/r/v/");
      if (q.mail.to != form.at("email") || at == std::string::npos) continue;
      auto start = at + 5;
      token = q.mail.body.substr(start, q.mail.body.find_first_of("\r\n ", start) - start);
    }
  }
  REQUIRE_FALSE(token.empty());
  return d.write([&](storage::WriteTxn& txn) { return d.intake.confirm(txn, token); });
}

std::string alumni_link(Domain& d, const std::string& member, const std::string& departure = "") {
  auto issued = d.write([&](storage::WriteTxn& txn) {
    return d.referrals.issue_alumni_link(txn, member, departure);
  });
  CHECK_FALSE(issued.used);
  return issued.token;
}

std::vector<relay::protocol::LedgerEntry> entries(Domain& d, std::string_view kind) {
  std::vector<relay::protocol::LedgerEntry> out;
  auto txn = d.env.begin_read();
  for (std::uint64_t i = 0; i < d.ledger.size(txn); ++i) {
    auto e = std::get<relay::protocol::LedgerEntry>(
        relay::protocol::parse_entry(*d.ledger.entry(txn, i)));
    if (e.kind == kind) out.push_back(std::move(e));
  }
  return out;
}

void audit_agrees(Domain& d, const std::string& member) {
  auto audited = relay::test::audit_ledger(d.env, d.ledger);
  std::string text;
  for (const auto& p : audited.problems) text += p + "\n";
  INFO(text);
  CHECK(audited.problems.empty());
  auto txn = d.env.begin_read();
  auto account = d.credits.account(txn, member);
  CHECK(audited.balances.at(member).balance == account.balance());
  CHECK(audited.balances.at(member).verified_referrals == account.counted);
}

std::string ref_of(const std::string& candidate_id) {
  return "p_" + candidate_id;
}

}  // namespace

TEST_SUITE_BEGIN("alumni");

TEST_CASE("alumni: registered through the alumni link, marked, and no credit by default") {
  Domain d(1);  // one referral per credit: any counted referral would mint
  genesis(d, 1, false);
  auto m = d.admit("Leaving KK").member;
  auto link = alumni_link(d, m.id);
  CHECK(link.front() == 'a');
  CHECK(alumni_link(d, m.id) == link);  // the static link is derived: the same again

  auto confirmed = register_through(d, link, form_for("taro@example.jp"));
  CHECK(confirmed.state == referrals::ConfirmState::confirmed);
  CHECK_FALSE(confirmed.minted);

  auto txn = d.env.begin_read();
  auto refs = d.referrals.for_member(txn, m.id);
  REQUIRE(refs.size() == 1);
  CHECK(refs[0].kind == "alumni");
  CHECK(refs[0].status == relay::node::referrals::ReferralStatus::verified);
  CHECK_FALSE(refs[0].counted);
  CHECK(refs[0].to_member_json().at("kind") == "alumni");
  CHECK(d.referrals.is_alumnus(txn, m.id, refs[0].candidate_id));
  CHECK(d.credits.account(txn, m.id).minted == 0);
  auto verified = entries(d, "referral_verified");
  REQUIRE(verified.size() == 1);
  CHECK(verified[0].data.at("kind") == "alumni");
  CHECK(verified[0].data.at("counted") == false);
  // Ids and a pseudonym only: no name or address in the entry.
  CHECK(verified[0].data.dump().find("taro") == std::string::npos);
  CHECK(entries(d, "credit_minted").empty());

  SUBCASE("a rejection referral of the same member still counts") {
    auto confirmed_rejection = register_through(d, m.link_token, form_for("hanako@example.jp"));
    CHECK(confirmed_rejection.minted);
    auto again = d.env.begin_read();
    CHECK(d.credits.account(again, m.id).minted == 1);
    auto rejection = entries(d, "referral_held").back();
    CHECK_FALSE(rejection.data.contains("kind"));  // a rejection referral carries no kind
  }
  audit_agrees(d, m.id);
}

TEST_CASE("alumni: with credits.alumni_count_toward_credits they count, and the audit agrees") {
  Domain d(2, true);
  genesis(d, 2, true);
  auto m = d.admit("Counting KK").member;
  auto link = alumni_link(d, m.id);
  CHECK_FALSE(register_through(d, link, form_for("a1@example.jp")).minted);
  CHECK(register_through(d, link, form_for("a2@example.jp")).minted);
  auto txn = d.env.begin_read();
  CHECK(d.credits.account(txn, m.id).counted == 2);
  CHECK(d.credits.account(txn, m.id).minted == 1);
  audit_agrees(d, m.id);
}

TEST_CASE("alumni: counting without the rule in the ledger is what the auditor names") {
  Domain d(1, true);
  genesis(d, 1, false);  // the node forgot to record the rule
  auto m = d.admit("Forgetful KK").member;
  register_through(d, alumni_link(d, m.id), form_for("f@example.jp"));
  auto audited = relay::test::audit_ledger(d.env, d.ledger);
  REQUIRE_FALSE(audited.problems.empty());
  CHECK(audited.problems.front().find("alumni referral held while alumni do not count") !=
        std::string::npos);
}

TEST_CASE("alumni: a single-use alumni link is used once; other members' links are theirs") {
  Domain d;
  auto m = d.admit("Single KK").member;
  auto other = d.admit("Other KK").member;
  auto link = alumni_link(d, m.id, "emp-42");
  CHECK(link != alumni_link(d, m.id));
  CHECK(link != alumni_link(d, other.id, "emp-42"));
  {
    auto txn = d.env.begin_read();
    auto target = d.intake.resolve_link(txn, link);
    CHECK(target.state == referrals::LinkState::ok);
    REQUIRE(target.alumni);
    CHECK(target.member->id == m.id);
    CHECK(target.alumni->single_use());
  }
  register_through(d, link, form_for("once@example.jp"));
  auto txn = d.env.begin_read();
  CHECK(d.intake.resolve_link(txn, link).state == referrals::LinkState::used);
  auto reissued = d.write(
      [&](storage::WriteTxn& w) { return d.referrals.issue_alumni_link(w, m.id, "emp-42"); });
  CHECK(reissued.used);
  CHECK(d.referrals.alumni_of(txn, other.id).empty());
  CHECK(d.referrals.alumni_of(txn, m.id).size() == 1);
}

TEST_CASE("alumni: the member lists its alumni who may be found, anonymised") {
  Domain d;
  auto m = d.admit("List KK").member;
  auto other = d.admit("Else KK").member;
  auto link = alumni_link(d, m.id);
  register_through(d, link, form_for("shown@example.jp"));
  register_through(d, link, form_for("hidden@example.jp"));
  // The second alumnus later narrows their consent: no longer shown to the region's members.
  std::optional<candidates::CandidateRecord> hidden;
  {
    auto txn = d.env.begin_read();
    REQUIRE(d.referrals.alumni_of(txn, m.id).size() == 2);
    hidden = d.candidates.find_by_pseudonym(
        txn, d.candidates.pseudonym_of(*candidates::normalise_email("hidden@example.jp")));
  }
  REQUIRE(hidden);
  hidden->consent.region = false;
  d.write([&](storage::WriteTxn& w) { d.candidates.save(w, *hidden); });
  register_through(d, other.link_token, form_for("rejected@example.jp"));
  services::Alumni alumni(d.env, d.writer, d.referrals, d.candidates, ref_of, "unit.relaynode");

  auto list = alumni.page(m, SIZE_MAX, std::nullopt).alumni;
  REQUIRE(list.size() == 1);
  auto j = list[0].to_json();
  CHECK(j.at("node") == "unit.relaynode");
  CHECK(j.at("ref").get<std::string>().starts_with("p_"));
  CHECK(j.at("profile").at("job_category") == "H");
  const auto text = j.dump();
  for (const char* personal : {"shown@example.jp", "Alumnus", "email", "name"})
    CHECK(text.find(personal) == std::string::npos);
  CHECK(alumni.page(other, SIZE_MAX, std::nullopt).alumni.empty());

  SUBCASE("issue_link: static, single use, and used") {
    auto s = alumni.issue_link(m, "");
    REQUIRE(s);
    CHECK_FALSE(s->single_use);
    auto one = alumni.issue_link(m, "emp-1");
    REQUIRE(one);
    CHECK(one->single_use);
    register_through(d, one->token, form_for("emp1@example.jp"));
    auto again = alumni.issue_link(m, "emp-1");
    REQUIRE_FALSE(again);
    CHECK(again.error() == services::AlumniError::link_used);
  }
}

// A page reads from where the last one ended, in the order the alumni confirmed, whoever
// confirmed in the same millisecond and whoever is no longer shown.
TEST_CASE("alumni: pages go on after the last one shown, in the order confirmed") {
  Domain d;
  auto m = d.admit("Pages KK").member;
  auto link = alumni_link(d, m.id);
  std::vector<std::string> emails;
  for (int i = 0; i < 9; ++i) {
    emails.push_back("a" + std::to_string(i) + "@example.jp");
    register_through(d, link, form_for(emails.back()));
    if (i % 3 != 1) d.clock.advance(std::chrono::milliseconds(5));  // pairs in one millisecond
  }
  auto record_of = [&](const std::string& email) {
    auto txn = d.env.begin_read();
    auto r = d.candidates.find_by_pseudonym(
        txn, d.candidates.pseudonym_of(*candidates::normalise_email(email)));
    REQUIRE(r);
    return *r;
  };
  auto hide = [&](const std::string& email) {
    auto r = record_of(email);
    r.consent.region = false;
    d.write([&](storage::WriteTxn& w) { d.candidates.save(w, r); });
  };
  hide(emails[4]);
  hide(emails[8]);  // the last: a page ending before it has nothing after it to show
  services::Alumni alumni(d.env, d.writer, d.referrals, d.candidates, ref_of, "unit.relaynode");
  auto refs = [](const std::vector<services::AlumnusView>& list) {
    std::vector<std::string> out;
    for (const auto& a : list) out.push_back(a.ref);
    return out;
  };
  const auto whole = alumni.page(m, SIZE_MAX, std::nullopt);
  CHECK_FALSE(whole.more);
  REQUIRE(whole.alumni.size() == 7);
  CHECK(std::is_sorted(whole.alumni.begin(), whole.alumni.end(),
                       [](const auto& a, const auto& b) { return a.since_ms < b.since_ms; }));
  auto check_pages = [&] {
    const auto all = refs(alumni.page(m, SIZE_MAX, std::nullopt).alumni);
    REQUIRE_FALSE(all.empty());
    for (std::size_t limit : {1, 2, 3, 7}) {
      CAPTURE(limit);
      std::vector<services::AlumnusView> read;
      std::optional<services::AlumniPlace> after;
      for (int pages = 0; pages < 10; ++pages) {
        auto page = alumni.page(m, limit, after);
        CHECK(page.alumni.size() <= limit);
        read.insert(read.end(), page.alumni.begin(), page.alumni.end());
        if (!page.more) break;
        REQUIRE_FALSE(page.alumni.empty());
        after = services::AlumniPlace{page.alumni.back().since_ms, page.alumni.back().ref};
      }
      CHECK(refs(read) == all);
    }
  };
  check_pages();
  // A page that ended at someone who is hidden since goes on after them.
  auto first_two = alumni.page(m, 2, std::nullopt);
  REQUIRE(first_two.more);
  for (const auto& email : emails)
    if (ref_of(record_of(email).id) == first_two.alumni.back().ref) hide(email);
  auto rest = alumni.page(
      m, 10, services::AlumniPlace{first_two.alumni.back().since_ms, first_two.alumni.back().ref});
  CHECK_FALSE(rest.more);
  const auto shown = refs(whole.alumni);
  CHECK(refs(rest.alumni) == std::vector<std::string>(shown.begin() + 2, shown.end()));

  // A data directory from before the index: built once from member_alumni, the same pages.
  d.write([&](storage::WriteTxn& txn) { return d.referrals.index_existing(txn); });  // the rest
  d.write([&](storage::WriteTxn& txn) {
    txn.clear(d.env.database("member_alumni_by_time"));
    txn.del(d.env.database(storage::kIndexMarks), "member_alumni_by_time");
  });
  CHECK(alumni.page(m, SIZE_MAX, std::nullopt).alumni.empty());
  CHECK(d.write([&](storage::WriteTxn& txn) { return d.referrals.index_existing(txn); }) == 9);
  CHECK(refs(alumni.page(m, SIZE_MAX, std::nullopt).alumni).size() == 6);
  check_pages();
}

TEST_CASE("alumni: the member's own alumni get the re-hire reason in its matches, no one else") {
  Domain d;
  auto m = d.admit("Match KK").member;
  auto other = d.admit("Rival KK").member;
  register_through(d, alumni_link(d, m.id), form_for("back@example.jp"));
  std::string candidate;
  {
    auto txn = d.env.begin_read();
    candidate = d.referrals.alumni_of(txn, m.id).at(0).first;
  }
  matching::Criteria criteria;
  criteria.category = "H";
  criteria.required_skills = {"フォークリフト"};
  auto profile = [&](std::string holder) {
    matching::AnonymisedProfile p;
    p.ref = ref_of(candidate);
    p.holder = std::move(holder);
    p.job_category = "H";
    p.skills = {"フォークリフト"};
    return p;
  };
  matching::Scorer scorer(d.reference);
  auto marked_for = [&](const std::string& member, const std::string& holder) {
    std::vector<matching::AnonymisedProfile> profiles{profile(holder)};
    auto txn = d.env.begin_read();
    services::mark_alumni(txn, d.referrals, ref_of, member, "unit.relaynode", profiles);
    return scorer.score(criteria, profiles[0]);
  };
  auto own = marked_for(m.id, "unit.relaynode");
  auto rival = marked_for(other.id, "unit.relaynode");
  auto peer = marked_for(m.id, "peer.relaynode");  // a peer's ref is not this node's alumnus
  CHECK(own.score == rival.score + matching::Points::alumni);
  CHECK(peer.score == rival.score);
  REQUIRE_FALSE(own.reasons.empty());
  const auto& reason = own.reasons.back();
  CHECK(reason.feature == "alumni");
  CHECK(reason.points == 20);
  CHECK(reason.ja == "この会社の退職者（再雇用）");
  CHECK(reason.en.find("re-hire") != std::string::npos);
  int sum = 0;
  for (const auto& r : own.reasons) sum += r.points;
  CHECK(sum == own.score);
  CHECK(std::none_of(rival.reasons.begin(), rival.reasons.end(),
                     [](const matching::Reason& r) { return r.feature == "alumni"; }));
}

TEST_SUITE_END();
