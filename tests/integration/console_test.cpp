// The web console's sessions against a real relay-node (node/api/console_routes.cpp,
// node/api/routes.cpp): sign-in with a wrong key is a 401 the credential guard counts; a
// session cookie without its CSRF token changes nothing; sign-out ends the session; a member's
// session never sees another member's data through any member route the console calls; a
// replaced API key ends the sessions signed in with it.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "support/names.hpp"
#include "support/node_process.hpp"

using relay::test::HttpReply;
using relay::test::NodeProcess;
using relay::test::path_of;
using relay::test::TestCandidate;
using relay::test::TestMember;
using relay::test::unique;

namespace {

struct Session {
  std::string cookie;  // "relay_session=<id>"
  std::string csrf;
};

HttpReply sign_in(const NodeProcess& node, const std::string& credential) {
  return node.post_json("/console/session", {{"credential", credential}});
}

Session session_of(const NodeProcess& node, const std::string& credential) {
  auto r = sign_in(node, credential);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  auto set = r.header("set-cookie");
  CHECK(set.find("HttpOnly") != std::string::npos);
  CHECK(set.find("SameSite=Strict") != std::string::npos);
  CHECK(set.find("Path=/") != std::string::npos);
  CHECK(set.find("Secure") == std::string::npos);  // plain HTTP on loopback
  return {set.substr(0, set.find(';')), r.json().at("csrf_token").get<std::string>()};
}

// A request with the session cookie (and the CSRF token when `csrf`), JSON body if any.
HttpReply with(const NodeProcess& node, const Session& s, std::string_view method,
               std::string_view path, const std::string& body = {}, bool csrf = true) {
  std::map<std::string, std::string> headers{{"Cookie", s.cookie}};
  if (csrf) headers["X-CSRF-Token"] = s.csrf;
  if (!body.empty()) headers["Content-Type"] = "application/json";
  return node.request(method, path, body, headers);
}

const nlohmann::json kRequisition = {
    {"title", "Front desk"},    {"category", "B"}, {"required_skills", {"C++"}},
    {"prefectures", {"JP-28"}}, {"headcount", 1},  {"employment_type", "regular"}};

}  // namespace

TEST_SUITE_BEGIN("console");

TEST_CASE("console: a wrong key is refused (401) and counted as a guess; a right one signs in") {
  NodeProcess node{relay::test::options("console-guess.example", "JP-28")};
  auto member = node.admit_member(unique("Console KK"));
  auto wrong = sign_in(node, "rk_" + unique("guess"));
  CHECK(wrong.status == 401);
  CHECK(wrong.error_code() == "unauthorised");
  CHECK(wrong.header("set-cookie").empty());
  // The page asks the same of a suspended member as the API: 403, not a guess.
  auto suspended = node.admit_member(unique("Suspended KK"));
  REQUIRE(node.post_json("/api/v1/members/" + suspended.id + "/suspend", {}, node.admin_token())
              .status == 200);
  CHECK(sign_in(node, suspended.api_key).status == 403);
  // Member and operator sessions.
  auto m = sign_in(node, member.api_key);
  REQUIRE(m.status == 200);
  CHECK(m.json().at("role") == "member");
  CHECK(m.json().at("member").at("id") == member.id);
  auto op = sign_in(node, node.admin_token());
  REQUIRE(op.status == 200);
  CHECK(op.json().at("role") == "operator");
  // Nine more wrong keys (ten in all): the address is refused even with a right key.
  for (int i = 0; i < 9; ++i) CHECK(sign_in(node, "rk_" + unique("guess")).status == 401);
  auto blocked = sign_in(node, member.api_key);
  CHECK(blocked.status == 429);
  CHECK(blocked.error_code() == "too_many_attempts");
  CHECK(!blocked.header("retry-after").empty());
  CHECK(node.get("/api/v1/me", member.api_key).status == 429);  // the guard is the API's
}

