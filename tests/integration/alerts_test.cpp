// GET /api/v1/alerts on a real node (issue 19): alerts are kept, one for every address a mail
// server refused and every message a peer never took, so the list pages (newest first), one
// kind is read from its own index (the console's overdue erasures), and the CSV is the
// route's. A data directory from before that index gets it built once at start-up.
#include "node/federation/alerts.hpp"

#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "node/common/clock.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/index_marks.hpp"
#include "support/api_pages.hpp"
#include "support/node_process.hpp"

using relay::test::NodeProcess;
namespace storage = relay::node::storage;

namespace {

std::vector<std::string> ids_of(const nlohmann::json& alerts) {
  std::vector<std::string> out;
  for (const auto& a : alerts) out.push_back(a.at("id").get<std::string>());
  return out;
}

// Every page of `query` (limit 7), following `next`: the ids in the order read.
std::vector<std::string> walk(const NodeProcess& node, const std::string& query) {
  std::vector<std::string> out;
  for (const auto& page : relay::test::follow_pages(node, "/api/v1/alerts?limit=7" + query,
                                                    "alerts", node.admin_token())) {
    CHECK(page.at("alerts").size() <= 7);
    for (auto& id : ids_of(page.at("alerts"))) out.push_back(id);
  }
  return out;
}

}  // namespace

TEST_CASE("alerts: pages newest first, one kind from its index, CSV; built once for old data") {
  NodeProcess::Options o;
  o.name = "alerts.relaynode";
  NodeProcess node(o);
  auto empty = node.get("/api/v1/alerts?limit=5", node.admin_token());
  REQUIRE(empty.status == 200);
  CHECK(empty.json().at("alerts").empty());
  CHECK(empty.json().at("total") == 0);
  CHECK_FALSE(empty.json().contains("next"));

  // Stopped, 40 alerts written as the node writes them (federation::Alerts::raise), a second
  // apart: every fourth an overdue erasure, the others mail given up. Then its kind index and
  // mark dropped, as a node from before the index left its alerts.
  node.stop();
  {
    auto env = storage::Environment::open(node.lmdb_dir());
    relay::node::common::ManualClock clock;
    relay::node::federation::Alerts alerts(env, clock);
    auto by_kind = env.database("alerts_by_kind");
    auto marks = env.database(storage::kIndexMarks);
    auto txn = env.begin_write();
    const auto level = spdlog::get_level();  // raise() logs each at error level: not here
    spdlog::set_level(spdlog::level::off);
    for (int i = 0; i < 40; ++i) {
      clock.advance(std::chrono::seconds(1));
      if (i % 4 == 0)
        alerts.raise(txn, "erasure_overdue", "peer" + std::to_string(i) + ".example",
                     "h_" + std::to_string(i) + " not confirmed");
      else
        alerts.raise(txn, "mail_given_up", "", "mail given up: 550 " + std::to_string(i));
    }
    spdlog::set_level(level);
    CHECK(txn.count(by_kind) == 40);
    txn.clear(by_kind);
    txn.del(marks, "alerts_by_kind");
    txn.commit();
  }
  node.start();

  // The whole list, as before pages: oldest first, every one with its id.
  auto whole = node.get("/api/v1/alerts", node.admin_token());
  REQUIRE(whole.status == 200);
  const auto all = ids_of(whole.json().at("alerts"));
  REQUIRE(all.size() == 40);
  CHECK(whole.json().at("total") == 40);
  CHECK_FALSE(whole.json().contains("next"));
  CHECK(whole.json().at("alerts")[0].at("message") == "h_0 not confirmed");
  std::vector<std::string> newest(all.rbegin(), all.rend());
  // Pages of 7, newest first, following `next`: the whole list backwards, each once.
  CHECK(walk(node, "") == newest);
  auto first = node.get("/api/v1/alerts?limit=3", node.admin_token()).json();
  CHECK(ids_of(first.at("alerts")) == std::vector<std::string>(newest.begin(), newest.begin() + 3));
  CHECK(first.at("total") == 40);
  // One kind, from the index the start-up built: the overdue erasures alone, newest first.
  std::vector<std::string> overdue;
  const auto listed = whole.json();
  for (const auto& a : listed.at("alerts"))
    if (a.at("kind") == "erasure_overdue")
      overdue.insert(overdue.begin(), a.at("id").get<std::string>());
  REQUIRE(overdue.size() == 10);
  CHECK(walk(node, "&kind=erasure_overdue") == overdue);
  auto kind_whole = node.get("/api/v1/alerts?kind=erasure_overdue", node.admin_token()).json();
  CHECK(ids_of(kind_whole.at("alerts")) ==
        std::vector<std::string>(overdue.rbegin(), overdue.rend()));
  CHECK(node.get("/api/v1/alerts?limit=5&kind=delivery_refused", node.admin_token())
            .json()
            .at("alerts")
            .empty());
  // CSV: the same alerts, the route's own download.
  auto csv = node.get("/api/v1/alerts?format=csv&kind=erasure_overdue&limit=2", node.admin_token());
  REQUIRE(csv.status == 200);
  CHECK(csv.header("content-type") == "text/csv; charset=utf-8");
  CHECK(csv.body.rfind("\xEF\xBB\xBFid,at_ms,kind,peer,message\r\n", 0) == 0);
  CHECK(csv.body.find(overdue[0] + ",") != std::string::npos);
  CHECK(csv.body.find(overdue[1] + ",") != std::string::npos);
  CHECK(csv.body.find(overdue[2] + ",") == std::string::npos);

  // Refused, naming the parameter, and nothing changes: a cursor that is no alert, or one of
  // another kind; a bad kind, limit or format.
  for (const std::string& query : std::vector<std::string>{
           "after=00", "after=zz", "after=" + overdue[0] + "ff", "kind=Erasure", "kind=a/b",
           "kind=" + std::string(41, 'a'), "limit=0", "limit=1001", "format=xml",
           "kind=mail_given_up&after=" + overdue[0]}) {
    auto bad = node.get("/api/v1/alerts?" + query, node.admin_token());
    CHECK_MESSAGE(bad.status == 400, query);
    CHECK_MESSAGE(bad.error_code() == "bad_parameter", query);
  }
  CHECK(node.get("/api/v1/alerts?limit=1").status == 401);
  CHECK(node.get("/api/v1/alerts", node.admin_token()).json().at("total") == 40);
}

