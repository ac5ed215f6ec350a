// Introductions that cost a credit, across two real relay-node processes on loopback (issue 14):
// member A's rejected candidates register at kobe (X); member B at kobe and member C at osaka
// (Y) open requisitions, see matches with reasons, and spend credits; the candidates accept on
// their management pages; B and C receive the data and report hires and 6-month retention
// (both nodes restarted with their clocks six months on); C's outcomes travel back to kobe as
// signed introduction.outcome messages, so A sees both hires (B's at kobe, C's at osaka) as its
// impact; relay-audit verifies both ledgers with every balance recomputed. Also: the parallel spend
// of the last credit over HTTP, a decline refunding, and outcome order and ownership.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/api_pages.hpp"
#include "support/names.hpp"
#include "support/node_process.hpp"
#include "support/temp_dir.hpp"
#include "support/tool_run.hpp"
#include "support/vectors.hpp"

using relay::test::eventually;
using relay::test::HttpReply;
using relay::test::NodeProcess;
using relay::test::path_of;
using relay::test::TestCandidate;
using relay::test::TestMember;
using relay::test::unique;
using namespace std::chrono_literals;

namespace {

nlohmann::json forklift_requisition() {
  return {{"title", "フォークリフト作業員"},
          {"category", "H"},
          {"required_skills", {"フォークリフト"}},
          {"preferred_skills", {"溶接"}},
          {"prefectures", {"JP-28"}},
          {"experience_band", "3-5"},
          {"headcount", 1},
          {"employment_type", "regular"}};
}

TestCandidate forklift_driver(const std::string& tag) {
  return {"荷役 " + tag,
          tag + "@example.jp",
          {{"job_category", "H"}, {"skills", "フォークリフト, 溶接"}, {"experience_band", "6-10"}}};
}

std::string requisition_id(const NodeProcess& node, const TestMember& m,
                           const nlohmann::json& body) {
  auto r = node.post_json("/api/v1/requisitions", body, m.api_key);
  REQUIRE_MESSAGE(r.status == 201, r.body);
  return r.json().at("id");
}

void grant(const NodeProcess& node, const TestMember& m, int credits) {
  auto r = node.post_json("/api/v1/members/" + m.id + "/credits",
                          {{"credits", credits}, {"reason", "再就職支援プログラム"}},
                          node.admin_token());
  REQUIRE_MESSAGE(r.status == 201, r.body);
}

std::int64_t balance(const NodeProcess& node, const TestMember& m) {
  auto r = node.get("/api/v1/credits", m.api_key);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return r.json().at("balance").get<std::int64_t>();
}

// The ranked matches of a requisition.
nlohmann::json matches(const NodeProcess& node, const TestMember& m,
                       const std::string& requisition) {
  auto r = node.get("/api/v1/requisitions/" + requisition + "/matches?limit=50", m.api_key);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return r.json().at("matches");
}

// A's social hiring impact at its node: {referred_hired, referred_retained_6m}.
std::pair<int, int> impact_of(const NodeProcess& node, const TestMember& m) {
  auto r = node.get("/api/v1/impact", m.api_key);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return {r.json().at("referred_hired").get<int>(), r.json().at("referred_retained_6m").get<int>()};
}

// How many of the node's ledger entries are of this kind.
std::size_t count_events(const NodeProcess& node, const std::string& kind) {
  auto reply = node.get("/audit/v1/entries?start=0&limit=1000", node.auditor_token());
  REQUIRE(reply.status == 200);
  auto page = reply.json();  // kept: a range-for over a temporary's member would dangle
  std::size_t n = 0;
  for (const auto& e : page.at("entries"))
    n += nlohmann::json::parse(e.get<std::string>())["kind"] == kind;
  return n;
}

HttpReply outcome(const NodeProcess& node, const TestMember& m, const std::string& id,
                  const std::string& what) {
  return node.post_json("/api/v1/introductions/" + id + "/outcomes", {{"outcome", what}},
                        m.api_key);
}

}  // namespace

TEST_SUITE_BEGIN("introductions");

