// GET /api/v1/members on a real node (issue 19): an industry group's node may hold thousands
// of member companies, so the operator's list pages in the order admitted (or the last
// admitted first), says how many there are, and downloads as CSV. A data directory from
// before its index gets it built once at start-up.
#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "node/storage/environment.hpp"
#include "node/storage/index_marks.hpp"
#include "support/api_pages.hpp"
#include "support/node_process.hpp"
#include "support/temp_dir.hpp"
#include "support/tool_run.hpp"
#include "support/vectors.hpp"

using relay::test::NodeProcess;
namespace storage = relay::node::storage;

namespace {

std::vector<std::string> ids_of(const nlohmann::json& members) {
  std::vector<std::string> out;
  for (const auto& m : members) out.push_back(m.at("id").get<std::string>());
  return out;
}

// Every page of `query` (limit 5), following `next`: the ids in the order read.
std::vector<std::string> walk(const NodeProcess& node, const std::string& query,
                              std::size_t total) {
  std::vector<std::string> out;
  for (const auto& page : relay::test::follow_pages(node, "/api/v1/members?limit=5" + query,
                                                    "members", node.admin_token())) {
    CHECK(page.at("members").size() <= 5);
    CHECK(page.at("total") == total);
    for (auto& id : ids_of(page.at("members"))) out.push_back(id);
  }
  return out;
}

}  // namespace

TEST_CASE(
    "members: the operator's list pages in the order admitted, CSV; built once for old data") {
  NodeProcess::Options o;
  o.name = "members.relaynode";
  NodeProcess node(o);
  std::vector<std::string> admitted;
  for (int i = 0; i < 12; ++i)
    admitted.push_back(node.admit_member("Page KK " + std::to_string(i)).id);
  REQUIRE(node.post_json("/api/v1/members/" + admitted[3] + "/suspend", nlohmann::json::object(),
                         node.admin_token())
              .status == 200);

  // The whole list, as before pages: every member, in the order admitted (by when, then id:
  // members admitted in one millisecond are ordered by id).
  auto whole_reply = node.get("/api/v1/members", node.admin_token());
  REQUIRE(whole_reply.status == 200);
  const auto whole = whole_reply.json();
  CHECK(whole.at("total") == 12);
  CHECK_FALSE(whole.contains("next"));
  const auto all = ids_of(whole.at("members"));
  REQUIRE(all.size() == 12);
  std::vector<std::tuple<std::int64_t, std::string>> by_time;
  for (const auto& m : whole.at("members"))
    by_time.emplace_back(m.at("created_ms").get<std::int64_t>(), m.at("id").get<std::string>());
  CHECK(std::is_sorted(by_time.begin(), by_time.end()));
  auto sorted_admitted = admitted;
  std::sort(sorted_admitted.begin(), sorted_admitted.end());
  auto sorted_all = all;
  std::sort(sorted_all.begin(), sorted_all.end());
  CHECK(sorted_all == sorted_admitted);
  CHECK(whole.at("members")[0].at("credits").at("balance") == 0);
  const std::vector<std::string> newest(all.rbegin(), all.rend());

  // Pages of 5 following `next`, either way: the whole list, each once.
  CHECK(walk(node, "", 12) == all);
  CHECK(walk(node, "&order=newest", 12) == newest);
  auto first = node.get("/api/v1/members?limit=3&order=newest", node.admin_token()).json();
  CHECK(ids_of(first.at("members")) ==
        std::vector<std::string>(newest.begin(), newest.begin() + 3));

  // CSV: the same members, one flat row each, the credit account's fields beside the member's.
  auto csv = node.get("/api/v1/members?format=csv&limit=2&after=" + all[0], node.admin_token());
  REQUIRE(csv.status == 200);
  CHECK(csv.header("content-type") == "text/csv; charset=utf-8");
  CHECK(csv.body.rfind("\xEF\xBB\xBFid,name,status,created_ms,contact_email,relay_link,balance,"
                       "verified_referrals,credits_minted,credits_spent,credits_granted,"
                       "credits_refunded\r\n",
                       0) == 0);
  CHECK(csv.body.find(all[0] + ",") == std::string::npos);
  const auto second = csv.body.find(all[1] + ",");
  const auto third = csv.body.find(all[2] + ",");
  CHECK(second != std::string::npos);
  CHECK(third > second);
  CHECK(csv.body.find(all[3] + ",") == std::string::npos);
  const bool suspended_shown = all[1] == admitted[3] || all[2] == admitted[3];
  CHECK((csv.body.find(",suspended,") != std::string::npos) == suspended_shown);
  CHECK(std::count(csv.body.begin(), csv.body.end(), '\n') == 3);

  // Refused, naming the parameter, and nothing changes: a cursor that is no member, a bad
  // limit, order or format; only the operator may list.
  for (const std::string& query :
       std::vector<std::string>{"after=m_nobody", "after=" + std::string(600, 'a'), "limit=0",
                                "limit=1001", "limit=x", "order=sideways", "format=xml"}) {
    auto bad = node.get("/api/v1/members?" + query, node.admin_token());
    CHECK_MESSAGE(bad.status == 400, query);
    CHECK_MESSAGE(bad.error_code() == "bad_parameter", query);
  }
  CHECK(node.get("/api/v1/members?limit=1").status == 401);
  auto member = node.admit_member("Not The Operator KK");
  CHECK(node.get("/api/v1/members?limit=1", member.api_key).status == 403);
  CHECK(node.get("/api/v1/members", node.admin_token()).json().at("total") == 13);

  // Stopped, its index and mark dropped, as a node from before the index left its members:
  // at start-up the index is built again, and the list is the same.
  node.stop();
  {
    auto env = storage::Environment::open(node.lmdb_dir());
    auto by_time = env.database("members_by_time");
    auto marks = env.database(storage::kIndexMarks);
    auto txn = env.begin_write();
    CHECK(txn.count(by_time) == 13);
    txn.clear(by_time);
    txn.del(marks, "members_by_time");
    txn.commit();
  }
  node.start();
  auto again = node.get("/api/v1/members", node.admin_token()).json();
  CHECK(again.at("total") == 13);
  auto again_ids = ids_of(again.at("members"));
  REQUIRE(again_ids.size() == 13);
  CHECK(std::vector<std::string>(again_ids.begin(), again_ids.begin() + 12) == all);
  CHECK(again_ids.back() == member.id);
  CHECK(walk(node, "&order=newest", 13).front() == member.id);

  // `relay-node member list` prints them in the same order, a line each beginning with the id.
  node.stop();
  relay::test::TempDir scratch("member-list");
  auto listed = relay::test::run_tool({(relay::test::binary_dir() / "node" / "relay-node").string(),
                                       "member", "list", "--config", node.config_path().string()},
                                      scratch.path, std::chrono::seconds(20));
  REQUIRE(listed.exit_code == 0);
  std::vector<std::string> printed;
  std::istringstream lines(listed.out);
  for (std::string line; std::getline(lines, line);)
    printed.push_back(line.substr(0, line.find('\t')));
  CHECK(printed == again_ids);
}

