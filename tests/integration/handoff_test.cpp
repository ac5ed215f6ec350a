// Profile exchange and handoffs across three real relay-node processes on loopback (issue 4
// items 6 and 7, issue 10 item 1): kobe.example (JP-28), osaka.example (JP-27) and
// kyoto.example (JP-26), peered with each other. Candidates register at osaka; kobe's
// members find them in the pool, ask for an introduction, and receive the personal data once
// the candidate accepts on their management page at osaka.
//
// The three nodes are shared (trio()); each case registers its own candidates and members.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "support/names.hpp"
#include "support/node_process.hpp"
#include "support/vectors.hpp"

using relay::test::contains;
using relay::test::eventually;
using relay::test::fingerprint;
using relay::test::HttpReply;
using relay::test::NodeProcess;
using relay::test::options;
using relay::test::path_of;
using relay::test::peer_by_api;
using relay::test::peer_by_cli;
using relay::test::TestCandidate;
using relay::test::TestMember;
using relay::test::unique;
using namespace std::chrono_literals;

namespace {

struct Trio {
  NodeProcess kobe{options("kobe.example", "JP-28")};
  NodeProcess osaka{options("osaka.example", "JP-27")};
  NodeProcess kyoto{options("kyoto.example", "JP-26")};
  TestMember osaka_member = osaka.admit_member("Osaka Referrer KK");
  std::string early_email;  // registered before kyoto was peered: reaches kyoto by sync

  Trio() {
    peer_by_api(kobe, osaka, "osaka.example");
    peer_by_api(osaka, kobe, "kobe.example");
    TestCandidate early{"早期 登録", unique("early") + "@example.jp", {}};
    early_email = early.email;
    osaka.register_and_confirm(path_of(osaka_member.relay_link), early);
    peer_by_cli(kyoto, kobe, "kobe.example");
    peer_by_cli(kyoto, osaka, "osaka.example");
    peer_by_api(kobe, kyoto, "kyoto.example");
    peer_by_api(osaka, kyoto, "kyoto.example");
  }
};

Trio& trio() {
  static Trio t;
  return t;
}

// A candidate registered and confirmed at osaka; returns the management page path.
struct Registered {
  TestCandidate person;
  std::string manage;  // /r/m/<token>
};

Registered register_at_osaka(const std::string& stem,
                             std::vector<std::pair<std::string, std::string>> extra = {}) {
  auto& t = trio();
  auto tag = unique(stem);
  TestCandidate person{"大阪 " + tag, tag + "@example.jp", std::move(extra)};
  auto manage = t.osaka.register_and_confirm(path_of(t.osaka_member.relay_link), person);
  return {person, path_of(manage)};
}

nlohmann::json pool(const NodeProcess& node, const TestMember& m, const std::string& query = "") {
  auto reply = node.get("/api/v1/pool" + query, m.api_key);
  REQUIRE_MESSAGE(reply.status == 200, reply.body);
  return reply.json().at("profiles");
}

// The profiles from `from` in node's pool with the given skill tag (unique per candidate).
nlohmann::json pool_hits(const NodeProcess& node, const TestMember& m, const std::string& from,
                         const std::string& skill) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : pool(node, m, "?skill=" + skill))
    if (p["node"] == from) out.push_back(p);
  return out;
}

nlohmann::json handoff(const NodeProcess& node, const TestMember& m, const std::string& id) {
  auto reply = node.get("/api/v1/handoffs/" + id, m.api_key);
  REQUIRE_MESSAGE(reply.status == 200, reply.body);
  return reply.json();
}

bool state_is(const NodeProcess& node, const TestMember& m, const std::string& id,
              const std::string& state) {
  return handoff(node, m, id)["state"] == state;
}

// Every ledger entry of the node, parsed.
std::vector<nlohmann::json> ledger(const NodeProcess& node) {
  auto reply = node.get("/audit/v1/entries?start=0&limit=1000", node.auditor_token());
  REQUIRE(reply.status == 200);
  auto page = reply.json();  // kept: a range-for over a temporary's member would dangle
  std::vector<nlohmann::json> out;
  for (const auto& e : page.at("entries"))
    out.push_back(nlohmann::json::parse(e.get<std::string>()));
  return out;
}