TEST_CASE(
    "introductions end to end: referrals to credits, matches with reasons, consent, hires, "
    "retention, impact, audit") {
  NodeProcess x{relay::test::options("kobe.example", "JP-28")};
  NodeProcess y{relay::test::options("osaka.example", "JP-27")};
  relay::test::peer_by_api(x, y);
  relay::test::peer_by_api(y, x);
  auto a = x.admit_member("Referrer A KK");
  auto b = x.admit_member("Hirer B KK");
  auto c = y.admit_member("Hirer C KK");

  // A's rejected candidates register: ten distinct, verified referrals earn A one credit.
  std::vector<TestCandidate> people;
  for (int i = 0; i < 10; ++i) {
    auto tag = unique("intro");
    people.push_back(i < 2 ? forklift_driver(tag)
                           : TestCandidate{"候補 " + tag, tag + "@example.jp", {}});
    x.register_and_confirm(path_of(a.relay_link), people.back());
  }
  CHECK(balance(x, a) == 1);

  // The operator grants B and C a credit each (a municipal programme); members never buy them.
  grant(x, b, 1);
  grant(y, c, 1);
  CHECK(balance(x, b) == 1);

  // B's requisition: the forklift drivers rank first, each score with its reasons.
  auto rb = requisition_id(x, b, forklift_requisition());
  auto mb = matches(x, b, rb);
  REQUIRE(mb.size() >= 2);
  CHECK(mb[0].at("node") == "kobe.example");
  CHECK(mb[0].at("score").get<int>() > mb.back().at("score").get<int>());
  bool forklift_reason = false;
  for (const auto& reason : mb[0].at("reasons"))
    if (reason.at("feature") == "required_skill" && reason.at("points").get<int>() > 0)
      forklift_reason = true;
  CHECK(forklift_reason);
  CHECK(mb.dump().find("@example.jp") == std::string::npos);  // no contact data in matches
  CHECK(mb.dump().find("荷役") == std::string::npos);         // nor names

  // Which of the two drivers is first is the scorer's business: find the person by the mail.
  auto ib = x.post_json("/api/v1/introductions",
                        {{"requisition", rb}, {"node", "kobe.example"}, {"ref", mb[0].at("ref")}},
                        b.api_key);
  REQUIRE_MESSAGE(ib.status == 201, ib.body);
  auto b_intro = ib.json().at("id").get<std::string>();
  CHECK(balance(x, b) == 0);
  // No credit left: the next introduction is refused and changes nothing.
  auto refused = x.post_json(
      "/api/v1/introductions",
      {{"requisition", rb}, {"node", "kobe.example"}, {"ref", mb[1].at("ref")}}, b.api_key);
  CHECK(refused.status == 402);
  CHECK(refused.json().at("error").at("code") == "no_credit");

  // The candidate sees the company, the position and the reasons, and accepts.
  std::string manage;
  const TestCandidate* chosen = nullptr;
  REQUIRE(eventually([&] {
    for (const auto& p : people) {
      auto links = x.mail_links(p.email, "/r/m/");
      if (links.size() >= 2) {
        manage = path_of(links.back());
        chosen = &p;
        return true;
      }
    }
    return false;
  }));
  auto page = x.get(manage);
  REQUIRE(page.status == 200);
  CHECK(page.body.find("Hirer B KK") != std::string::npos);
  CHECK(page.body.find("フォークリフト作業員") != std::string::npos);
  CHECK(page.body.find("フォークリフト") != std::string::npos);
  CHECK(page.body.find("+30") != std::string::npos);
  auto accepted = x.post_form(manage + "/requests/" + b_intro, {{"decision", "accept"}});
  CHECK(accepted.status < 400);
  auto detail = x.get("/api/v1/introductions/" + b_intro, b.api_key);
  REQUIRE(detail.status == 200);
  CHECK(detail.json().at("state") == "delivered");
  CHECK(detail.json().at("personal").at("name") == chosen->name);

  // Outcomes: only B's own, and in order.
  CHECK(outcome(x, a, b_intro, "interview").status == 404);
  CHECK(outcome(x, b, b_intro, "retained_6m").status == 409);
  CHECK(outcome(x, b, b_intro, "interview").status == 200);
  CHECK(outcome(x, b, b_intro, "offer").status == 200);
  CHECK(outcome(x, b, b_intro, "hired").status == 200);

  // C at osaka: kobe's circulated profiles are matched too; C introduces one across nodes.
  auto rc = requisition_id(y, c,
                           {{"title", "backend engineer"},
                            {"category", "B"},
                            {"required_skills", {"C++"}},
                            {"prefectures", {"JP-28", "JP-27"}},
                            {"experience_band", "1-2"},
                            {"headcount", 1},
                            {"employment_type", "contract"}});
  nlohmann::json mc;
  REQUIRE(eventually([&] {
    mc = matches(y, c, rc);
    return !mc.empty() && mc[0].at("node") == "kobe.example";
  }));
  auto ic = y.post_json("/api/v1/introductions",
                        {{"requisition", rc}, {"node", "kobe.example"}, {"ref", mc[0].at("ref")}},
                        c.api_key);
  REQUIRE_MESSAGE(ic.status == 201, ic.body);
  auto c_intro = ic.json().at("id").get<std::string>();
  CHECK(balance(y, c) == 0);

  // The candidate at kobe gets the request mail and accepts on their page (the handoff path).
  std::string request_page;
  REQUIRE(eventually([&] {
    for (const auto& p : people) {
      auto links = x.mail_links(p.email, "/r/m/");
      for (const auto& l : links) {
        auto got = x.get(path_of(l));
        if (got.status == 200 && got.body.find("Hirer C KK") != std::string::npos &&
            got.body.find("/requests/q_") != std::string::npos) {
          request_page = path_of(l);
          return true;
        }
      }
    }
    return false;
  }));
  // The request reached the person at kobe: A's funnel counts them as introduced (A referred
  // them), as it counts the person B introduced; the same person counts once.
  const TestCandidate* asked = nullptr;
  for (const auto& p : people)
    for (const auto& l : x.mail_links(p.email, "/r/m/"))
      if (path_of(l) == request_page) asked = &p;
  REQUIRE(asked != nullptr);
  CHECK(relay::test::funnel_stage(x.get("/api/v1/kpis", a.api_key).json(), "introduced") ==
        (asked == chosen ? 1u : 2u));
  auto page_c = x.get(request_page).body;
  auto at = page_c.find("/requests/q_");
  REQUIRE(at != std::string::npos);
  auto request_id = page_c.substr(at + 10, page_c.find('"', at) - at - 10);
  auto q = request_id.find('?');
  if (q != std::string::npos) request_id = request_id.substr(0, q);
  CHECK(x.post_form(request_page + "/requests/" + request_id, {{"decision", "accept"}}).status <
        400);
  REQUIRE(eventually([&] {
    auto d = y.get("/api/v1/introductions/" + c_intro, c.api_key);
    return d.status == 200 && d.json().at("state") == "delivered" && d.json().contains("personal");
  }));
  // Before C's hire, A's impact at kobe is B's hire alone.
  CHECK(impact_of(x, a) == std::pair{1, 0});
  CHECK(outcome(y, c, c_intro, "hired").status == 200);
  // The hire at osaka reaches kobe through the outbox (asynchronously): A's impact counts it.
  CHECK(eventually([&] { return impact_of(x, a).first == 2; }));

  // Six months on (both nodes' clocks, so envelopes stay within each other's window).
  ::setenv("RELAY_TEST_CLOCK_OFFSET_MS", std::to_string(190LL * 86400 * 1000).c_str(), 1);
  x.restart();
  y.restart();
  ::unsetenv("RELAY_TEST_CLOCK_OFFSET_MS");
  CHECK(outcome(x, b, b_intro, "retained_3m").status == 200);
  CHECK(outcome(x, b, b_intro, "retained_6m").status == 200);
  CHECK(outcome(y, c, c_intro, "retained_3m").status == 200);
  CHECK(outcome(y, c, c_intro, "retained_6m").status == 200);

  // A, whose rejections brought both people in, sees both hires elsewhere and their 6-month
  // retention as its impact: B's at kobe at once, C's once osaka's message has arrived.
  CHECK(eventually([&] { return impact_of(x, a) == std::pair{2, 2}; }));
  // C's outcomes (hired, retained_3m, retained_6m) arrived once each at kobe; one hire was
  // attributed there for each of B's and C's introductions; osaka attributes none (the
  // candidate was not referred there).
  CHECK(eventually([&] { return count_events(x, "outcome_received") == 3; }));
  CHECK(count_events(x, "hire_attributed") == 2);
  CHECK(count_events(y, "hire_attributed") == 0);
  CHECK(impact_of(y, c) == std::pair{0, 0});  // C referred nobody

  // Every balance recomputed from each ledger by the auditor's tool.
  CHECK(relay::test::audit_verify(x) == 0);
  CHECK(relay::test::audit_verify(y) == 0);

  // Settlement (issue 15): C at osaka spent a credit on a person kobe held, so osaka owes kobe
  // one introduction, on both ledgers; B's introduction stayed at kobe and owes nobody.
  CHECK(count_events(x, "obligation_recorded") == 1);
  CHECK(count_events(y, "obligation_recorded") == 1);
  auto settle = [&](const nlohmann::json& body) {
    return y.post_json("/api/v1/settlements", body, y.admin_token());
  };
  CHECK(settle({{"peer", "nowhere.example"}}).status == 404);
  CHECK(settle(nlohmann::json::object()).status == 400);
  CHECK(settle({{"peer", "kobe.example"}, {"net", 5}}).status == 400);
  auto proposal = settle({{"peer", "kobe.example"}});
  REQUIRE_MESSAGE(proposal.status == 202, proposal.body);
  auto statement = proposal.json().at("statement").get<std::string>();
  CHECK(proposal.json().at("items").size() == 1);
  auto settled = [&](const NodeProcess& node) {
    auto view = node.get("/api/v1/settlements", node.admin_token()).json();
    for (const auto& s : view.at("statements"))
      if (s.at("statement") == statement && s.at("state") == "agreed")
        return s.at("net").get<int>();
    return 0;
  };
  REQUIRE(eventually([&] { return settled(y) == -1; }));
  CHECK(settled(x) == 1);
  auto invoice = x.get("/api/v1/settlements?format=csv", x.admin_token());
  CHECK(invoice.status == 200);
  CHECK(invoice.body.find(statement) != std::string::npos);
  CHECK(x.get("/api/v1/settlements", c.api_key).status >= 400);  // the operator's only
  // Netting needs three or more nodes: with two there is nothing to propose.
  auto netting = [&](const nlohmann::json& body) {
    return y.post_json("/api/v1/nettings", body, y.admin_token());
  };
  CHECK(netting({{"participants", {"kobe.example"}}}).status == 400);
  CHECK(netting({{"participants", {"kobe.example", "nara.example"}}}).status == 404);
  CHECK(netting({{"participants", "kobe.example"}}).status == 400);
  CHECK(y.get("/api/v1/nettings", y.admin_token()).json().at("nettings").empty());

  // The auditor checks the statement against both exported logs, and the consortium's sum.
  auto scratch = relay::test::make_temp_dir("settlement-audit");
  const auto node_bin = (relay::test::binary_dir() / "node" / "relay-node").string();
  const auto audit_bin = (relay::test::binary_dir() / "audit" / "relay-audit").string();
  for (const auto& [n, name] : {std::pair{&x, "kobe.example"}, std::pair{&y, "osaka.example"}}) {
    auto run = relay::test::run_tool(
        {node_bin, "export", (scratch / name).string(), "--config", n->config_path().string()},
        scratch);
    REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  }
  auto pair = relay::test::run_tool({audit_bin, "settlement", (scratch / "kobe.example").string(),
                                     (scratch / "osaka.example").string(), "--json"},
                                    scratch);
  CHECK_MESSAGE(pair.exit_code == 0, pair.out);
  CHECK(pair.json().at("statements") == 1);
  CHECK(pair.json().at("positions").at("kobe.example") == 1);
  CHECK(pair.json().at("positions").at("osaka.example") == -1);
  auto all = relay::test::run_tool({audit_bin, "consortium", (scratch / "kobe.example").string(),
                                    (scratch / "osaka.example").string()},
                                   scratch);
  CHECK_MESSAGE(all.exit_code == 0, all.out);
  CHECK(all.out.find("sum of positions: 0") != std::string::npos);
  auto alone = relay::test::run_tool(
      {audit_bin, "consortium", (scratch / "osaka.example").string()}, scratch);
  CHECK(alone.exit_code == 1);
  CHECK(alone.out.find("no log of kobe.example given") != std::string::npos);
}

