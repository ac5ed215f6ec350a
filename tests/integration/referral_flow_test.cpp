// The local referral flow end to end (issue 2): a real relay-node on loopback, driven over
// HTTP exactly as a member, an operator and a candidate would drive it.
//
// Most cases share one node (shared_node()); each creates its own members and candidates
// with unique names, so none depends on another's data or order. The cases that stop, kill
// or restart a node, or that count every byte on disk, start their own.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "node/storage/environment.hpp"
#include "node/storage/index_marks.hpp"
#include "node/storage/txn.hpp"
#include "support/names.hpp"
#include "support/node_process.hpp"
#include "support/vectors.hpp"
#include "support/wire_reply.hpp"

namespace fs = std::filesystem;
using relay::test::contains;
using relay::test::eventually;
using relay::test::HttpReply;
using relay::test::member_credits;
using relay::test::member_referrals;
using relay::test::NodeProcess;
using relay::test::path_of;
using relay::test::replies_in;
using relay::test::TestCandidate;
using relay::test::TestMember;
using relay::test::unique;
using namespace std::chrono_literals;

namespace {

NodeProcess::Options options(std::string name, std::vector<std::string> init_args = {}) {
  NodeProcess::Options o;
  o.name = std::move(name);
  o.init_args = std::move(init_args);
  return o;
}

NodeProcess& shared_node() {
  // Many cases here present unknown keys on purpose; the guessing limit has its own test
  // (abuse_test.cpp).
  static NodeProcess node([] {
    auto o = options("flow.relaynode");
    // Cases here send far more registrations through one link than a company's rejections
    // would (limits.per_link has its own test: attack_limits_test.cpp).
    o.configure = [](nlohmann::json& c) {
      c["http"]["credential_guesses"] = 100000;
      c["limits"]["per_link"]["requests"] = 0;
    };
    return o;
  }());
  return node;
}

TestCandidate candidate(const std::string& stem) {
  auto tag = unique(stem);
  return TestCandidate{"山田 " + tag, tag + "@example.jp", {}};
}

nlohmann::json member_list(const NodeProcess& node) {
  auto reply = node.get("/api/v1/members", node.admin_token());
  REQUIRE(reply.status == 200);
  return reply.json().at("members");
}

// The status line of a raw HTTP response ("HTTP/1.1 400 Bad Request"), or "" if none.
std::string status_line(const std::string& raw) {
  return raw.substr(0, raw.find("\r\n"));
}

std::size_t count_of(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

// Every regular file under dir whose bytes contain needle.
std::vector<fs::path> files_containing(const fs::path& dir, const std::string& needle) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) continue;
    std::string bytes;
    try {
      bytes = relay::test::read_file(entry.path());
    } catch (const std::exception&) {
      continue;  // removed meanwhile
    }
    if (bytes.find(needle) != std::string::npos) out.push_back(entry.path());
  }
  return out;
}

}  // namespace

TEST_SUITE_BEGIN("referral flow");

TEST_CASE("flow: a member's relay link leads to a verified referral") {
  auto& node = shared_node();
  auto ledger_before = node.ledger_size();

  // The operator admits a member; the API key is shown once.
  auto company = unique("Kobe Steelworks KK");
  auto admitted = node.post_json("/api/v1/members", {{"name", company}}, node.admin_token());
  REQUIRE(admitted.status == 201);
  auto a = admitted.json();
  REQUIRE(a.is_object());
  CHECK(a["name"] == company);
  CHECK(a["status"] == "active");
  CHECK(a["api_key"].get<std::string>().size() >= 32);
  TestMember member{a["id"], a["name"], a["api_key"], a["relay_link"]};
  CHECK(node.ledger_size() == ledger_before + 1);  // member_admitted
  // The listing never shows the key again.
  CHECK_FALSE(contains(node.get("/api/v1/members", node.admin_token()).body, member.api_key));

  // The member fetches its link and the paragraph for rejection emails.
  auto me = node.get("/api/v1/me", member.api_key);
  REQUIRE(me.status == 200);
  CHECK(me.json()["id"] == member.id);
  auto link_reply = node.get("/api/v1/relay-link", member.api_key);
  REQUIRE(link_reply.status == 200);
  auto link = link_reply.json();
  CHECK(link["url"] == member.relay_link);
  CHECK(link["url"].get<std::string>().rfind(node.url() + "/r/", 0) == 0);
  CHECK(contains(link["paragraph"]["ja"], member.relay_link));
  CHECK(contains(link["paragraph"]["en"], member.relay_link));
  auto link_path = path_of(member.relay_link);

  // The candidate page: Japanese by default, English with ?lang=en, both with the form.
  auto page = node.get(link_path);
  REQUIRE(page.status == 200);
  CHECK(contains(page.header("content-type"), "text/html"));
  CHECK(contains(page.body, "<html lang=\"ja\""));
  CHECK(contains(page.body, "キャリアリレーへの登録"));
  CHECK(contains(page.body, "<form method=\"post\" action=\"" + link_path + "\""));
  for (const char* field : {"name=\"name\"", "name=\"email\"", "name=\"job_category\"",
                            "name=\"skills\"", "name=\"prefecture\"", "name=\"age_band\"",
                            "name=\"experience_band\"", "name=\"consent_region\""})
    CHECK_MESSAGE(contains(page.body, field), field);
  CHECK(contains(page.body, company));
  auto page_en = node.get(link_path + "?lang=en");
  REQUIRE(page_en.status == 200);
  CHECK(contains(page_en.body, "<html lang=\"en\""));
  CHECK(contains(page_en.body, "Register with the career relay"));
  CHECK(contains(page_en.body, "action=\"" + link_path + "?lang=en\""));
  CHECK_FALSE(contains(page_en.body, "キャリアリレーへの登録"));

  // The candidate registers (a form post) and is asked to confirm by email.
  auto person = candidate("flow");
  auto submitted = node.submit_registration(link_path, person);
  REQUIRE(submitted.status == 200);
  CHECK(submitted.redirected_to == "/r/sent");
  CHECK(contains(submitted.body, "確認メールを送信しました"));
  auto verify = node.wait_mail_link(person.email, "/r/v/");
  CHECK(verify.rfind(node.url() + "/r/v/", 0) == 0);

  // The message itself: RFC 5322 with CRLF line ends and an encoded subject.
  auto mails = node.mails();
  auto mail =
      std::find_if(mails.begin(), mails.end(), [&](const auto& m) { return m.to == person.email; });
  REQUIRE(mail != mails.end());
  CHECK(mail->subject.rfind("=?UTF-8?B?", 0) == 0);
  CHECK(contains(mail->body, "\r\n"));
  CHECK(count_of(mail->body, "\n") == count_of(mail->body, "\r\n"));
  CHECK(contains(mail->body, company));

  // Pending until confirmed; the member sees no personal data.
  auto pending = member_referrals(node, member);
  REQUIRE(pending.size() == 1);
  CHECK(pending[0]["status"] == "pending");
  CHECK(pending[0]["counted"] == false);

  // The link is the record's id and a MAC, with no entry of its own: altered, it is refused
  // and confirms nothing.
  auto forged = path_of(verify);
  REQUIRE(forged.find('.') != std::string::npos);
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  CHECK(node.get(forged).status == 404);
  CHECK(node.request("POST", forged).status == 404);
  CHECK(member_referrals(node, member)[0]["status"] == "pending");

  // GET shows a confirmation button and confirms nothing (mail scanners prefetch links).
  auto confirm_page = node.get(path_of(verify));
  REQUIRE(confirm_page.status == 200);
  CHECK(contains(confirm_page.body, "<form method=\"post\" action=\"" + path_of(verify) + "\""));
  CHECK(member_referrals(node, member)[0]["status"] == "pending");

  // POST confirms and redirects to the management page, which says to keep its link private.
  auto confirmed = node.request("POST", path_of(verify));
  REQUIRE(confirmed.status == 200);
  CHECK(confirmed.redirected_to.rfind("/r/m/", 0) == 0);
  CHECK(contains(confirmed.body, "他の人に知らせない"));
  CHECK(contains(confirmed.body, "登録が完了しました"));
  CHECK(contains(confirmed.body, node.url() + "/r/m/"));
  // ...which is also mailed.
  auto manage = node.wait_mail_link(person.email, "/r/m/");
  CHECK(contains(confirmed.body, manage));
  CHECK(node.get(path_of(manage)).status == 200);
  // A record link too: altered, it opens nothing.
  auto forged_manage = path_of(manage);
  forged_manage.back() = forged_manage.back() == 'A' ? 'B' : 'A';
  CHECK(node.get(forged_manage).status == 404);

  auto verified = member_referrals(node, member);
  REQUIRE(verified.size() == 1);
  CHECK(verified[0]["status"] == "verified");
  CHECK(verified[0]["counted"] == true);
  CHECK(verified[0].contains("verified_ms"));
  auto listing = node.get("/api/v1/referrals", member.api_key).body;
  CHECK_FALSE(contains(listing, person.email));
  CHECK_FALSE(contains(listing, person.name));
  CHECK_FALSE(contains(listing, "pseudonym"));
  CHECK_FALSE(contains(listing, "candidate"));
  auto one = node.get("/api/v1/referrals/" + verified[0]["id"].get<std::string>(), member.api_key);
  REQUIRE(one.status == 200);
  CHECK(one.json()["id"] == verified[0]["id"]);

  auto c = member_credits(node, member);
  CHECK(c["verified_referrals"] == 1);
  CHECK(c["balance"] == 0);
  CHECK(c["credits_minted"] == 0);
  CHECK(c["referrals_per_credit"] == 10);
  // The test harness runs with no holding period: held and counted at once.
  REQUIRE(c["history"].size() == 2);
  CHECK(c["history"][0]["kind"] == "referral_counted");
  CHECK(c["history"][1]["kind"] == "referral_held");
  CHECK(node.ledger_size() == ledger_before + 3);  // + referral_held, referral_counted

  // The verification link works once; reopened (or tapped twice) it says the registration is
  // complete and where the management link is, and changes nothing.
  auto again = node.request("POST", path_of(verify));
  CHECK(again.status == 200);
  CHECK(contains(again.body, "確認済みです"));
  CHECK(contains(again.body, "管理用リンク"));
  CHECK(contains(node.get(path_of(verify)).body, "確認済みです"));
  CHECK(member_credits(node, member)["verified_referrals"] == 1);
  CHECK(node.ledger_size() == ledger_before + 3);
}