TEST_CASE("console: a session cookie without its CSRF token changes nothing; sign-out ends it") {
  NodeProcess node{relay::test::options("console-csrf.example", "JP-28")};
  auto member = node.admit_member(unique("Csrf KK"));
  auto s = session_of(node, member.api_key);
  // Reading with the cookie works; the session says who it is and repeats the token.
  auto me = with(node, s, "GET", "/api/v1/me", {}, false);
  REQUIRE(me.status == 200);
  CHECK(me.json().at("id") == member.id);
  auto who = with(node, s, "GET", "/console/session", {}, false);
  REQUIRE(who.status == 200);
  CHECK(who.json().at("csrf_token") == s.csrf);
  // Writing without the token, or with another, is refused and opens nothing.
  for (const auto& token : {std::string(), std::string("wrong"), std::string(43, 'A')}) {
    std::map<std::string, std::string> headers{{"Cookie", s.cookie},
                                               {"Content-Type", "application/json"}};
    if (!token.empty()) headers["X-CSRF-Token"] = token;
    auto refused = node.request("POST", "/api/v1/requisitions", kRequisition.dump(), headers);
    CHECK(refused.status == 403);
    CHECK(refused.error_code() == "csrf_token_required");
  }
  // A form post carrying the cookie (what another site's form would send) is refused too.
  auto form =
      node.request("POST", "/api/v1/members/" + member.id + "/suspend", "x=1",
                   {{"Cookie", s.cookie}, {"Content-Type", "application/x-www-form-urlencoded"}});
  CHECK(form.status == 403);
  CHECK(node.get("/api/v1/requisitions", member.api_key).json().at("requisitions").empty());
  // With the token it works.
  CHECK(with(node, s, "POST", "/api/v1/requisitions", kRequisition.dump()).status == 201);
  CHECK(node.get("/api/v1/requisitions", member.api_key).json().at("requisitions").size() == 1);
  // Sign-out needs the token as well, then the cookie opens nothing.
  CHECK(with(node, s, "DELETE", "/console/session", {}, false).status == 403);
  auto out = with(node, s, "DELETE", "/console/session");
  CHECK(out.status == 200);
  CHECK(out.header("set-cookie").find("Max-Age=0") != std::string::npos);
  auto after = with(node, s, "GET", "/api/v1/me", {}, false);
  CHECK(after.status == 401);
  CHECK(after.error_code() == "no_session");
  CHECK(with(node, s, "GET", "/console/session", {}, false).status == 401);
  CHECK(with(node, s, "POST", "/api/v1/requisitions", kRequisition.dump()).status == 401);
  // A made-up session id is no session either; Bearer requests are unaffected.
  CHECK(node.request("GET", "/api/v1/me", {}, {{"Cookie", "relay_session=" + std::string(43, 'x')}})
            .status == 401);
  CHECK(node.get("/api/v1/me", member.api_key).status == 200);
}

TEST_CASE(
    "console: an operator session reaches operator routes only; a suspension ends member "
    "sessions") {
  NodeProcess node{relay::test::options("console-roles.example", "JP-28")};
  auto member = node.admit_member(unique("Roles KK"));
  auto op = session_of(node, node.admin_token());
  auto m = session_of(node, member.api_key);
  CHECK(with(node, op, "GET", "/api/v1/members", {}, false).status == 200);
  CHECK(with(node, op, "GET", "/api/v1/credits", {}, false).status == 401);
  CHECK(with(node, m, "GET", "/api/v1/members", {}, false).status == 403);
  CHECK(with(node, m, "GET", "/api/v1/peers", {}, false).status == 403);
  CHECK(with(node, op, "POST", "/api/v1/members/" + member.id + "/suspend").status == 200);
  CHECK(with(node, m, "GET", "/api/v1/me", {}, false).status == 403);  // member_suspended
  // The page and its files: a strict CSP, no inline script.
  auto page = node.get("/");
  CHECK(page.status == 200);
  CHECK(page.header("content-type").rfind("text/html", 0) == 0);
  CHECK(page.header("content-security-policy").find("script-src 'self'") != std::string::npos);
  CHECK(page.header("x-frame-options") == "DENY");
  CHECK(page.body.find("<script>") == std::string::npos);
  auto script = node.get("/console/assets/console.js");
  CHECK(script.status == 200);
  CHECK(script.header("content-type").rfind("text/javascript", 0) == 0);
  auto etag = script.header("etag");
  CHECK(!etag.empty());
  CHECK(node.request("GET", "/console/assets/console.js", {}, {{"If-None-Match", etag}}).status ==
        304);
  CHECK(node.get("/console/assets/chart.min.js").status == 200);
  CHECK(node.get("/console/assets/nothing.js").status == 404);
  CHECK(node.get("/console/assets/index.html").status == 404);
}

