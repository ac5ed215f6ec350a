// Lists that grow for as long as a node runs, sent as they are read (issue 19), on a real
// node. A company that pastes its relay link into every rejection may have hundreds of
// thousands of referrals, and a farming flood can leave tens of thousands waiting for the
// operator; the whole list, held and parsed, took memory in proportion (scripts/bench-review).
// Now they are read 500 at a time as they are sent, chunked: a member's 1,100 referrals (as
// the whole JSON list and as CSV) arrive in three chunks, the operator's 520 waiting in two, a
// member's 520 requisitions in two, every one once, in the order of the pages; a CSV page (limit,
// after, order) is the same page as the JSON's. What one read holds is still an ordinary reply with
// its length.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "support/api_pages.hpp"
#include "support/names.hpp"
#include "support/node_process.hpp"
#include "support/wire_reply.hpp"

using namespace relay::test;

namespace {

constexpr std::size_t kReferrals = 1100;

std::vector<std::string> json_ids(const nlohmann::json& referrals) {
  std::vector<std::string> out;
  for (const auto& r : referrals) out.push_back(r.at("id").get<std::string>());
  return out;
}

// GET /api/v1/referrals?`query` as it came off the wire.
WireReply referrals_reply(const NodeProcess& node, const TestMember& member,
                          const std::string& query, const std::string& content_type) {
  auto reply = wire_get(node, "/api/v1/referrals?" + query, member.api_key);
  CHECK(reply.status_line == "HTTP/1.1 200 OK");
  CHECK(reply.fields.at("content-type") == content_type);
  return reply;
}

WireReply download(const NodeProcess& node, const TestMember& member, const std::string& query) {
  return referrals_reply(node, member, query, "text/csv; charset=utf-8");
}

WireReply download_json(const NodeProcess& node, const TestMember& member,
                        const std::string& query) {
  return referrals_reply(node, member, query, "application/json");
}

// A node with no rate limits (hundreds of registrations come from one address in a second)
// and, with `flagging`, addresses at disposable-mail services flagged for the operator.
NodeProcess unlimited_node(const std::string& name, bool flagging = false) {
  auto o = options(name, "JP-28");
  o.configure = [flagging](nlohmann::json& c) {
    for (auto rule : {"per_ip", "per_member", "per_link", "per_address"})
      c["limits"][rule]["requests"] = 0;
    c["referrals"]["flag_disposable_domains"] = flagging;
  };
  return NodeProcess(o);
}

// Registers n candidates at `domain` through the member's link; their addresses.
std::vector<std::string> register_many(const NodeProcess& node, const TestMember& member,
                                       std::size_t n, const std::string& domain) {
  std::vector<std::string> addresses(n);
  for (std::size_t i = 0; i < n; ++i)
    addresses[i] = unique("dl" + std::to_string(i)) + "@" + domain;
  auto failed = on_eight_clients(n, [&](std::size_t i) {
    auto reply =
        node.submit_registration(member.relay_link, {"山田 " + addresses[i], addresses[i], {}});
    return reply.status == 200 && reply.redirected_to.rfind("/r/sent", 0) == 0;
  });
  REQUIRE(failed == 0);
  return addresses;
}

}  // namespace