TEST_CASE(
    "introductions: N parallel spends of the last credit, exactly one wins; a decline refunds") {
  NodeProcess x{relay::test::options("spend.example", "JP-28")};
  auto referrer = x.admit_member("Referrer KK");
  auto buyer = x.admit_member("Buyer KK");
  for (int i = 0; i < 8; ++i) {
    auto tag = unique("race");
    x.register_and_confirm(path_of(referrer.relay_link), forklift_driver(tag));
  }
  grant(x, buyer, 1);
  auto req = requisition_id(x, buyer, forklift_requisition());
  auto ms = matches(x, buyer, req);
  REQUIRE(ms.size() == 8);

  std::atomic<int> won{0}, no_credit{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      auto r =
          x.post_json("/api/v1/introductions",
                      {{"requisition", req}, {"node", "spend.example"}, {"ref", ms[i].at("ref")}},
                      buyer.api_key);
      if (r.status == 201)
        ++won;
      else if (r.status == 402)
        ++no_credit;
      else
        ++other;
    });
  for (auto& t : threads) t.join();
  CHECK(won == 1);
  CHECK(no_credit == 7);
  CHECK(other == 0);
  CHECK(balance(x, buyer) == 0);

  // The candidate declines: the credit comes back, naming the introduction.
  auto list = x.get("/api/v1/introductions", buyer.api_key).json().at("introductions");
  REQUIRE(list.size() == 1);
  auto id = list[0].at("id").get<std::string>();
  std::string manage;
  REQUIRE(eventually([&] {
    for (const auto& m : x.mails())
      for (const auto& l : m.links())
        if (l.find("/r/m/") != std::string::npos) {
          auto page = x.get(path_of(l));
          if (page.body.find("/requests/" + id) != std::string::npos) {
            manage = path_of(l);
            return true;
          }
        }
    return false;
  }));
  CHECK(x.post_form(manage + "/requests/" + id, {{"decision", "decline"}}).status < 400);
  CHECK(balance(x, buyer) == 1);
  auto credits = x.get("/api/v1/credits", buyer.api_key).json();
  CHECK(credits.dump().find("credit_refunded") != std::string::npos);
  CHECK(credits.dump().find(id) != std::string::npos);
  CHECK(outcome(x, buyer, id, "hired").status == 409);  // declined: nothing to report
}