std::size_t count_events(const NodeProcess& node, const std::string& kind,
                         const std::string& handoff_id) {
  std::size_t n = 0;
  for (const auto& e : ledger(node))
    n += e["kind"] == kind && e["data"].value("handoff", "") == handoff_id;
  return n;
}

std::string ledger_text(const NodeProcess& node) {
  return node.get("/audit/v1/entries?limit=1000", node.auditor_token()).body;
}

// The id of the first pending request on a management page ("/requests/q_...").
std::string request_id(const std::string& page) {
  auto at = page.find("/requests/");
  if (at == std::string::npos) return {};
  at += 10;
  auto end = page.find_first_of("\"?", at);
  return page.substr(at, end - at);
}

// A skill tag unique to one candidate, so pool searches find exactly them.
std::string skill_tag(const std::string& stem) {
  auto tag = unique(stem);
  for (auto& c : tag)
    if (c == '-') c = 'x';
  return tag;
}

// Registers a candidate with a unique skill and waits until kobe's pool holds their profile.
struct Circulating {
  Registered who;
  std::string skill;
  std::string ref;
};

Circulating circulating_at_osaka(const std::string& stem, const TestMember& kobe_member) {
  auto& t = trio();
  auto skill = skill_tag(stem);
  auto who = register_at_osaka(stem, {{"skills", skill + ", C++"}});
  nlohmann::json hits;
  REQUIRE(eventually([&] {
    hits = pool_hits(t.kobe, kobe_member, "osaka.example", skill);
    return hits.size() == 1;
  }));
  return {who, skill, hits[0]["ref"]};
}