// A leaked key (a departed ATS vendor) is replaced by the member itself or by the operator: the
// new one is shown once, the old one answers 401 at once, and console sessions started with it
// end with it; nothing else about the member changes.
TEST_CASE("console: a replaced API key stops working at once, with its sessions") {
  NodeProcess node{relay::test::options("console-keys.example", "JP-28")};
  auto member = node.admit_member(unique("Keys KK"));
  auto other = node.admit_member(unique("Bystander KK"));
  auto session = session_of(node, member.api_key);
  const auto ledger = node.ledger_size();
  auto before = node.get("/api/v1/me", member.api_key).json();

  auto own = node.post_json("/api/v1/me/api-key", nlohmann::json::object(), member.api_key);
  REQUIRE(own.status == 200);
  const auto key = own.json().at("api_key").get<std::string>();
  CHECK(key != member.api_key);
  CHECK(own.json().at("id") == member.id);
  CHECK_FALSE(own.json().contains("key_digest"));
  CHECK(node.get("/api/v1/me", member.api_key).status == 401);
  CHECK(with(node, session, "GET", "/api/v1/me", {}, false).status == 401);
  auto after = node.get("/api/v1/me", key);
  REQUIRE(after.status == 200);
  CHECK(after.json() == before);  // the same member, link and all
  CHECK(node.get("/api/v1/me", other.api_key).status == 200);

  // The operator, for a member that lost its key; unknown members are 404; members cannot.
  auto renewed = node.post_json("/api/v1/members/" + member.id + "/api-key",
                                nlohmann::json::object(), node.admin_token());
  REQUIRE(renewed.status == 200);
  const auto third = renewed.json().at("api_key").get<std::string>();
  CHECK(renewed.json().contains("credits"));  // the operator's view of the member
  CHECK(node.get("/api/v1/me", key).status == 401);
  CHECK(node.get("/api/v1/me", third).status == 200);
  CHECK(node.post_json("/api/v1/members/m_nobody/api-key", nlohmann::json::object(),
                       node.admin_token())
            .status == 404);
  CHECK(node.post_json("/api/v1/members/" + other.id + "/api-key", nlohmann::json::object(), third)
            .status == 403);
  CHECK(node.get("/api/v1/me", other.api_key).status == 200);
  CHECK(node.ledger_size() == ledger);  // a credential, not a change of standing
  node.restart();
  CHECK(node.get("/api/v1/me", third).status == 200);
  CHECK(node.get("/api/v1/me", member.api_key).status == 401);
  const auto log = node.log_tail(1 << 20);
  for (const auto& secret : {member.api_key, key, third})
    CHECK(log.find(secret) == std::string::npos);
}