TEST_CASE("downloads: a member's 1,100 referrals as CSV come in chunks, every one once, in order") {
  auto node = unlimited_node("downloads.relaynode");
  auto member = node.admit_member("Download KK");
  auto other = node.admit_member("Other KK");
  // Registered only: a referral is listed from its registration on.
  register_many(node, member, kReferrals, "example.jp");

  auto whole = node.get("/api/v1/referrals", member.api_key).json();
  REQUIRE(whole.at("total") == kReferrals);
  const auto order = json_ids(whole.at("referrals"));
  REQUIRE(order.size() == kReferrals);

  // The whole list: 500, 500, then 100, each its own chunk, with the header in the first.
  auto csv = download(node, member, "format=csv");
  CHECK(csv.fields.at("transfer-encoding") == "chunked");
  CHECK(csv.fields.at("content-disposition") == "attachment; filename=\"referrals.csv\"");
  CHECK(csv.chunks == 3);
  CHECK(csv.body.rfind("\xEF\xBB\xBFid,created_ms,status,counted,stage,verified_ms,kind,"
                       "hold_until_ms,job_category,application_id\r\n",
                       0) == 0);
  CHECK(csv_ids(csv.body) == order);
  CHECK(csv.body.find("example.jp") == std::string::npos);  // no address, no name
  CHECK(csv.body.find("山田") == std::string::npos);

  // A page is the JSON's page: limit past one read, after, and the last made first.
  auto page = download(node, member, "format=csv&limit=700&after=" + order[99]);
  CHECK(csv_ids(page.body) == std::vector<std::string>(order.begin() + 100, order.begin() + 800));
  CHECK(page.chunks == 2);
  auto newest = download(node, member, "format=csv&order=newest&limit=600");
  CHECK(csv_ids(newest.body) == std::vector<std::string>(order.rbegin(), order.rbegin() + 600));
  // What one read holds is an ordinary reply, with its length.
  auto tail = download(node, member, "format=csv&after=" + order[kReferrals - 2]);
  CHECK(csv_ids(tail.body) == std::vector<std::string>{order.back()});
  CHECK(tail.fields.count("transfer-encoding") == 0);
  CHECK(tail.fields.at("content-length") == std::to_string(tail.body.size()));
  auto none = download(node, member, "format=csv&after=" + order.back());
  CHECK(csv_ids(none.body).empty());
  CHECK(none.fields.count("transfer-encoding") == 0);

  // Refused before anything is sent: a place that is not one of the member's referrals.
  auto unknown = node.get("/api/v1/referrals?format=csv&after=r_nosuchref00000", member.api_key);
  CHECK(unknown.status == 400);
  CHECK(unknown.error_code() == "bad_parameter");
  CHECK(node.get("/api/v1/referrals?format=csv&after=" + order[0], other.api_key).status == 400);
  CHECK(node.get("/api/v1/referrals?format=csv", other.api_key).body ==
        "\xEF\xBB\xBFid,created_ms,status,counted,stage,verified_ms,kind,hold_until_ms,"
        "job_category,application_id\r\n");

  // The whole JSON list is sent as read too, and is the same list: its pieces join up.
  auto json = download_json(node, member, "");
  CHECK(json.fields.at("transfer-encoding") == "chunked");
  CHECK(json.chunks == 3);
  auto parsed = nlohmann::json::parse(json.body);
  CHECK(parsed.at("total") == kReferrals);
  CHECK(json_ids(parsed.at("referrals")) == order);
  CHECK(parsed.size() == 2);  // no `next`: nothing follows the whole list
  auto newest_json = nlohmann::json::parse(download_json(node, member, "order=newest").body);
  CHECK(json_ids(newest_json.at("referrals")) ==
        std::vector<std::string>(order.rbegin(), order.rend()));
  // A page is not streamed: at most 1,000, with its length.
  auto paged = download_json(node, member, "limit=1000");
  CHECK(paged.fields.count("transfer-encoding") == 0);
  CHECK(nlohmann::json::parse(paged.body).at("next") == order[999]);
  // The other member's whole list fits one read: an ordinary reply.
  auto small = node.get("/api/v1/referrals", other.api_key);
  CHECK(small.body == "{\"referrals\":[],\"total\":0}");

  // The connection goes on after a download: two on one keep-alive connection, then a JSON.
  auto get = [&](const std::string& q, bool close) {
    return "GET /api/v1/referrals?" + q + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
           member.api_key + "\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n";
  };
  auto replies = replies_in(node.send_raw(
      get("format=csv", false) + get("format=csv&limit=1", false) + get("limit=1", true),
      std::chrono::milliseconds(10'000)));
  REQUIRE(replies.size() == 3);
  CHECK(csv_ids(replies[0].body) == order);
  CHECK(csv_ids(replies[1].body) == std::vector<std::string>{order.front()});
  CHECK(nlohmann::json::parse(replies[2].body).at("referrals").at(0).at("id") == order.front());
}

TEST_CASE("downloads: the operator's whole review queue of 520 is sent as it is read") {
  auto node = unlimited_node("review-download.relaynode", true);
  auto flood = node.admit_member("Flood KK");
  // 520 confirmed at a disposable-mail service: every one waits for the operator.
  constexpr std::size_t kWaiting = 520;
  auto addresses = register_many(node, flood, kWaiting, "mailinator.com");
  REQUIRE(eventually([&] { return node.mails().size() >= kWaiting; },
                     std::chrono::milliseconds(30'000)));
  std::map<std::string, std::string> link_to;  // address -> its verification link
  for (const auto& mail : node.mails())
    for (const auto& link : mail.links())
      if (link.find("/r/v/") != std::string::npos) link_to[mail.to] = path_of(link);
  auto failed = on_eight_clients(kWaiting, [&](std::size_t i) {
    auto it = std::find_if(link_to.begin(), link_to.end(), [&](const auto& e) {
      return e.first.find(addresses[i]) != std::string::npos;
    });
    return it != link_to.end() && node.request("POST", it->second).status == 200;
  });
  REQUIRE(failed == 0);

  auto page = node.get("/api/v1/review?limit=1000", node.admin_token()).json();
  REQUIRE(page.at("waiting") == kWaiting);
  std::vector<std::string> order;
  for (const auto& r : page.at("referrals")) order.push_back(r.at("referral").get<std::string>());
  REQUIRE(order.size() == kWaiting);

  auto whole = wire_get(node, "/api/v1/review", node.admin_token());
  CHECK(whole.fields.at("transfer-encoding") == "chunked");
  CHECK(whole.chunks == 2);  // 500, then 20
  auto listed = nlohmann::json::parse(whole.body);
  CHECK(listed.at("waiting") == kWaiting);
  CHECK(listed.size() == 2);  // no `next`
  std::vector<std::string> streamed;
  for (const auto& r : listed.at("referrals"))
    streamed.push_back(r.at("referral").get<std::string>());
  CHECK(streamed == order);
  CHECK(listed.at("referrals") == page.at("referrals"));  // the same items, field for field
  CHECK(whole.body.find("mailinator.com\"") != std::string::npos);  // the service's domain
  CHECK(whole.body.find("山田") == std::string::npos);              // no name, no address
  CHECK(whole.body.find(addresses.front()) == std::string::npos);
  // One member's: the same; an unknown member is 404 before anything is sent.
  auto mine = wire_get(node, "/api/v1/review?member=" + flood.id, node.admin_token());
  CHECK(mine.chunks == 2);
  CHECK(nlohmann::json::parse(mine.body).at("referrals") == page.at("referrals"));
  CHECK(node.get("/api/v1/review?member=m_nosuchmember", node.admin_token()).status == 404);
}

// A member's requisitions (and introductions, through the same member_list): the whole list,
// its CSV and the newest-first list are sent as read, with the pages' items in the pages'
// order; a bad `after` is refused before anything is sent.
TEST_CASE("downloads: a member's 520 requisitions are sent as they are read") {
  auto node = unlimited_node("requisitions-download.relaynode");
  auto buyer = node.admit_member("Openings KK");
  constexpr std::size_t kOpened = 520;
  auto failed = on_eight_clients(kOpened, [&](std::size_t i) {
    const nlohmann::json body = {{"title", "Opening " + std::to_string(i)},
                                 {"category", "B"},
                                 {"required_skills", {"sales"}},
                                 {"prefectures", {"JP-28"}},
                                 {"headcount", 1},
                                 {"employment_type", "regular"}};
    return node.post_json("/api/v1/requisitions", body, buyer.api_key).status == 201;
  });
  REQUIRE(failed == 0);

  auto page = node.get("/api/v1/requisitions?limit=1000", buyer.api_key).json();
  REQUIRE(page.at("total") == kOpened);
  const auto order = json_ids(page.at("requisitions"));
  REQUIRE(order.size() == kOpened);

  auto whole = wire_get(node, "/api/v1/requisitions", buyer.api_key);
  CHECK(whole.fields.at("transfer-encoding") == "chunked");
  CHECK(whole.chunks == 2);  // 500, then 20
  auto listed = nlohmann::json::parse(whole.body);
  CHECK(listed.at("total") == kOpened);
  CHECK(listed.size() == 2);                                    // no `next`
  CHECK(listed.at("requisitions") == page.at("requisitions"));  // field for field

  auto csv = wire_get(node, "/api/v1/requisitions?format=csv", buyer.api_key);
  CHECK(csv.fields.at("transfer-encoding") == "chunked");
  CHECK(csv.fields.at("content-type") == "text/csv; charset=utf-8");
  CHECK(csv_ids(csv.body) == order);

  auto newest = wire_get(node, "/api/v1/requisitions?order=newest", buyer.api_key);
  CHECK(newest.chunks == 2);
  CHECK(json_ids(nlohmann::json::parse(newest.body).at("requisitions")) ==
        std::vector<std::string>(order.rbegin(), order.rend()));
  // A CSV page after the 10th: the 510 that follow, more than one read.
  auto rest =
      wire_get(node, "/api/v1/requisitions?format=csv&limit=1000&after=" + order[9], buyer.api_key);
  CHECK(rest.chunks == 2);
  CHECK(csv_ids(rest.body) == std::vector<std::string>(order.begin() + 10, order.end()));

  auto refused = wire_get(node, "/api/v1/requisitions?after=rq_nosuch", buyer.api_key);
  CHECK(refused.status_line == "HTTP/1.1 400 Bad Request");
  CHECK(refused.chunks == 0);
  auto other = node.admit_member("Other KK");
  CHECK(node.get("/api/v1/requisitions?format=csv&after=" + order[0], other.api_key).status == 400);
}