int exit_code(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_SUITE_BEGIN("handoff");

TEST_CASE("handoff: a consenting candidate at osaka is introduced to a kobe member") {
  auto& t = trio();
  auto kobe_member = t.kobe.admit_member(unique("Kobe Steel KK"));
  auto other_member = t.kobe.admit_member(unique("Kobe Other KK"));
  auto kyoto_member = t.kyoto.admit_member(unique("Kyoto Works KK"));

  // Kyoto was peered after the early candidate registered: the sync brought them.
  REQUIRE(eventually([&] { return pool(t.kyoto, kyoto_member, "?job_category=B").size() >= 1; }));

  auto c = circulating_at_osaka("intro", kobe_member);
  // Anonymised: the five fields, the holding node and its region; no name or contact.
  auto hits = pool_hits(t.kobe, kobe_member, "osaka.example", c.skill);
  CHECK(hits[0]["region"] == "JP-27");
  CHECK(hits[0]["profile"]["job_category"] == "B");
  CHECK(hits[0]["profile"]["prefecture"] == "JP-28");
  CHECK(hits[0]["profile"].size() == 5);
  auto pool_text = t.kobe.get("/api/v1/pool", kobe_member.api_key).body;
  CHECK_FALSE(contains(pool_text, c.who.person.email));
  CHECK_FALSE(contains(pool_text, c.who.person.name));
  CHECK(eventually(
      [&] { return pool_hits(t.kyoto, kyoto_member, "osaka.example", c.skill).size() == 1; }));
  CHECK(pool(t.kobe, kobe_member, "?job_category=K&skill=" + c.skill).empty());
  CHECK(t.kobe.get("/api/v1/pool?prefecture=JP-99", kobe_member.api_key).status == 400);
  CHECK(t.kobe.get("/api/v1/pool").status == 401);
  // One page at a time: limit and offset walk the same list as one search, in its order (again
  // if a profile synced from a peer arrived during the walk).
  CHECK(eventually([&] {
    auto whole = pool(t.kobe, kobe_member);
    nlohmann::json walked = nlohmann::json::array();
    for (std::size_t offset = 0; offset <= whole.size(); ++offset) {
      auto page =
          t.kobe.get("/api/v1/pool?limit=1&offset=" + std::to_string(offset), kobe_member.api_key);
      REQUIRE_MESSAGE(page.status == 200, page.body);
      auto j = page.json();
      for (const auto& p : j.at("profiles")) walked.push_back(p);
      if (!j.at("truncated").get<bool>()) break;
    }
    return whole.size() >= 2 && walked == whole && pool(t.kobe, kobe_member) == whole;
  }));
  for (const auto* bad : {"?limit=0", "?limit=501", "?limit=x", "?offset=-1", "?offset=1e3"}) {
    auto r = t.kobe.get(std::string("/api/v1/pool") + bad, kobe_member.api_key);
    CHECK_MESSAGE(r.status == 400, bad);
    CHECK_MESSAGE(r.json()["error"]["code"] == "bad_parameter", bad);
  }

  // Bad requests change nothing.
  CHECK(t.kobe
            .post_json("/api/v1/handoffs",
                       {{"node", "osaka.example"}, {"ref", "p_000000000000000000000000"}},
                       kobe_member.api_key)
            .status == 404);
  CHECK(t.kobe
            .post_json("/api/v1/handoffs", {{"node", "nowhere.example"}, {"ref", c.ref}},
                       kobe_member.api_key)
            .status == 404);
  CHECK(t.kobe
            .post_json("/api/v1/handoffs", {{"node", "osaka.example"}, {"ref", c.ref}, {"x", 1}},
                       kobe_member.api_key)
            .status == 400);

  auto created = t.kobe.post_json("/api/v1/handoffs", {{"node", "osaka.example"}, {"ref", c.ref}},
                                  kobe_member.api_key);
  REQUIRE_MESSAGE(created.status == 201, created.body);
  std::string id = created.json()["id"];
  CHECK(created.json()["state"] == "requested");
  CHECK(t.kobe
            .post_json("/api/v1/handoffs", {{"node", "osaka.example"}, {"ref", c.ref}},
                       kobe_member.api_key)
            .json()["id"] == id);
  REQUIRE(eventually([&] { return state_is(t.kobe, kobe_member, id, "awaiting_consent"); }));
  CHECK(t.kobe.get("/api/v1/handoffs/" + id, other_member.api_key).status == 404);
  CHECK(t.kobe.get("/api/v1/handoffs", other_member.api_key).json()["handoffs"].empty());
  CHECK(t.kobe.get("/api/v1/handoffs", kobe_member.api_key).json()["handoffs"].size() == 1);
  // Paged (as the referrals): one page, "next" only while more follow; a bad `after` is 400.
  auto first = t.kobe.get("/api/v1/handoffs?limit=1", kobe_member.api_key).json();
  REQUIRE(first["handoffs"].size() == 1);
  CHECK_FALSE(first.contains("next"));
  CHECK(first["total"] == 1);
  CHECK(t.kobe.get("/api/v1/handoffs?limit=1", other_member.api_key).json()["total"] == 0);
  const auto mine = first["handoffs"][0]["id"].get<std::string>();
  auto past = t.kobe.get("/api/v1/handoffs?after=" + mine, kobe_member.api_key).json();
  CHECK(past["handoffs"].empty());
  CHECK_FALSE(past.contains("next"));
  for (const auto& [query, key] :
       std::vector<std::pair<std::string, std::string>>{{"?after=" + mine, other_member.api_key},
                                                        {"?after=h_nothing", kobe_member.api_key},
                                                        {"?limit=0", kobe_member.api_key},
                                                        {"?limit=1001", kobe_member.api_key}}) {
    auto r = t.kobe.get("/api/v1/handoffs" + query, key);
    CHECK_MESSAGE(r.status == 400, query);
    CHECK_MESSAGE(r.json()["error"]["code"] == "bad_parameter", query);
  }
  // As the requisitions and introductions (api/member_list.hpp): newest first, and the list as
  // a CSV download with the list's fields, only the member's own.
  auto newest = t.kobe.get("/api/v1/handoffs?order=newest&limit=5", kobe_member.api_key).json();
  REQUIRE(newest["handoffs"].size() == 1);
  CHECK(newest["handoffs"][0]["id"] == mine);
  auto csv = t.kobe.get("/api/v1/handoffs?format=csv", kobe_member.api_key);
  REQUIRE(csv.status == 200);
  CHECK(csv.header("content-type") == "text/csv; charset=utf-8");
  CHECK(csv.header("content-disposition") == "attachment; filename=\"handoffs.csv\"");
  CHECK(csv.body.rfind("\xEF\xBB\xBFid,node,ref,state,created_ms,updated_ms,reason,delivered_ms,"
                       "expires_ms\r\n",
                       0) == 0);
  CHECK(contains(csv.body, "\r\n" + mine + ",osaka.example," + c.ref + ",awaiting_consent,"));
  CHECK_FALSE(contains(t.kobe.get("/api/v1/handoffs?format=csv", other_member.api_key).body, mine));
  CHECK_FALSE(handoff(t.kobe, kobe_member, id).contains("personal"));

  // The candidate is told, and their page names the company and its region.
  CHECK(t.osaka.wait_mail_links(c.who.person.email, "/r/m/", 2).size() >= 2);
  auto page = t.osaka.get(c.who.manage);
  REQUIRE(page.status == 200);
  CHECK(contains(page.body, kobe_member.name));
  CHECK(contains(page.body, "兵庫県 (JP-28)"));
  CHECK(contains(page.body, "kobe.example"));
  auto rid = request_id(page.body);
  REQUIRE(rid.rfind("q_", 0) == 0);
  CHECK(t.osaka.post_form(c.who.manage + "/requests/" + rid, {{"decision", "maybe"}}).status ==
        200);
  auto accepted = t.osaka.post_form(c.who.manage + "/requests/" + rid, {{"decision", "accept"}});
  REQUIRE(accepted.status == 200);
  CHECK(contains(accepted.body, "紹介を承認しました"));

  REQUIRE(eventually([&] { return state_is(t.kobe, kobe_member, id, "delivered"); }));
  auto detail = handoff(t.kobe, kobe_member, id);
  CHECK(detail["personal"]["name"] == c.who.person.name);
  CHECK(detail["personal"]["email"] == c.who.person.email);
  CHECK(detail["personal"]["phone"] == "078-555-0100");
  CHECK(detail["profile"]["job_category"] == "B");
  CHECK(detail["expires_ms"].get<std::int64_t>() > detail["delivered_ms"].get<std::int64_t>());
  CHECK(t.kobe.get("/api/v1/handoffs/" + id, other_member.api_key).status == 404);

  // Both ledgers hold the record, without personal data.
  REQUIRE(eventually([&] { return count_events(t.osaka, "handoff_receipt", id) == 1; }));
  CHECK(count_events(t.osaka, "handoff_sent", id) == 1);
  CHECK(count_events(t.kobe, "handoff_received", id) == 1);
  for (const auto* node : {&t.kobe, &t.osaka}) {
    auto text = ledger_text(*node);
    CHECK_FALSE(contains(text, c.who.person.email));
    CHECK_FALSE(contains(text, c.who.person.name));
  }
  // The candidate sees who received their data.
  auto after = t.osaka.get(c.who.manage).body;
  CHECK(contains(after, kobe_member.name));
  CHECK(request_id(after).empty());
  auto exported = t.osaka.get(c.who.manage + "/export").json();
  REQUIRE(exported["disclosures"].size() == 1);
  CHECK(exported["disclosures"][0]["node"] == "kobe.example");
  CHECK(exported["disclosures"][0].contains("receipt_ms"));
}

TEST_CASE(
    "handoff: a requester that is down when the candidate accepts gets the delivery once after "
    "restart") {
  auto& t = trio();
  auto kobe_member = t.kobe.admit_member(unique("Kobe Restart KK"));
  auto c = circulating_at_osaka("restart", kobe_member);
  auto created = t.kobe.post_json("/api/v1/handoffs", {{"node", "osaka.example"}, {"ref", c.ref}},
                                  kobe_member.api_key);
  REQUIRE(created.status == 201);
  std::string id = created.json()["id"];
  REQUIRE(eventually([&] { return state_is(t.kobe, kobe_member, id, "awaiting_consent"); }));

  t.kobe.stop();
  auto page = t.osaka.get(c.who.manage).body;
  auto rid = request_id(page);
  REQUIRE_FALSE(rid.empty());
  REQUIRE(t.osaka.post_form(c.who.manage + "/requests/" + rid, {{"decision", "accept"}}).status ==
          200);
  CHECK(count_events(t.osaka, "handoff_sent", id) == 1);
  std::this_thread::sleep_for(700ms);  // osaka tries, fails and backs off
  t.kobe.start();

  REQUIRE(eventually([&] { return state_is(t.kobe, kobe_member, id, "delivered"); }, 40s));
  CHECK(handoff(t.kobe, kobe_member, id)["personal"]["email"] == c.who.person.email);
  REQUIRE(eventually([&] { return count_events(t.osaka, "handoff_receipt", id) == 1; }));
  std::this_thread::sleep_for(500ms);  // nothing more arrives
  CHECK(count_events(t.kobe, "handoff_received", id) == 1);
  CHECK(count_events(t.osaka, "handoff_receipt", id) == 1);
  auto outbox = t.osaka.get("/api/v1/federation/outbox", t.osaka.admin_token()).json()["outbox"];
  for (const auto& e : outbox) CHECK(e["type"] != "handoff.deliver");
}

TEST_CASE(
    "handoff: withdrawn consent or erasure removes the profile from peers' pools and stops a "
    "pending handoff") {
  auto& t = trio();
  auto kobe_member = t.kobe.admit_member(unique("Kobe Withdraw KK"));
  auto kyoto_member = t.kyoto.admit_member(unique("Kyoto Withdraw KK"));
  auto c = circulating_at_osaka("withdraw", kobe_member);
  REQUIRE(eventually(
      [&] { return pool_hits(t.kyoto, kyoto_member, "osaka.example", c.skill).size() == 1; }));
  auto created = t.kobe.post_json("/api/v1/handoffs", {{"node", "osaka.example"}, {"ref", c.ref}},
                                  kobe_member.api_key);
  REQUIRE(created.status == 201);
  std::string id = created.json()["id"];
  REQUIRE(eventually([&] { return state_is(t.kobe, kobe_member, id, "awaiting_consent"); }));
  auto rid = request_id(t.osaka.get(c.who.manage).body);
  REQUIRE_FALSE(rid.empty());

  REQUIRE(t.osaka.post_form(c.who.manage + "/withdraw", {}).status == 200);
  CHECK(eventually([&] { return state_is(t.kobe, kobe_member, id, "withdrawn"); }));
  CHECK(
      eventually([&] { return pool_hits(t.kobe, kobe_member, "osaka.example", c.skill).empty(); }));
  CHECK(eventually(
      [&] { return pool_hits(t.kyoto, kyoto_member, "osaka.example", c.skill).empty(); }));
  auto page = t.osaka.get(c.who.manage).body;
  CHECK(request_id(page).empty());
  auto late = t.osaka.post_form(c.who.manage + "/requests/" + rid, {{"decision", "accept"}});
  CHECK(contains(late.body, "回答済み"));
  CHECK(count_events(t.osaka, "handoff_sent", id) == 0);
  CHECK_FALSE(handoff(t.kobe, kobe_member, id).contains("personal"));

  // Erasure stops circulation too.
  auto e = circulating_at_osaka("erase", kobe_member);
  REQUIRE(t.osaka.post_form(e.who.manage + "/erase", {{"confirm", "yes"}}).status == 200);
  CHECK(
      eventually([&] { return pool_hits(t.kobe, kobe_member, "osaka.example", e.skill).empty(); }));
  CHECK(eventually(
      [&] { return pool_hits(t.kyoto, kyoto_member, "osaka.example", e.skill).empty(); }));
}

TEST_CASE(
    "handoff: the receiver's operator writes the sender's signed evidence to a private file, and "
    "relay-audit verifies it and refuses a changed byte") {
  namespace fs = std::filesystem;
  auto& t = trio();
  auto kobe_member = t.kobe.admit_member(unique("Kobe Evidence KK"));
  auto c = circulating_at_osaka("evidence", kobe_member);
  auto created = t.kobe.post_json("/api/v1/handoffs", {{"node", "osaka.example"}, {"ref", c.ref}},
                                  kobe_member.api_key);
  REQUIRE(created.status == 201);
  std::string id = created.json()["id"];
  REQUIRE(eventually([&] { return state_is(t.kobe, kobe_member, id, "awaiting_consent"); }));
  auto rid = request_id(t.osaka.get(c.who.manage).body);
  REQUIRE_FALSE(rid.empty());
  REQUIRE(t.osaka.post_form(c.who.manage + "/requests/" + rid, {{"decision", "accept"}}).status ==
          200);
  REQUIRE(eventually([&] { return state_is(t.kobe, kobe_member, id, "delivered"); }));

  auto dir = fs::temp_directory_path() / unique("relay-evidence");
  fs::create_directories(dir);
  auto file = dir / "evidence.json";
  auto bin = relay::test::binary_dir().string();
  auto node_cli = bin + "/node/relay-node evidence ";
  auto config = " --config " + t.kobe.config_path().string();
  auto log = (dir / "out.txt").string();
  REQUIRE(exit_code(node_cli + id + " --out " + file.string() + config + " > " + log) == 0);
  // Never printed, only written, and only for the operator to read.
  auto printed = read_file(log);
  CHECK_FALSE(contains(printed, c.who.person.email));
  CHECK(contains(printed, "osaka.example"));
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto evidence = read_file(file);
  CHECK(contains(evidence, c.who.person.email));
  CHECK(contains(evidence, "\"to\":\"kobe.example\""));
  // An existing file is not overwritten; an unknown handoff has no evidence.
  CHECK(exit_code(node_cli + id + " --out " + file.string() + config + " > /dev/null 2>&1") == 2);
  CHECK(exit_code(node_cli + "h_000000000000 --out " + (dir / "none.json").string() + config +
                  " > /dev/null 2>&1") == 1);
  CHECK_FALSE(fs::exists(dir / "none.json"));

  auto osaka_key =
      t.osaka.get("/federation/v1/identity").json().at("signing_key").get<std::string>();
  auto kobe_key = t.kobe.get("/federation/v1/identity").json().at("signing_key").get<std::string>();
  auto audit = bin + "/audit/relay-audit evidence ";
  auto verified = (dir / "verified.txt").string();
  CHECK(exit_code(audit + file.string() + " --signer-key " + osaka_key + " > " + verified) == 0);
  CHECK(read_file(verified).rfind("VERIFIED", 0) == 0);
  CHECK_FALSE(contains(read_file(verified), c.who.person.email));
  // Another node's key, or one changed byte: refused, and the problem named.
  CHECK(exit_code(audit + file.string() + " --signer-key " + kobe_key + " > /dev/null") == 1);
  auto tampered = evidence;
  auto at = tampered.find(c.who.person.email);
  REQUIRE(at != std::string::npos);
  tampered[at] = tampered[at] == 'x' ? 'y' : 'x';
  auto changed = dir / "changed.json";
  std::ofstream(changed, std::ios::binary) << tampered;
  auto refused = (dir / "refused.txt").string();
  CHECK(exit_code(audit + changed.string() + " --signer-key " + osaka_key + " > " + refused) == 1);
  CHECK(contains(read_file(refused), "does not verify"));
  CHECK(exit_code(audit + file.string() + " --signer-key nonsense > /dev/null 2>&1") == 2);
  std::error_code ec;
  fs::remove_all(dir, ec);
}