TEST_CASE(
    "flow: 25 distinct referrals mint 2 credits; repeats by one person mint nothing and "
    "are limited") {
  auto& node = shared_node();
  auto member = node.admit_member(unique("Himeji Logistics"));
  auto link = path_of(member.relay_link);

  std::vector<TestCandidate> people;
  for (int i = 0; i < 25; ++i) {
    people.push_back(candidate("distinct"));
    node.register_and_confirm(link, people.back());
    if (i == 9 || i == 19) CHECK(member_credits(node, member)["credits_minted"] == (i + 1) / 10);
  }
  auto c = member_credits(node, member);
  CHECK(c["verified_referrals"] == 25);
  CHECK(c["credits_minted"] == 2);
  CHECK(c["balance"] == 2);
  auto minted = std::count_if(c["history"].begin(), c["history"].end(),
                              [](const auto& h) { return h["kind"] == "credit_minted"; });
  CHECK(minted == 2);
  CHECK(member_referrals(node, member).size() == 25);
  auto ledger_after_25 = node.ledger_size();

  // An already verified person submits 30 more times and follows every link mailed: past
  // limits.per_address (5 an hour, their registration included) the page answers 429, and
  // the mails that did go (limits.confirmation_mails_per_day) all carry the same link.
  const auto& again = people.front();
  auto mails_before = node.mail_links(again.email, "/r/").size();
  int again_accepted = 0;
  for (int i = 0; i < 30; ++i) {
    auto status = node.submit_registration(link, again).status;
    REQUIRE((status == 200 || status == 429));
    again_accepted += status == 200;
  }
  CHECK(again_accepted == 4);
  auto links = node.wait_mail_links(again.email, "/r/", mails_before + 4);
  CHECK(links.size() == mails_before + 4);
  CHECK(
      std::set<std::string>(links.begin() + static_cast<std::ptrdiff_t>(mails_before), links.end())
          .size() == 1);
  for (const auto& l : links) {
    if (contains(l, "/r/v/")) node.request("POST", path_of(l));
  }
  c = member_credits(node, member);
  CHECK(c["verified_referrals"] == 25);
  CHECK(c["credits_minted"] == 2);
  CHECK(member_referrals(node, member).size() == 25);
  CHECK(node.ledger_size() == ledger_after_25);

  // A new person submits 30 times at once (6 clients), before confirming, then follows every
  // mail at once: 5 accepted, the same confirmation link in each mail, one referral, counted
  // once.
  auto eager = candidate("eager");
  auto in_parallel = [](int total, const std::function<void(int)>& fn) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t)
      threads.emplace_back([&, t] {
        for (int i = t; i < total; i += 6) fn(i);
      });
    for (auto& t : threads) t.join();
  };
  std::atomic<int> accepted{0};
  in_parallel(30, [&](int) {
    if (node.submit_registration(link, eager).status == 200) ++accepted;
  });
  CHECK(accepted == 5);
  auto verifications = node.wait_mail_links(eager.email, "/r/v/", 5);
  REQUIRE(verifications.size() == 5);
  CHECK(std::set<std::string>(verifications.begin(), verifications.end()).size() == 1);
  std::atomic<int> completed{0}, answered{0};
  in_parallel(5, [&](int i) {
    auto reply = node.request("POST", path_of(verifications[static_cast<std::size_t>(i)]));
    if (reply.status == 200) ++answered;
    if (contains(reply.body, "/r/m/")) ++completed;
  });
  CHECK(answered == 5);
  CHECK(completed == 1);
  c = member_credits(node, member);
  CHECK(c["verified_referrals"] == 26);
  CHECK(c["credits_minted"] == 2);
  CHECK(member_referrals(node, member).size() == 26);
  CHECK(node.ledger_size() == ledger_after_25 + 2);  // one referral_held, referral_counted
}

TEST_CASE("flow: the same person referred by two members counts once for each") {
  auto& node = shared_node();
  auto first = node.admit_member(unique("Ashiya Foods"));
  auto second = node.admit_member(unique("Akashi Marine"));
  auto person = candidate("shared");
  node.register_and_confirm(path_of(first.relay_link), person);
  node.register_and_confirm(path_of(second.relay_link), person);
  CHECK(member_credits(node, first)["verified_referrals"] == 1);
  CHECK(member_credits(node, second)["verified_referrals"] == 1);
}