TEST_CASE("introductions and requisitions: the lists page in order, with next, and as CSV") {
  NodeProcess x{relay::test::options("pages.example", "JP-28")};
  auto referrer = x.admit_member("Referrer KK");
  auto buyer = x.admit_member("Buyer KK");
  auto other = x.admit_member("Other Buyer KK");
  for (int i = 0; i < 5; ++i)
    x.register_and_confirm(path_of(referrer.relay_link), forklift_driver(unique("page")));
  grant(x, buyer, 5);
  auto req = requisition_id(x, buyer, forklift_requisition());
  auto ms = matches(x, buyer, req);
  REQUIRE(ms.size() == 5);
  std::vector<std::string> made;
  for (const auto& m : ms) {
    auto r = x.post_json("/api/v1/introductions",
                         {{"requisition", req}, {"node", "pages.example"}, {"ref", m.at("ref")}},
                         buyer.api_key);
    REQUIRE(r.status == 201);
    made.push_back(r.json().at("id").get<std::string>());
  }
  auto ids = [](const nlohmann::json& list) {
    std::vector<std::string> out;
    for (const auto& i : list) out.push_back(i.at("id").get<std::string>());
    return out;
  };
  // The whole list, as before pages, is in the order asked; pages of 2 following `next` too.
  auto whole = x.get("/api/v1/introductions", buyer.api_key);
  REQUIRE(whole.status == 200);
  CHECK(ids(whole.json().at("introductions")) == made);
  CHECK_FALSE(whole.json().contains("next"));
  std::vector<std::string> walked;
  for (const auto& page : relay::test::follow_pages(x, "/api/v1/introductions?limit=2",
                                                    "introductions", buyer.api_key)) {
    CHECK(page.at("introductions").size() <= 2);
    CHECK(page.at("total") == made.size());
    for (auto& id : ids(page.at("introductions"))) walked.push_back(id);
  }
  CHECK(walked == made);
  CHECK(
      ids(x.get("/api/v1/introductions?order=newest", buyer.api_key).json().at("introductions")) ==
      std::vector<std::string>(made.rbegin(), made.rend()));
  auto others = x.get("/api/v1/introductions?limit=2", other.api_key).json();
  CHECK(others.at("introductions").empty());
  CHECK(others.at("total") == 0);
  // CSV: the same introductions, the route's download.
  auto csv = x.get("/api/v1/introductions?format=csv&limit=2", buyer.api_key);
  REQUIRE(csv.status == 200);
  CHECK(csv.header("content-type") == "text/csv; charset=utf-8");
  CHECK(csv.body.rfind("\xEF\xBB\xBFid,requested_ms,state,", 0) == 0);
  CHECK(csv.body.find("\r\n" + made[0] + ",") != std::string::npos);
  CHECK(csv.body.find("\r\n" + made[1] + ",") != std::string::npos);
  CHECK(csv.body.find(made[2]) == std::string::npos);
  // Refused, naming the parameter: another member's introduction as the cursor, one that does
  // not exist, a bad limit or format.
  for (const std::string& bad : std::vector<std::string>{
           "after=" + made[0], "after=i_000000000000000000000000", "after=" + std::string(600, 'i'),
           "limit=0", "limit=1001", "format=xml"}) {
    auto reply = x.get("/api/v1/introductions?" + bad,
                       bad.starts_with("after=" + made[0]) ? other.api_key : buyer.api_key);
    CHECK_MESSAGE(reply.status == 400, bad);
    CHECK_MESSAGE(reply.error_code() == "bad_parameter", bad);
  }

  // The requisitions list the same way, in the order opened.
  std::vector<std::string> opened{req};
  for (int i = 0; i < 2; ++i) opened.push_back(requisition_id(x, buyer, forklift_requisition()));
  auto first = x.get("/api/v1/requisitions?limit=2", buyer.api_key);
  REQUIRE(first.status == 200);
  CHECK(ids(first.json().at("requisitions")) == std::vector<std::string>{opened[0], opened[1]});
  REQUIRE(first.json().at("next") == opened[1]);
  CHECK(first.json().at("total") == 3);
  auto second = x.get("/api/v1/requisitions?limit=2&after=" + opened[1], buyer.api_key);
  CHECK(ids(second.json().at("requisitions")) == std::vector<std::string>{opened[2]});
  CHECK_FALSE(second.json().contains("next"));
  CHECK(second.json().at("total") == 3);
  CHECK(ids(x.get("/api/v1/requisitions", buyer.api_key).json().at("requisitions")) == opened);
  auto newest = x.get("/api/v1/requisitions?order=newest&limit=2", buyer.api_key);
  CHECK(ids(newest.json().at("requisitions")) == std::vector<std::string>{opened[2], opened[1]});
  CHECK(newest.json().at("next") == opened[1]);
  CHECK(x.get("/api/v1/requisitions?order=up", buyer.api_key).status == 400);
  auto requisitions_csv = x.get("/api/v1/requisitions?format=csv", buyer.api_key);
  REQUIRE(requisitions_csv.status == 200);
  CHECK(requisitions_csv.body.rfind("\xEF\xBB\xBFid,created_ms,updated_ms,state,", 0) == 0);
  for (const auto& id : opened)
    CHECK(requisitions_csv.body.find("\r\n" + id + ",") != std::string::npos);
  CHECK(x.get("/api/v1/requisitions?after=" + opened[0], other.api_key).status == 400);
  CHECK(x.get("/api/v1/requisitions?limit=0", buyer.api_key).status == 400);
}