TEST_CASE("alerts: the whole list and the CSV of 1,100 are sent as they are read, in chunks") {
  NodeProcess::Options o;
  o.name = "alerts-stream.relaynode";
  NodeProcess node(o);
  // Stopped, 1,100 alerts written as the node writes them, a second apart; every tenth an
  // overdue erasure.
  node.stop();
  {
    auto env = storage::Environment::open(node.lmdb_dir());
    relay::node::common::ManualClock clock;
    relay::node::federation::Alerts alerts(env, clock);
    auto txn = env.begin_write();
    const auto level = spdlog::get_level();
    spdlog::set_level(spdlog::level::off);
    for (int i = 0; i < 1100; ++i) {
      clock.advance(std::chrono::seconds(1));
      alerts.raise(txn, i % 10 == 0 ? "erasure_overdue" : "mail_given_up", "",
                   "alert " + std::to_string(i));
    }
    spdlog::set_level(level);
    txn.commit();
  }
  node.start();
  const auto newest = walk(node, "");  // pages of 7, newest first
  REQUIRE(newest.size() == 1100);
  const std::vector<std::string> oldest(newest.rbegin(), newest.rend());

  // The whole list, oldest first: 500, 500 and 100, each its own chunk, the same list.
  auto whole = relay::test::wire_get(node, "/api/v1/alerts", node.admin_token());
  CHECK(whole.fields.at("transfer-encoding") == "chunked");
  CHECK(whole.chunks == 3);
  auto listed = nlohmann::json::parse(whole.body);
  CHECK(ids_of(listed.at("alerts")) == oldest);
  CHECK(listed.at("total") == 1100);
  CHECK(listed.at("alerts")[0].at("message") == "alert 0");
  CHECK(listed.size() == 2);  // no `next`

  // The CSV, every one in the same order; a page of it (limit past one read, newest first).
  auto csv = relay::test::wire_get(node, "/api/v1/alerts?format=csv", node.admin_token());
  CHECK(csv.fields.at("transfer-encoding") == "chunked");
  CHECK(csv.body.rfind("\xEF\xBB\xBFid,at_ms,kind,peer,message\r\n", 0) == 0);
  CHECK(relay::test::csv_ids(csv.body) == oldest);
  auto page = relay::test::wire_get(node, "/api/v1/alerts?format=csv&limit=700&after=" + newest[9],
                                    node.admin_token());
  CHECK(page.chunks == 2);
  CHECK(page.body.find(newest[10] + ",") != std::string::npos);
  CHECK(page.body.find(newest[709] + ",") != std::string::npos);
  CHECK(page.body.find(newest[710] + ",") == std::string::npos);
  CHECK(page.body.find(newest[9] + ",") == std::string::npos);

  // One kind, 110 of them: one read, an ordinary reply with its length.
  auto kind =
      relay::test::wire_get(node, "/api/v1/alerts?kind=erasure_overdue", node.admin_token());
  CHECK(kind.fields.count("transfer-encoding") == 0);
  CHECK(nlohmann::json::parse(kind.body).at("alerts").size() == 110);
  // A page of JSON is not streamed: 1,000 at most, with `next`.
  auto thousand = relay::test::wire_get(node, "/api/v1/alerts?limit=1000", node.admin_token());
  CHECK(thousand.fields.count("transfer-encoding") == 0);
  auto thousand_json = nlohmann::json::parse(thousand.body);
  CHECK(thousand_json.at("alerts").size() == 1000);
  CHECK(thousand_json.at("next") == newest[999]);
  // A bad cursor is refused before anything is sent.
  CHECK(node.get("/api/v1/alerts?format=csv&after=00", node.admin_token()).status == 400);
}