TEST_CASE("flow: members see only their own referrals; keys and roles are enforced") {
  auto& node = shared_node();
  auto owner = node.admit_member(unique("Owner KK"));
  auto other = node.admit_member(unique("Other KK"));
  node.register_and_confirm(path_of(owner.relay_link), candidate("owned"));
  auto owned = member_referrals(node, owner);
  REQUIRE(owned.size() == 1);
  auto id = owned[0]["id"].get<std::string>();

  CHECK(node.get("/api/v1/referrals/" + id, owner.api_key).status == 200);
  auto foreign = node.get("/api/v1/referrals/" + id, other.api_key);
  CHECK(foreign.status == 404);
  CHECK(foreign.error_code() == "not_found");
  CHECK(member_referrals(node, other).empty());
  CHECK(node.get("/api/v1/referrals/r_doesnotexist000", owner.api_key).status == 404);

  // Pages (limit, after): in the order made, `next` while more follow; a bad limit or a cursor
  // that is not the caller's referral answers 400 naming the parameter.
  node.register_and_confirm(path_of(owner.relay_link), candidate("owned2"));
  auto first = node.get("/api/v1/referrals?limit=1", owner.api_key);
  REQUIRE(first.status == 200);
  REQUIRE(first.json()["referrals"].size() == 1);
  CHECK(first.json()["referrals"][0]["id"] == id);
  REQUIRE(first.json()["next"] == id);
  auto second = node.get("/api/v1/referrals?limit=1&after=" + id, owner.api_key);
  REQUIRE(second.status == 200);
  REQUIRE(second.json()["referrals"].size() == 1);
  CHECK(second.json()["referrals"][0]["id"] != id);
  CHECK_FALSE(second.json().contains("next"));
  CHECK(node.get("/api/v1/referrals?after=" + id, owner.api_key).json()["referrals"].size() == 1);
  // ?order=newest: the last made first, `next` going on with older ones.
  auto newest = node.get("/api/v1/referrals?order=newest&limit=1", owner.api_key);
  REQUIRE(newest.status == 200);
  const auto second_id = second.json()["referrals"][0]["id"].get<std::string>();
  CHECK(newest.json()["referrals"][0]["id"] == second_id);
  REQUIRE(newest.json()["next"] == second_id);
  auto older = node.get("/api/v1/referrals?order=newest&limit=1&after=" + second_id, owner.api_key);
  CHECK(older.json()["referrals"][0]["id"] == id);
  CHECK_FALSE(older.json().contains("next"));
  auto sideways = node.get("/api/v1/referrals?order=sideways", owner.api_key);
  CHECK(sideways.status == 400);
  CHECK(sideways.error_code() == "bad_parameter");
  // `total` is how many in all, whatever the page; the other member's count is its own.
  CHECK(first.json()["total"] == 2);
  CHECK(second.json()["total"] == 2);
  CHECK(node.get("/api/v1/referrals", owner.api_key).json()["total"] == 2);
  CHECK(node.get("/api/v1/referrals", other.api_key).json()["total"] == 0);
  // ?format=csv: the same referrals (or the same page) as a download, no candidate in it.
  auto csv = node.get("/api/v1/referrals?format=csv", owner.api_key);
  REQUIRE(csv.status == 200);
  CHECK(csv.header("content-type") == "text/csv; charset=utf-8");
  CHECK(csv.header("content-disposition") == "attachment; filename=\"referrals.csv\"");
  CHECK(csv.body.rfind("\xEF\xBB\xBFid,created_ms,status,counted,stage,verified_ms,kind,"
                       "hold_until_ms,job_category,application_id\r\n",
                       0) == 0);
  auto rows = [](const std::string& body) {
    std::vector<std::string> out;
    for (auto at = body.find("\r\n"); at + 2 < body.size(); at = body.find("\r\n", at + 2))
      out.push_back(body.substr(at + 2, body.find(',', at + 2) - at - 2));
    return out;
  };
  CHECK(rows(csv.body) ==
        std::vector<std::string>{id, second.json()["referrals"][0]["id"].get<std::string>()});
  CHECK(csv.body.find("example.jp") == std::string::npos);  // no address, no name
  CHECK(csv.body.find("山田") == std::string::npos);
  CHECK(rows(node.get("/api/v1/referrals?format=csv&limit=1", owner.api_key).body) ==
        std::vector<std::string>{id});
  auto bad_format = node.get("/api/v1/referrals?format=xml", owner.api_key);
  CHECK(bad_format.status == 400);
  CHECK(bad_format.error_code() == "bad_parameter");
  for (std::string query : {"limit=0", "limit=1001", "limit=abc", "after=r_nosuchref00000"}) {
    auto bad = node.get("/api/v1/referrals?" + query, owner.api_key);
    CHECK_MESSAGE(bad.status == 400, query);
    CHECK(bad.error_code() == "bad_parameter");
  }
  CHECK(node.get("/api/v1/referrals?after=" + id, other.api_key).status == 400);

  // Member endpoints: no key, a wrong key, a malformed header -> 401 with a JSON error.
  for (const std::string& p :
       std::vector<std::string>{"/api/v1/me", "/api/v1/relay-link", "/api/v1/referrals",
                                "/api/v1/credits", "/api/v1/referrals/" + id}) {
    auto none = node.get(p);
    CHECK_MESSAGE(none.status == 401, p);
    CHECK(none.error_code() == "unauthorised");
    CHECK_MESSAGE(node.get(p, "rk_thisIsNotAKeyOfAnyMember0123456789abcdef").status == 401, p);
    CHECK_MESSAGE(node.get(p, node.admin_token()).status == 401, p);  // the operator is no member
    CHECK_MESSAGE(
        node.request("GET", p, {}, {{"Authorization", "Basic " + owner.api_key}}).status == 401, p);
  }
  CHECK(node.post_json("/api/v1/rejections", {{"application_id", "x"}}).status == 401);

  // Operator endpoints with a member key (or the auditor token) -> 403.
  auto ledger = node.ledger_size();
  auto listed = node.get("/api/v1/members", owner.api_key);
  CHECK(listed.status == 403);
  CHECK(listed.error_code() == "forbidden");
  CHECK(node.post_json("/api/v1/members", {{"name", unique("Sneaky")}}, owner.api_key).status ==
        403);
  CHECK(node.post_json("/api/v1/members", {{"name", unique("Sneaky")}}, node.auditor_token())
            .status == 403);
  CHECK(node.get("/api/v1/members/" + other.id, owner.api_key).status == 403);
  CHECK(node.request("POST", "/api/v1/members/" + other.id + "/suspend", {},
                     {{"Authorization", "Bearer " + owner.api_key}})
            .status == 403);
  CHECK(node.get("/audit/v1/entries", owner.api_key).status == 403);
  CHECK(node.get("/api/v1/members").status == 401);
  CHECK(node.ledger_size() == ledger);
  CHECK(node.get("/api/v1/me", other.api_key).json()["status"] == "active");

  // Routing: unknown path 404, known path with another method 405, both JSON.
  auto missing = node.get("/api/v1/nothing-here", owner.api_key);
  CHECK(missing.status == 404);
  CHECK(missing.error_code() == "not_found");
  auto wrong_method = node.request("DELETE", "/api/v1/members");
  CHECK(wrong_method.status == 405);
  CHECK(wrong_method.error_code() == "method_not_allowed");
}