TEST_CASE("members: 520 members, the whole list and the CSV are sent as they are read") {
  NodeProcess node(relay::test::options("members-stream.relaynode", "JP-28"));
  constexpr std::size_t kMembers = 520;
  auto failed = relay::test::on_eight_clients(kMembers, [&](std::size_t i) {
    return node.post_json("/api/v1/members", {{"name", "Member " + std::to_string(i) + " KK"}},
                          node.admin_token())
               .status == 201;
  });
  REQUIRE(failed == 0);
  // Admission order, from pages of 1,000 (not streamed).
  auto page = relay::test::wire_get(node, "/api/v1/members?limit=1000", node.admin_token());
  CHECK(page.fields.count("transfer-encoding") == 0);
  const auto order = ids_of(nlohmann::json::parse(page.body).at("members"));
  REQUIRE(order.size() == kMembers);

  auto whole = relay::test::wire_get(node, "/api/v1/members", node.admin_token());
  CHECK(whole.fields.at("transfer-encoding") == "chunked");
  CHECK(whole.chunks == 2);  // 500, then 20
  auto listed = nlohmann::json::parse(whole.body);
  CHECK(ids_of(listed.at("members")) == order);
  CHECK(listed.at("total") == kMembers);
  CHECK(listed.at("members") == nlohmann::json::parse(page.body).at("members"));

  auto csv =
      relay::test::wire_get(node, "/api/v1/members?format=csv&order=newest", node.admin_token());
  CHECK(csv.fields.at("transfer-encoding") == "chunked");
  CHECK(csv.fields.at("content-type") == "text/csv; charset=utf-8");
  CHECK(relay::test::csv_ids(csv.body) == std::vector<std::string>(order.rbegin(), order.rend()));
  CHECK(csv.body.find(",balance,") != std::string::npos);  // the credit account, flattened
  CHECK(node.get("/api/v1/members?format=csv&after=m_nosuchmember", node.admin_token()).status ==
        400);
}