// Found on a live node: four identical requests sent at once were all answered 201 and spent
// four credits (the duplicate check ran before the Writer request, not in it).
TEST_CASE("introductions: parallel requests for the same candidate make one introduction") {
  NodeProcess x{relay::test::options("twice.example", "JP-28")};
  auto referrer = x.admit_member("Referrer KK");
  auto buyer = x.admit_member("Buyer KK");
  constexpr int kCandidates = 5, kTwins = 4;
  for (int i = 0; i < kCandidates; ++i)
    x.register_and_confirm(path_of(referrer.relay_link), forklift_driver(unique("twin")));
  grant(x, buyer, kCandidates * kTwins);
  auto req = requisition_id(x, buyer, forklift_requisition());
  auto ms = matches(x, buyer, req);
  REQUIRE(ms.size() == kCandidates);

  for (int c = 0; c < kCandidates; ++c) {
    std::atomic<int> won{0}, duplicate{0}, other{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kTwins; ++t)
      threads.emplace_back([&] {
        while (!go) std::this_thread::yield();
        auto r =
            x.post_json("/api/v1/introductions",
                        {{"requisition", req}, {"node", "twice.example"}, {"ref", ms[c].at("ref")}},
                        buyer.api_key);
        if (r.status == 201)
          ++won;
        else if (r.status == 409 && r.body.find("already_introduced") != std::string::npos)
          ++duplicate;
        else
          ++other;
      });
    go = true;
    for (auto& t : threads) t.join();
    CHECK(won == 1);
    CHECK(duplicate == kTwins - 1);
    CHECK(other == 0);
  }
  CHECK(balance(x, buyer) == kCandidates * (kTwins - 1));
  CHECK(x.get("/api/v1/introductions", buyer.api_key).json().at("introductions").size() ==
        kCandidates);
  CHECK(count_events(x, "introduction_made") == kCandidates);
  CHECK(relay::test::audit_verify(x) == 0);
}