TEST_CASE("flow: names and tokens at and past their limits are answered, never 500") {
  auto& node = shared_node();
  // 200 characters is the limit, also in Japanese (600 bytes of UTF-8, more than an LMDB key).
  auto ascii_tag = unique("n");
  auto ja_tag = unique("n");
  std::string ascii = ascii_tag + std::string(200 - ascii_tag.size(), 'x');
  std::string ja = ja_tag;
  for (std::size_t i = ja_tag.size(); i < 200; ++i) ja += "社";
  for (const auto& name : {ascii, ja}) {
    auto admitted = node.post_json("/api/v1/members", {{"name", name}}, node.admin_token());
    CHECK_MESSAGE(admitted.status == 201, admitted.body);
    CHECK(admitted.json()["name"] == name);
    auto again = node.post_json("/api/v1/members", {{"name", name}}, node.admin_token());
    CHECK(again.status == 409);
    CHECK(again.error_code() == "duplicate_name");
    auto longer = node.post_json("/api/v1/members", {{"name", name + "社"}}, node.admin_token());
    CHECK(longer.status == 400);
    CHECK(longer.error_code() == "bad_field");
  }
  // Capability tokens and ids of any length are simply unknown.
  auto member = node.admit_member(unique("Limits KK"));
  for (std::size_t size : {1u, 17u, 129u, 600u, 4000u}) {
    std::string token(size, 'a');
    for (const auto& path :
         {"/r/" + token, "/r/v/" + token, "/r/m/" + token, "/r/m/" + token + "/export"})
      CHECK_MESSAGE(node.get(path).status == 404, path.substr(0, 10), " ", size);
    CHECK(node.request("POST", "/r/v/" + token).status == 404);
    CHECK(node.get("/api/v1/referrals/" + token, member.api_key).status == 404);
    CHECK(node.get("/api/v1/members/" + token, node.admin_token()).status == 404);
    CHECK(node.get("/api/v1/me", token).status == 401);
  }
}

TEST_CASE("flow: a single-use link from the ATS works once") {
  auto& node = shared_node();
  auto member = node.admit_member(unique("Single Use KK"));
  nlohmann::json rejection = {
      {"application_id", "app-1"}, {"job_title", "Backend engineer"}, {"job_category", "B"}};
  auto issued = node.post_json("/api/v1/rejections", rejection, member.api_key);
  REQUIRE(issued.status == 201);
  auto url = issued.json()["url"].get<std::string>();
  CHECK(issued.json()["single_use"] == true);
  CHECK(url != member.relay_link);
  CHECK(contains(issued.json()["paragraph"]["ja"], url));
  // An ATS that retries before the link is used gets the same link.
  auto retried = node.post_json("/api/v1/rejections", rejection, member.api_key);
  REQUIRE(retried.status == 201);
  CHECK(retried.json()["url"] == url);
  // Bad input is refused.
  CHECK(node.post_json("/api/v1/rejections", {{"application_id", "app-2"}, {"job_category", "Z"}},
                       member.api_key)
            .status == 400);
  CHECK(node.post_json("/api/v1/rejections", {{"job_title", "x"}}, member.api_key).status == 400);
  CHECK(
      node.post_json("/api/v1/rejections", {{"application_id", "a"}, {"extra", 1}}, member.api_key)
          .status == 400);

  auto link = path_of(url);
  REQUIRE(node.get(link).status == 200);
  auto person = candidate("single");
  node.register_and_confirm(link, person);
  auto list = member_referrals(node, member);
  REQUIRE(list.size() == 1);
  CHECK(list[0]["application_id"] == "app-1");
  CHECK(list[0]["job_category"] == "B");
  CHECK(list[0]["status"] == "verified");

  // Used: both GET and POST answer 410, and a second person stores nothing.
  auto get_again = node.get(link);
  CHECK(get_again.status == 410);
  CHECK(contains(get_again.body, "使用済み"));
  auto intruder = candidate("second-use");
  auto post_again = node.submit_registration(link, intruder);
  CHECK(post_again.status == 410);
  CHECK(node.get(link + "?lang=en").status == 410);
  auto reused = node.post_json("/api/v1/rejections", rejection, member.api_key);
  CHECK(reused.status == 409);
  CHECK(reused.error_code() == "link_used");
  // A different application gets a fresh link.
  auto fresh = node.post_json("/api/v1/rejections", {{"application_id", "app-2"}}, member.api_key);
  REQUIRE(fresh.status == 201);
  CHECK(fresh.json()["url"] != url);
  CHECK(node.get(path_of(fresh.json()["url"].get<std::string>())).status == 200);
  // Another member's application ids are its own: the same id gets another, unused link.
  auto other = node.admit_member(unique("Other ATS KK"));
  auto others = node.post_json("/api/v1/rejections", rejection, other.api_key);
  REQUIRE(others.status == 201);
  CHECK(others.json()["url"] != url);
  CHECK(node.get(path_of(others.json()["url"].get<std::string>())).status == 200);

  std::this_thread::sleep_for(1200ms);  // the mail dispatcher also runs every second
  CHECK(node.mail_links(intruder.email, "/r/").empty());
  CHECK(member_referrals(node, member).size() == 1);
  CHECK(member_credits(node, member)["verified_referrals"] == 1);
}

TEST_CASE("flow: a suspended member's link answers 410 and its key 403") {
  auto& node = shared_node();
  auto member = node.admit_member(unique("Suspended KK"));
  auto link = path_of(member.relay_link);
  auto single = node.post_json("/api/v1/rejections", {{"application_id", "app-s"}}, member.api_key);
  REQUIRE(single.status == 201);
  auto single_link = path_of(single.json()["url"].get<std::string>());

  // A candidate registers while the member is active, and confirms after the suspension.
  auto late = candidate("late");
  REQUIRE(node.submit_registration(link, late).status == 200);
  auto verify = node.wait_mail_link(late.email, "/r/v/");

  auto ledger = node.ledger_size();
  auto suspended = node.request("POST", "/api/v1/members/" + member.id + "/suspend", {},
                                {{"Authorization", "Bearer " + node.admin_token()}});
  REQUIRE(suspended.status == 200);
  CHECK(suspended.json()["status"] == "suspended");
  CHECK(node.ledger_size() == ledger + 1);  // member_suspended
  // Suspending twice changes nothing more.
  CHECK(node.request("POST", "/api/v1/members/" + member.id + "/suspend", {},
                     {{"Authorization", "Bearer " + node.admin_token()}})
            .status == 200);
  CHECK(node.ledger_size() == ledger + 1);
  CHECK(node.request("POST", "/api/v1/members/m_nosuchmember/suspend", {},
                     {{"Authorization", "Bearer " + node.admin_token()}})
            .status == 404);

  CHECK(node.get(link).status == 410);
  CHECK(node.get(single_link).status == 410);
  auto blocked = candidate("blocked");
  CHECK(node.submit_registration(link, blocked).status == 410);
  for (const char* path :
       {"/api/v1/me", "/api/v1/relay-link", "/api/v1/referrals", "/api/v1/credits"}) {
    auto reply = node.get(path, member.api_key);
    CHECK_MESSAGE(reply.status == 403, path);
    CHECK(reply.error_code() == "member_suspended");
  }
  CHECK(
      node.post_json("/api/v1/rejections", {{"application_id", "app-t"}}, member.api_key).status ==
      403);

  // The confirmation still verifies the person, but nothing counts for a suspended member.
  auto confirmed = node.request("POST", path_of(verify));
  CHECK(confirmed.status == 200);

  auto reinstated = node.request("POST", "/api/v1/members/" + member.id + "/reinstate", {},
                                 {{"Authorization", "Bearer " + node.admin_token()}});
  REQUIRE(reinstated.status == 200);
  CHECK(reinstated.json()["status"] == "active");
  CHECK(node.get(link).status == 200);
  auto list = member_referrals(node, member);
  REQUIRE(list.size() == 1);
  CHECK(list[0]["status"] == "verified");
  CHECK(list[0]["counted"] == false);
  CHECK(member_credits(node, member)["verified_referrals"] == 0);
  std::this_thread::sleep_for(1200ms);
  CHECK(node.mail_links(blocked.email, "/r/").empty());
}