TEST_CASE("console: member B's session never sees member A's data") {
  NodeProcess node{relay::test::options("console-isolation.example", "JP-28")};
  auto a = node.admit_member(unique("Alpha KK"));
  auto b = node.admit_member(unique("Beta KK"));
  // A's data: a referral from B's link is B's; A has one of its own, a requisition, an
  // introduction of the person B referred (a local pool profile), and a credit history.
  auto tag = unique("iso");
  node.register_and_confirm(path_of(a.relay_link),
                            TestCandidate{"候補 A", tag + "a@example.jp", {}});
  node.register_and_confirm(path_of(b.relay_link),
                            TestCandidate{"候補 B", tag + "b@example.jp", {}});
  REQUIRE(node.post_json("/api/v1/members/" + a.id + "/credits",
                         {{"credits", 2}, {"reason", "test"}}, node.admin_token())
              .status == 201);
  auto opened = node.post_json("/api/v1/requisitions", kRequisition, a.api_key);
  REQUIRE(opened.status == 201);
  auto requisition = opened.json().at("id").get<std::string>();
  auto referral = node.get("/api/v1/referrals", a.api_key).json().at("referrals").at(0);
  auto referral_id = referral.at("id").get<std::string>();
  std::string introduction;
  auto matches = node.get("/api/v1/requisitions/" + requisition + "/matches", a.api_key).json();
  for (const auto& m : matches.at("matches")) {
    auto made = node.post_json(
        "/api/v1/introductions",
        {{"requisition", requisition}, {"node", m.at("node")}, {"ref", m.at("ref")}}, a.api_key);
    if (made.status == 201) {
      introduction = made.json().at("id").get<std::string>();
      break;
    }
  }
  CHECK_FALSE(introduction.empty());  // the pool had a profile to introduce
  auto sb = session_of(node, b.api_key);
  // Everything of A that must not appear in B's answers.
  std::vector<std::string> secrets = {a.id, a.name, requisition, referral_id, "Front desk"};
  if (!introduction.empty()) secrets.push_back(introduction);
  auto clean = [&](const HttpReply& r, const std::string& what) {
    for (const auto& s : secrets)
      CHECK_MESSAGE(r.body.find(s) == std::string::npos, what << " shows " << s);
  };
  // Lists and summaries: only B's.
  for (const char* path :
       {"/api/v1/me", "/api/v1/relay-link", "/api/v1/credits", "/api/v1/referrals",
        "/api/v1/referrals?format=csv", "/api/v1/requisitions", "/api/v1/introductions",
        "/api/v1/outcomes/due", "/api/v1/impact", "/api/v1/kpis", "/api/v1/kpis?format=csv",
        "/api/v1/insight", "/api/v1/insight?format=csv", "/console/session"}) {
    auto r = with(node, sb, "GET", path, {}, false);
    CHECK_MESSAGE((r.status == 200 || r.status == 404), path << ": " << r.status);
    clean(r, path);
  }
  // A's objects by id: 404 (or 403), nothing of A in the body, nothing changed.
  std::vector<std::pair<std::string, std::string>> by_id = {
      {"GET", "/api/v1/requisitions/" + requisition},
      {"GET", "/api/v1/requisitions/" + requisition + "/matches"},
      {"POST", "/api/v1/requisitions/" + requisition + "/close"},
      {"GET", "/api/v1/referrals/" + referral_id},
      {"GET", "/api/v1/members/" + a.id},
      {"POST", "/api/v1/members/" + a.id + "/suspend"}};
  if (!introduction.empty()) {
    by_id.emplace_back("GET", "/api/v1/introductions/" + introduction);
    by_id.emplace_back("POST", "/api/v1/introductions/" + introduction + "/outcomes");
  }
  for (const auto& [method, path] : by_id) {
    auto body = path.ends_with("/outcomes") ? nlohmann::json{{"outcome", "hired"}}.dump() : "";
    auto r = with(node, sb, method, path, body);
    CHECK_MESSAGE((r.status == 404 || r.status == 403), method << " " << path << ": " << r.status);
    clean(r, path);
  }
  auto update = with(node, sb, "PUT", "/api/v1/requisitions/" + requisition, kRequisition.dump());
  CHECK(update.status == 404);
  clean(update, "PUT requisition");
  auto intro =
      with(node, sb, "POST", "/api/v1/introductions",
           nlohmann::json{{"requisition", requisition}, {"node", "local"}, {"ref", "x"}}.dump());
  CHECK(intro.status != 201);
  clean(intro, "POST introduction");
  // A's requisition is still open and unchanged; A still active.
  auto still = node.get("/api/v1/requisitions/" + requisition, a.api_key).json();
  CHECK(still.at("state") == "open");
  CHECK(still.at("title") == "Front desk");
  CHECK(node.get("/api/v1/me", a.api_key).status == 200);
}

TEST_CASE("console: under TLS the session cookie is Secure") {
  auto opts = relay::test::options("console-tls.example", "JP-28");
  opts.tls = true;
  NodeProcess node{opts};
  auto r = sign_in(node, node.admin_token());
  REQUIRE(r.status == 200);
  CHECK(r.header("set-cookie").find("; Secure") != std::string::npos);
  CHECK(r.header("set-cookie").find("HttpOnly") != std::string::npos);
}