TEST_CASE(
    "introductions: a handoff request the holding peer never receives is given up after "
    "federation.give_up_after_s, the credit refunded and the operator alerted") {
  NodeProcess x{relay::test::options("holder.example", "JP-28")};
  NodeProcess y{relay::test::options("spender.example", "JP-27")};
  relay::test::peer_by_api(x, y);
  relay::test::peer_by_api(y, x);
  auto referrer = x.admit_member("Referrer KK");
  auto buyer = y.admit_member("Buyer KK");
  x.register_and_confirm(path_of(referrer.relay_link), forklift_driver(unique("gone")));
  grant(y, buyer, 1);
  auto req = requisition_id(y, buyer, forklift_requisition());
  nlohmann::json ms;
  REQUIRE(eventually([&] {
    ms = matches(y, buyer, req);
    return !ms.empty() && ms[0].at("node") == "holder.example";
  }));

  // The holder goes away; the introduction is made (one credit) and its handoff.request waits.
  x.stop();
  auto made = y.post_json(
      "/api/v1/introductions",
      {{"requisition", req}, {"node", "holder.example"}, {"ref", ms[0].at("ref")}}, buyer.api_key);
  REQUIRE_MESSAGE(made.status == 201, made.body);
  const auto id = made.json().at("id").get<std::string>();
  CHECK(balance(y, buyer) == 0);
  auto delivery = [&] {
    auto peers = y.get("/api/v1/peers", y.admin_token()).json();  // kept: see count_events
    for (const auto& p : peers.at("peers"))
      if (p.at("name") == "holder.example") return p.at("delivery");
    FAIL("no peer holder.example: " << peers.dump());
    return nlohmann::json{};
  };
  REQUIRE(eventually([&] { return delivery().at("queued").get<int>() >= 1; }));
  CHECK(delivery().at("undelivered") == 0);
  CHECK(delivery().at("at_risk") == 0);

  // Eight days on (the default horizon is seven; the answer window, fourteen, is not over):
  // the request is given up, the introduction ends undelivered and the credit comes back.
  ::setenv("RELAY_TEST_CLOCK_OFFSET_MS", std::to_string(8LL * 86400 * 1000).c_str(), 1);
  y.restart();
  ::unsetenv("RELAY_TEST_CLOCK_OFFSET_MS");
  REQUIRE(eventually([&] {
    auto d = y.get("/api/v1/introductions/" + id, buyer.api_key);
    return d.status == 200 && d.json().at("state") == "undelivered";
  }));
  CHECK(balance(y, buyer) == 1);
  auto credits = y.get("/api/v1/credits", buyer.api_key).json().dump();
  CHECK(credits.find("credit_refunded") != std::string::npos);
  CHECK(delivery().at("undelivered").get<int>() >= 1);
  auto alerts = y.get("/api/v1/alerts", y.admin_token());
  REQUIRE(alerts.status == 200);
  CHECK(alerts.body.find("delivery_given_up") != std::string::npos);
  CHECK(alerts.body.find("handoff.request") != std::string::npos);
  CHECK(relay::test::audit_verify(y) == 0);
}

TEST_SUITE_END();