TEST_CASE("flow: malformed, mistyped and oversized requests answer errors and change nothing") {
  auto& node = shared_node();
  auto ledger = node.ledger_size();
  auto members = member_list(node).dump();
  const auto& admin = node.admin_token();

  // JSONTestSuite n_ cases: every one refused with 400 (413 if over the body limit).
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(relay::test::vectors_dir() / "json" / "test_parsing"))
    if (e.path().filename().string().rfind("n_", 0) == 0) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  REQUIRE(cases.size() > 150);
  for (const auto& path : cases) {
    auto body = relay::test::read_file(path);
    auto reply = node.post_raw("/api/v1/members", body, "application/json", admin);
    if (body.size() > 64 * 1024) {
      CHECK_MESSAGE(reply.status == 413, path.filename().string());
    } else {
      CHECK_MESSAGE(reply.status == 400, path.filename().string());
      CHECK_MESSAGE(reply.error_code() == "bad_json", path.filename().string());
    }
  }
  // Valid JSON that is still not acceptable.
  struct Bad {
    const char* body;
    const char* code;
  };
  for (auto [body, code] : std::vector<Bad>{
           {R"({"name":"Dup A","name":"Dup B"})", "bad_json"},
           {R"({"name":{"x":1,"x":2}})", "bad_json"},
           {R"(["name","Array KK"])", "bad_json"},
           {R"("Just a string")", "bad_json"},
           {R"({"name":1.5})", "bad_json"},
           {R"({"name":12})", "bad_field"},
           {R"({"name":"   "})", "bad_field"},
           {R"({"name":"Tab\tKK"})", "bad_field"},
           {R"({})", "missing_field"},
           {R"({"name":"Extra KK","plan":"gold"})", "unknown_field"},
           {"{\"name\":\"Bad \xff UTF-8\"}", "bad_json"},
           {"\xEF\xBB\xBF{\"name\":\"BOM KK\"}", "bad_json"},
       }) {
    auto reply = node.post_raw("/api/v1/members", body, "application/json", admin);
    CHECK_MESSAGE(reply.status == 400, body);
    CHECK_MESSAGE(reply.error_code() == code, body);
  }
  // Wrong or missing content type -> 415.
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "application/xml"}) {
    auto reply = node.post_raw("/api/v1/members", R"({"name":"Typed KK"})", type, admin);
    CHECK_MESSAGE(reply.status == 415, type);
    CHECK(reply.error_code() == "unsupported_media_type");
  }
  auto untyped = node.send_raw(
      "POST /api/v1/members HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Authorization: Bearer " +
      admin +
      "\r\nContent-Length: 19\r\nConnection: close\r\n\r\n"
      R"({"name":"Typed KK"})");
  CHECK(status_line(untyped) == "HTTP/1.1 415 Unsupported Media Type");
  // A duplicate name -> 409.
  auto existing = member_list(node).at(0).at("name").get<std::string>();
  CHECK(node.post_json("/api/v1/members", {{"name", existing}}, admin).status == 409);

  // Over the 64 KiB body limit -> 413: a declared length, a real body, a chunked body.
  std::string big = R"({"name":")" + std::string(70 * 1024, 'x') + R"("})";
  auto declared = node.send_raw(
      "POST /api/v1/members HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\nAuthorization: Bearer " +
      admin + "\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n");
  CHECK(status_line(declared) == "HTTP/1.1 413 Payload Too Large");
  CHECK(contains(declared, "body_too_large"));
  auto oversized = node.post_raw("/api/v1/members", big, "application/json", admin);
  CHECK(oversized.status == 413);
  CHECK(oversized.error_code() == "body_too_large");
  std::string chunked =
      "POST /api/v1/members HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
      "Authorization: Bearer " +
      admin + "\r\n\r\n";
  for (int i = 0; i < 20; ++i) chunked += "1000\r\n" + std::string(0x1000, ' ') + "\r\n";
  chunked += "0\r\n\r\n";
  CHECK(status_line(node.send_raw(chunked)) == "HTTP/1.1 413 Payload Too Large");
  // Just under the limit is read and judged on its content.
  std::string fits = R"({"name":")" + std::string(60 * 1024, 'x') + R"("})";
  CHECK(node.post_raw("/api/v1/members", fits, "application/json", admin).status == 400);

  // Over the 8 KiB header limit -> 431.
  auto headers = node.request("GET", "/healthz", {}, {{"X-Padding", std::string(10 * 1024, 'h')}});
  CHECK(headers.status == 431);
  CHECK(headers.error_code() == "header_too_large");
  auto many = std::string("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  for (int i = 0; i < 400; ++i) many += "X-H" + std::to_string(i) + ": 0123456789abcdef\r\n";
  CHECK(status_line(node.send_raw(many + "\r\n")) ==
        "HTTP/1.1 431 Request Header Fields Too Large");

  // A member's form-less or mistyped requests.
  auto member = node.admit_member(unique("Input KK"));
  ledger += 1;
  auto member_snapshot = member_list(node).dump();
  CHECK(node.post_raw("/api/v1/rejections", "application_id=x", "application/x-www-form-urlencoded",
                      member.api_key)
            .status == 415);
  CHECK(node.post_raw("/api/v1/rejections", R"({"application_id":"a","application_id":"b"})",
                      "application/json", member.api_key)
            .status == 400);
  CHECK(node.post_raw(path_of(member.relay_link), R"({"name":"x"})", "application/json").status ==
        400);

  // Nothing changed: not the ledger, not the members.
  CHECK(node.ledger_size() == ledger);
  auto after = member_list(node);
  CHECK(after.dump() == member_snapshot);
  auto before = nlohmann::json::parse(members);
  CHECK(after.size() == before.size() + 1);
  CHECK(node.get("/healthz").status == 200);
}

TEST_CASE("flow: a body read from the head's packets, after them, or in part of each") {
  // The server parses a body already buffered with the head and reads only for the rest
  // (node/http/server.cpp). Each request's body is judged whole: a field at its end is
  // refused (unknown_field), where a cut or overlong body would be bad_json.
  auto& node = shared_node();
  auto ledger = node.ledger_size();
  auto members = member_list(node).dump();
  const std::string body = R"({"name":"Split KK","plan":"gold"})";
  const auto head = [&](std::size_t length, const std::string& framing, const char* connection) {
    return "POST /api/v1/members HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           "Authorization: Bearer " +
           node.admin_token() + "\r\n" +
           (framing.empty() ? "Content-Length: " + std::to_string(length) : framing) +
           "\r\nConnection: " + connection + "\r\n\r\n";
  };
  const auto refused_whole = [](const relay::test::WireReply& reply) {
    return reply.status_line == "HTTP/1.1 400 Bad Request" && contains(reply.body, "unknown_field");
  };
  const auto pause = std::chrono::milliseconds(150);
  const auto half = body.size() / 2;
  const std::string chunked = "Transfer-Encoding: chunked";
  const auto chunk = [](const std::string& data) {
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return size + data + "\r\n";
  };
  struct Case {
    const char* what;
    std::vector<std::string> pieces;
  };
  const std::vector<Case> cases = {
      {"head and body in one piece", {head(body.size(), "", "close") + body}},
      {"the body after the head", {head(body.size(), "", "close"), body}},
      {"half the body with the head, the rest after",
       {head(body.size(), "", "close") + body.substr(0, half), body.substr(half)}},
      {"chunked, a chunk with the head, the rest after",
       {head(0, chunked, "close") + chunk(body.substr(0, half)),
        chunk(body.substr(half)) + "0\r\n\r\n"}},
  };
  for (const auto& c : cases) {
    auto replies =
        relay::test::replies_in(relay::test::exchange_in_pieces(node.port(), c.pieces, pause));
    REQUIRE_MESSAGE(replies.size() == 1, c.what);
    CHECK_MESSAGE(refused_whole(replies[0]),
                  c.what << ": " << replies[0].status_line << " " << replies[0].body);
  }
  // Pipelined: the next request follows the body in the same piece, and is answered after it.
  auto pipelined = relay::test::replies_in(relay::test::exchange_in_pieces(
      node.port(),
      {head(body.size(), "", "keep-alive") + body +
       "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"},
      pause));
  REQUIRE(pipelined.size() == 2);
  CHECK(refused_whole(pipelined[0]));
  CHECK(pipelined[1].status_line == "HTTP/1.1 200 OK");
  CHECK(contains(pipelined[1].body, "ledger_size"));
  // Refused, so nothing changed.
  CHECK(node.ledger_size() == ledger);
  CHECK(member_list(node).dump() == members);
}

TEST_CASE("flow: request-smuggling framing is refused with 400") {
  auto& node = shared_node();
  auto ledger = node.ledger_size();
  auto members = member_list(node).dump();
  const auto auth = "Authorization: Bearer " + node.admin_token() + "\r\n";
  const std::string body = R"({"name":"Smuggled KK"})";
  const std::string next = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  struct Case {
    const char* what;
    std::string request;
  };
  std::vector<Case> cases = {
      {"Transfer-Encoding: gzip",
       "POST /api/v1/members HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
           auth + "Transfer-Encoding: gzip\r\n\r\n" + body},
      {"Transfer-Encoding: gzip with Content-Length",
       "POST /api/v1/members HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
           auth + "Transfer-Encoding: gzip\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body},
      {"Transfer-Encoding: chunked, gzip",
       "POST /api/v1/members HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
           auth + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"},
      {"Transfer-Encoding and Content-Length",
       "POST /api/v1/members HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
           auth + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n16\r\n" + body +
           "\r\n0\r\n\r\n" + next},
      {"two Transfer-Encoding headers",
       "POST /api/v1/members HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
           auth + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n16\r\n" + body +
           "\r\n0\r\n\r\n"},
      {"two Host headers",
       "POST /api/v1/members HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n"
       "Content-Type: application/json\r\n" +
           auth + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body + next},
      {"no Host header", "POST /api/v1/members HTTP/1.1\r\nContent-Type: application/json\r\n" +
                             auth + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                             body + next},
      {"two different Content-Length headers",
       "POST /api/v1/members HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
           auth + "Content-Length: " + std::to_string(body.size()) +
           "\r\nContent-Length: 0\r\n\r\n" + body},
  };
  for (const auto& c : cases) {
    auto raw = node.send_raw(c.request);
    CHECK_MESSAGE(status_line(raw) == "HTTP/1.1 400 Bad Request", c.what);
    CHECK_MESSAGE(contains(raw, "\"error\""), c.what);
    // The connection is closed after the refusal: nothing behind it is answered.
    CHECK_MESSAGE(count_of(raw, "HTTP/1.1 ") == 1, c.what);
  }
  // Control: the same request, well framed, is served (and the next one on the connection).
  auto good = node.send_raw("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" +
                            std::string("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        "Connection: close\r\n\r\n"));
  CHECK(status_line(good) == "HTTP/1.1 200 OK");
  CHECK(count_of(good, "HTTP/1.1 200 OK") == 2);
  // A request without a body is complete with its header (the server reads no further), and
  // a request with one, pipelined behind it, still has its body read: answers in order.
  const std::string refused = R"({"name":"Piped KK","plan":"gold"})";
  auto piped = node.send_raw(
      next +
      "POST /api/v1/members HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
      auth + "Content-Length: " + std::to_string(refused.size()) + "\r\n\r\n" + refused +
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  CHECK(status_line(piped) == "HTTP/1.1 200 OK");
  CHECK(count_of(piped, "HTTP/1.1 ") == 3);
  auto second = piped.find("HTTP/1.1 ", 1);
  REQUIRE(second != std::string::npos);
  CHECK(piped.compare(second, 24, "HTTP/1.1 400 Bad Request") == 0);
  CHECK(contains(piped.substr(second), "unknown_field"));
  CHECK(piped.find("HTTP/1.1 200 OK", second) != std::string::npos);

  CHECK(node.ledger_size() == ledger);
  CHECK(member_list(node).dump() == members);
}

TEST_CASE(
    "flow: each reply on the wire is a status line, fields and exactly Content-Length "
    "bytes of body") {
  // The server writes a reply's head and body itself (one gather write), not through Beast's
  // serializer: this reads the raw bytes by their framing alone.
  auto& node = shared_node();
  auto script = node.get("/console/assets/console.js");
  REQUIRE(script.status == 200);
  REQUIRE(script.body.size() > 10000);
  auto etag = script.header("etag");
  REQUIRE(!etag.empty());

  const std::string host = "Host: 127.0.0.1\r\n";
  // Three pipelined on one connection: a small JSON reply, a 304 without a body, then the
  // script (tens of kilobytes), whose request closes the connection.
  auto raw = node.send_raw(
      "GET /healthz HTTP/1.1\r\n" + host + "\r\n" + "GET /console/assets/console.js HTTP/1.1\r\n" +
      host + "If-None-Match: " + etag + "\r\n\r\n" + "GET /console/assets/console.js HTTP/1.1\r\n" +
      host + "Connection: close\r\n\r\n");
  auto replies = replies_in(raw);
  REQUIRE(replies.size() == 3);

  CHECK(replies[0].status_line == "HTTP/1.1 200 OK");
  CHECK(replies[0].fields["content-type"] == "application/json");
  CHECK(replies[0].fields["server"] == "relaynode");
  CHECK(replies[0].fields["x-content-type-options"] == "nosniff");
  CHECK(replies[0].fields.count("connection") == 0);  // HTTP/1.1 keeps it open by default
  CHECK(nlohmann::json::parse(replies[0].body).at("ledger_size") == node.ledger_size());

  CHECK(replies[1].status_line == "HTTP/1.1 304 Not Modified");
  CHECK(replies[1].body.empty());
  CHECK(replies[1].fields["etag"] == etag);
  // Beast's prepare_payload() wrote "Content-Length: 0" here: RFC 9110 (8.6) allows only the
  // length the 200 would have had.
  CHECK(replies[1].fields.count("content-length") == 0);

  CHECK(replies[2].status_line == "HTTP/1.1 200 OK");
  CHECK(replies[2].fields["connection"] == "close");
  CHECK(replies[2].fields["etag"] == etag);
  CHECK(replies[2].body == script.body);

  // HTTP/1.0: answered in HTTP/1.0; kept open only when asked, and said so.
  auto old = replies_in(node.send_raw("GET /healthz HTTP/1.0\r\n" + host +
                                      "Connection: keep-alive\r\n\r\n" +
                                      "GET /healthz HTTP/1.0\r\n" + host + "\r\n"));
  REQUIRE(old.size() == 2);
  CHECK(old[0].status_line == "HTTP/1.0 200 OK");
  CHECK(old[0].fields["connection"] == "keep-alive");
  CHECK(old[1].status_line == "HTTP/1.0 200 OK");
  CHECK(old[1].fields.count("connection") == 0);  // HTTP/1.0 closes by default

  // An error answered before the body is read takes the same path: one reply, then closed.
  auto refused = replies_in(node.send_raw("POST /api/v1/members HTTP/1.1\r\n" + host +
                                          "Content-Length: 9999999\r\n\r\n"));
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].status_line == "HTTP/1.1 413 Payload Too Large");
  CHECK(refused[0].fields["connection"] == "close");
  CHECK(nlohmann::json::parse(refused[0].body).at("error").at("code") == "body_too_large");
}

TEST_CASE("flow: an invalid registration form answers 422 with messages and stores nothing") {
  auto& node = shared_node();
  auto member = node.admit_member(unique("Form Check KK"));
  auto link = path_of(member.relay_link);
  auto ledger = node.ledger_size();
  auto mail_count = node.mails().size();

  auto person = candidate("invalid");
  person.extra = {{"email", "not-an-address"},
                  {"name", ""},
                  {"phone", "call me"},
                  {"job_category", "Z"},
                  {"skills", ""},
                  {"prefecture", "JP-48"},
                  {"age_band", "33"},
                  {"experience_band", "lots"},
                  {"consent_region", "no"}};
  auto reply = node.submit_registration(link, person);
  REQUIRE(reply.status == 422);
  CHECK(contains(reply.header("content-type"), "text/html"));
  for (const char* field : {"name", "email", "phone", "job_category", "skills", "prefecture",
                            "age_band", "experience_band", "consent_region"})
    CHECK_MESSAGE(contains(reply.body, std::string("id=\"err-") + field + "\""), field);
  CHECK(contains(reply.body, "有効なメールアドレスを入力してください。"));
  CHECK(contains(reply.body, "value=\"not-an-address\""));  // refilled
  CHECK(contains(reply.body, "<form method=\"post\""));

  // One bad field at a time: only that field is named; English with ?lang=en.
  auto one = candidate("one-bad");
  one.extra = {{"email", "two@@example.jp"}};
  auto reply_en = node.post_form(link + "?lang=en", one.form());
  REQUIRE(reply_en.status == 422);
  CHECK(contains(reply_en.body, "Please enter a valid email address."));
  CHECK(contains(reply_en.body, "id=\"err-email\""));
  CHECK_FALSE(contains(reply_en.body, "id=\"err-name\""));
  CHECK(contains(reply_en.body, one.name));  // the valid fields are kept
  // Script in a field comes back escaped.
  auto script = candidate("script");
  script.extra = {{"name", "<script>alert(1)</script>"}, {"email", "bad"}};
  auto escaped = node.submit_registration(link, script);
  CHECK(escaped.status == 422);
  CHECK_FALSE(contains(escaped.body, "<script>alert(1)</script>"));
  CHECK(contains(escaped.body, "&lt;script&gt;"));
  // Not a form -> 400.
  CHECK(node.post_raw(link, "name=x", "text/plain").status == 400);
  CHECK(node.post_raw(link, "name=%zz", "application/x-www-form-urlencoded").status == 400);

  std::this_thread::sleep_for(1200ms);  // the dispatcher runs every second: nothing to send
  CHECK(node.mails().size() == mail_count);
  CHECK(node.mail_links(one.email, "/r/").empty());
  CHECK(member_referrals(node, member).empty());
  CHECK(node.ledger_size() == ledger);
  // The same person with the form fixed is accepted.
  node.register_and_confirm(link, candidate("fixed"));
  CHECK(member_referrals(node, member).size() == 1);
}

TEST_CASE("flow: the candidate's management page: view, consent, export, erase") {
  auto& node = shared_node();
  auto member = node.admit_member(unique("Privacy KK"));
  auto link = path_of(member.relay_link);
  auto person = candidate("erase-me");
  person.name = "削除 花子 " + unique("hanako");
  const std::string phone = "+81-78-" + std::to_string(1000000 + ::getpid() % 9000000);
  person.extra = {{"phone", phone}};
  auto other = candidate("keep-me");
  auto manage = path_of(node.register_and_confirm(link, person));
  node.register_and_confirm(link, other);
  node.wait_mail_link(person.email, "/r/m/");
  node.wait_mail_link(other.email, "/r/m/");

  // View: the page shows this candidate's data and nobody else's.
  auto page = node.get(manage);
  REQUIRE(page.status == 200);
  CHECK(contains(page.header("cache-control"), "no-store"));
  CHECK(contains(page.body, person.name));
  CHECK(contains(page.body, person.email));
  CHECK_FALSE(contains(page.body, other.email));
  CHECK(contains(page.body, "あなたの登録情報"));
  CHECK(contains(node.get(manage + "?lang=en").body, "Your registration"));

  // Consent: narrow it to the region plus statistics.
  auto consent =
      node.post_form(manage + "/consent", {{"consent_region", "yes"}, {"consent_stats", "yes"}});
  REQUIRE(consent.status == 200);
  CHECK(contains(consent.body, "同意を更新しました"));
  CHECK(contains(consent.body, "name=\"consent_stats\" value=\"yes\" checked"));
  CHECK(contains(consent.body, "name=\"consent_region\" value=\"yes\" checked"));
  CHECK_FALSE(contains(consent.body, "name=\"consent_peers\" value=\"yes\" checked"));

  // Export: exactly this candidate's data.
  auto exported = node.get(manage + "/export");
  REQUIRE(exported.status == 200);
  CHECK(contains(exported.header("content-disposition"), "attachment"));
  auto data = exported.json();
  REQUIRE(data.is_object());
  CHECK(data["personal"]["name"] == person.name);
  CHECK(data["personal"]["email"] == person.email);
  CHECK(data["status"] == "active");
  CHECK(data["consent"]["region"] == true);
  CHECK(data["consent"]["peers"] == false);
  CHECK(data["consent"]["stats"] == true);
  CHECK(data["profile"]["job_category"] == "B");
  CHECK(data["profile"]["prefecture"] == "JP-28");
  REQUIRE(data["referrals"].size() == 1);
  CHECK(data["referrals"][0]["company"] == member.name);
  CHECK(data["referrals"][0]["status"] == "verified");
  CHECK_FALSE(contains(exported.body, other.email));
  CHECK_FALSE(contains(exported.body, other.name));

  // Withdrawing turns every consent off, and the data stays until it is erased.
  auto withdrawn = node.request("POST", manage + "/withdraw", {},
                                {{"Content-Type", "application/x-www-form-urlencoded"}});
  REQUIRE(withdrawn.status == 200);
  CHECK(contains(withdrawn.body, "すべての同意を撤回しました"));
  auto after_withdraw = node.get(manage + "/export").json();
  CHECK(after_withdraw["consent"]["region"] == false);
  CHECK(after_withdraw["consent"]["stats"] == false);
  CHECK(after_withdraw["personal"]["phone"] == phone);

  // Erase needs the confirmation box.
  auto credits_before = member_credits(node, member);
  auto referrals_before = member_referrals(node, member);
  auto ledger = node.ledger_size();
  auto unconfirmed = node.post_form(manage + "/erase", {});
  CHECK(unconfirmed.status == 200);
  CHECK(contains(unconfirmed.body, person.email));  // still there
  // The spool holds this person's mail before the erasure (so the scan below can see it).
  CHECK_FALSE(files_containing(node.spool_dir(), person.email).empty());

  auto erased = node.post_form(manage + "/erase", {{"confirm", "yes"}});
  REQUIRE(erased.status == 200);
  CHECK(contains(erased.body, "削除"));
  CHECK_FALSE(contains(erased.body, person.email));
  CHECK(node.ledger_size() == ledger + 1);  // candidate_erased

  // Afterwards the link gives access to nothing: it is unknown (404), or it shows only the
  // erasure's progress (federation: which recipients have confirmed), never data or forms.
  auto dead = [&](const HttpReply& reply) {
    if (reply.status == 404) return true;
    return reply.status == 200 &&
           (contains(reply.body, "削除の状況") || contains(reply.body, "Erasure status")) &&
           !contains(reply.body, person.email) && !contains(reply.body, person.name) &&
           !contains(reply.body, "<form");
  };
  CHECK(dead(node.get(manage)));
  CHECK(dead(node.get(manage + "?lang=en")));
  CHECK(node.get(manage + "/export").status == 404);
  CHECK(dead(node.post_form(manage + "/consent", {{"consent_region", "yes"}})));
  CHECK(dead(node.post_form(manage + "/erase", {{"confirm", "yes"}})));
  CHECK(node.ledger_size() == ledger + 1);
  std::this_thread::sleep_for(1200ms);  // let a dispatcher pass run after the erasure
  for (const auto& needle : {person.email, person.name, phone}) {
    auto found = files_containing(node.lmdb_dir(), needle);
    CHECK_MESSAGE(found.empty(), needle, " in ", found.empty() ? "" : found.front().string());
    found = files_containing(node.spool_dir(), needle);
    CHECK_MESSAGE(found.empty(), needle, " in ", found.empty() ? "" : found.front().string());
  }
  CHECK(node.mail_links(person.email, "/r/").empty());
  // The other candidate is untouched.
  CHECK_FALSE(files_containing(node.spool_dir(), other.email).empty());
  auto other_manage = node.wait_mail_link(other.email, "/r/m/");
  CHECK(contains(node.get(path_of(other_manage)).body, other.email));

  // The member's credits and referrals are what they were.
  CHECK(member_credits(node, member) == credits_before);
  CHECK(member_referrals(node, member) == referrals_before);

  // Registering again after the erasure earns the member nothing more (no credit farming by
  // register, confirm, erase, repeat).
  REQUIRE(node.submit_registration(link, person).status == 200);
  for (const auto& l : node.wait_mail_links(person.email, "/r/", 1))
    if (contains(l, "/r/v/")) node.request("POST", path_of(l));
  CHECK(member_credits(node, member)["verified_referrals"] == credits_before["verified_referrals"]);
  CHECK(member_referrals(node, member).size() == referrals_before.size());
}

TEST_CASE("flow: data survive a restart and kill -9 after an acknowledged write") {
  // Two referrals per credit, so that a restart has credits to keep.
  NodeProcess node(options("durable.relaynode", {"--referrals-per-credit", "2"}));
  auto first = node.admit_member(unique("Durable KK"));
  auto second = node.admit_member(unique("Sturdy KK"));
  std::vector<std::string> manage_links;
  for (int i = 0; i < 5; ++i)
    manage_links.push_back(node.register_and_confirm(path_of(first.relay_link), candidate("dur")));
  node.register_and_confirm(path_of(second.relay_link), candidate("dur2"));
  auto members = member_list(node);
  auto ledger = node.ledger_size();
  auto balance = member_credits(node, first);
  CHECK(balance["balance"] == 2);
  CHECK(balance["verified_referrals"] == 5);

  // A clean stop and a restart on the same port.
  node.stop();
  CHECK_FALSE(node.running());
  CHECK(node.exited_cleanly());
  CHECK(node.get("/healthz").status == 0);  // really gone
  node.start();
  CHECK(member_list(node) == members);
  CHECK(node.ledger_size() == ledger);
  CHECK(member_credits(node, first) == balance);
  CHECK(member_referrals(node, first).size() == 5);
  CHECK(node.get("/api/v1/me", second.api_key).status == 200);
  CHECK(node.get(path_of(manage_links.front())).status == 200);
  CHECK(node.get(path_of(first.relay_link)).status == 200);

  // kill -9 right after acknowledged writes: each survives.
  for (int round = 0; round < 3; ++round) {
    auto admitted =
        node.post_json("/api/v1/members", {{"name", unique("Acked KK")}}, node.admin_token());
    REQUIRE(admitted.status == 201);
    auto id = admitted.json()["id"].get<std::string>();
    auto key = admitted.json()["api_key"].get<std::string>();
    auto size = node.ledger_size();
    node.kill9();
    CHECK_FALSE(node.exited_cleanly());
    node.start();
    auto found = node.get("/api/v1/members/" + id, node.admin_token());
    CHECK(found.status == 200);
    CHECK(found.json()["status"] == "active");
    CHECK(node.get("/api/v1/me", key).status == 200);
    CHECK(node.ledger_size() == size);
  }
  // A registration acknowledged just before the kill still gets its mail after the restart.
  auto quick = candidate("quick");
  REQUIRE(node.submit_registration(path_of(first.relay_link), quick).status == 200);
  node.kill9();
  node.start();
  auto quick_verify = node.wait_mail_link(quick.email, "/r/v/");
  REQUIRE(node.request("POST", path_of(quick_verify)).status == 200);
  CHECK(member_credits(node, first)["verified_referrals"] == 6);

  // ...and so does a confirmation that minted a credit.
  auto person = candidate("kill");
  REQUIRE(node.submit_registration(path_of(first.relay_link), person).status == 200);
  auto verify = node.wait_mail_link(person.email, "/r/v/");
  REQUIRE(node.request("POST", path_of(verify)).status == 200);
  node.kill9();
  node.start();
  auto after = member_credits(node, first);
  CHECK(after["verified_referrals"] == 7);
  CHECK(after["balance"] == 3);
  CHECK(after["credits_minted"] == 3);
  CHECK(node.get("/audit/v1/checkpoint").status == 200);
}

// Upgrading a node whose referral index predates the listings it now keeps (issue 19): start-up
// does not wait for them (30 s at a million referrals); pages are the same meanwhile, and a
// background loop lists every entry, once.
TEST_CASE("flow: listings an older node did not keep are written after start-up, pages the same") {
  NodeProcess node(options("listing.relaynode"));
  auto member = node.admit_member(unique("Listing KK"));
  for (int i = 0; i < 3; ++i)
    node.register_and_confirm(path_of(member.relay_link), candidate("ls"));
  const auto before = member_referrals(node, member);
  REQUIRE(before.size() == 3);
  // Stopped, its index made as the older node left it: keys alone, the build not yet run.
  namespace storage = relay::node::storage;
  auto each_entry = [&](const std::function<void(storage::WriteTxn&, storage::Database,
                                                 const std::string&, const std::string&)>& fn) {
    auto env = storage::Environment::open(node.lmdb_dir());
    auto by_time = env.database("member_referrals_by_time");  // before any txn
    auto txn = env.begin_write();
    std::vector<std::pair<std::string, std::string>> entries;
    txn.for_each_prefix(
        by_time, "", [&](std::string_view k, std::string_view v) { entries.emplace_back(k, v); });
    for (const auto& [key, value] : entries) fn(txn, by_time, key, value);
    txn.commit();
    return entries.size();
  };
  node.stop();
  const auto marks_done = [&] {
    auto env = storage::Environment::open(node.lmdb_dir());
    auto marks = env.database(storage::kIndexMarks);
    return env.begin_read().contains(marks, "member_referrals_listing_1");
  };
  CHECK(marks_done());
  CHECK(each_entry([](storage::WriteTxn& txn, storage::Database db, const std::string& key,
                      const std::string& value) {
          CHECK(value.front() == '1');
          txn.put(db, key, "");
        }) == 3);
  {
    auto env = storage::Environment::open(node.lmdb_dir());
    auto marks = env.database(storage::kIndexMarks);
    auto txn = env.begin_write();
    txn.del(marks, "member_referrals_listing_1");
    txn.commit();
  }
  node.start();
  CHECK(member_referrals(node, member) == before);
  REQUIRE(eventually([&] {
    return contains(relay::test::read_file(node.log_path()), "listed 3 existing referral(s)");
  }));
  CHECK(member_referrals(node, member) == before);
  node.stop();
  CHECK(marks_done());
  CHECK(each_entry([](storage::WriteTxn&, storage::Database, const std::string&,
                      const std::string& value) { CHECK(value.front() == '1'); }) == 3);
  // Once: a restart lists nothing more.
  node.start();
  CHECK(member_referrals(node, member) == before);
  node.stop();
  CHECK(count_of(relay::test::read_file(node.log_path()), "existing referral(s)") == 1);
}

TEST_SUITE_END();
