// Attack suite, issue 17 findings 5 and 8 (credit farming; one pseudonym across members),
// replayed against real relay-node processes: a member registers ten throwaway addresses
// through its own relay link (name+N@ aliases, a Gmail dot variant, numbered look-alikes, a
// disposable-mail domain) and confirms them at once. No credit appears; aliases are one
// person; the operator sees the burst in review and decides; rejected ones never count and
// accepted ones count only after the holding period (the node restarted with its test clock
// 13 and then 15 days on: RELAY_TEST_CLOCK_OFFSET_MS). The exported ledger names the person
// two members referred differently for each, and relay-audit recomputes every credit from it.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/node_process.hpp"
#include "support/temp_dir.hpp"
#include "support/tool_run.hpp"
#include "support/vectors.hpp"

namespace fs = std::filesystem;
using relay::test::eventually;
using relay::test::member_credits;
using relay::test::member_referrals;
using relay::test::NodeProcess;
using relay::test::run_tool;
using relay::test::TestCandidate;
using relay::test::TestMember;

namespace {

const fs::path kRelayAudit = relay::test::binary_dir() / "audit" / "relay-audit";
const fs::path kRelayNode = relay::test::binary_dir() / "node" / "relay-node";

void restart_days_later(NodeProcess& node, long long days) {
  ::setenv("RELAY_TEST_CLOCK_OFFSET_MS", std::to_string(days * 86'400'000LL).c_str(), 1);
  node.restart();
  ::unsetenv("RELAY_TEST_CLOCK_OFFSET_MS");
}

}  // namespace

TEST_SUITE_BEGIN("attack");

TEST_CASE("attack: credit farming through a member's own link is held, flagged and audited") {
  auto options = relay::test::options("farm.relaynode", "JP-13");
  options.configure = [](nlohmann::json& config) {
    config["credits"]["referrals_per_credit"] = 2;
    // The shipped defaults (config/node_config.hpp), which the test harness turns off.
    config["referrals"] = {{"holding_days", 14},      {"flag_disposable_domains", true},
                           {"velocity_max", 5},       {"velocity_window_minutes", 60},
                           {"same_domain_max", 5},    {"similar_max", 3},
                           {"cluster_window_days", 7}};
  };
  NodeProcess node(options);
  node.start();
  auto farmer = node.admit_member("Farm KK");
  auto honest = node.admit_member("Honest KK");

  // Ten registrations through the farmer's own link, each confirmed at once where a
  // confirmation is asked for (an alias of a confirmed person gets no new one).
  const std::vector<std::string> addresses = {
      "farmer@example.jp",       "farmer+1@example.jp",     "farmer+2@example.jp",
      "x.y.z@gmail.com",         "xyz@gmail.com",           "hana1@farm-mail.example",
      "hana2@farm-mail.example", "hana3@farm-mail.example", "hana4@farm-mail.example",
      "throwaway@mailinator.com"};
  std::set<std::string> people;
  int n = 0;
  for (const auto& address : addresses) {
    TestCandidate c{"農場 " + std::to_string(++n), address, {}};
    bool alias = address.find('+') != std::string::npos || address == "xyz@gmail.com";
    if (alias) {
      auto reply = node.submit_registration(farmer.relay_link, c);
      CHECK(reply.status == 200);  // the "check your mail" page, after the 303
      CHECK(relay::test::contains(reply.redirected_to, "/r/sent"));
    } else {
      node.register_and_confirm(farmer.relay_link, c);
      people.insert(address);
    }
  }
  REQUIRE(people.size() == 7);

  // No credit appears; the aliases are one person each (seven referrals, not ten), every one
  // waiting for the operator (the burst tripped the velocity check).
  auto view = member_credits(node, farmer);
  CHECK(view.at("verified_referrals") == 0);
  CHECK(view.at("credits_minted") == 0);
  CHECK(view.at("balance") == 0);
  auto list = member_referrals(node, farmer);
  CHECK(list.size() == 7);
  for (const auto& r : list) CHECK(r.at("stage") == "review");

  // The operator's review: every one with its reasons, nothing of the person.
  CHECK(node.get("/api/v1/review", farmer.api_key).status == 403);
  auto review = node.get("/api/v1/review", node.admin_token());
  REQUIRE(review.status == 200);
  auto waiting = review.json().at("referrals");
  REQUIRE(waiting.size() == 7);
  std::map<std::string, std::set<std::string>> reasons;
  for (const auto& w : waiting) {
    CHECK(w.at("member") == farmer.id);
    CHECK(w.at("company") == "Farm KK");
    for (const auto& r : w.at("reasons")) reasons[w.at("referral")].insert(r);
  }
  int velocity = 0, similar = 0, disposable = 0;
  for (const auto& [id, rs] : reasons) {
    velocity += rs.count("velocity");
    similar += rs.count("similar_addresses");
    disposable += rs.count("disposable_domain");
  }
  CHECK(velocity == 7);
  CHECK(similar == 4);  // hana1..hana4
  CHECK(disposable == 1);
  CHECK(relay::test::contains(review.body, "\"disposable_domain\":\"mailinator.com\""));
  for (const auto* secret : {"farmer", "hana", "x.y.z", "throwaway", "農場", "example.jp"})
    CHECK_MESSAGE(!relay::test::contains(review.body, secret), secret);

  // Decisions: bad input changes nothing; the two plausible people are accepted, the
  // look-alikes and the throwaway rejected; a decision is final.
  auto referral_of = [&](const std::string& reason) {
    for (const auto& [id, rs] : reasons)
      if (rs.count(reason)) return id;
    return std::string();
  };
  std::vector<std::string> accept, reject;
  for (const auto& [id, rs] : reasons) (rs.size() == 1 ? accept : reject).push_back(id);
  REQUIRE(accept.size() == 2);
  REQUIRE(reject.size() == 5);
  auto decide = [&](const std::string& id, const std::string& decision) {
    return node.post_json("/api/v1/review/" + id, {{"decision", decision}}, node.admin_token());
  };
  CHECK(decide(accept[0], "maybe").status == 400);
  CHECK(node.post_json("/api/v1/review/" + accept[0], {{"decision", "accept"}}, farmer.api_key)
            .status == 403);
  CHECK(decide("r_nosuchreferral", "accept").status == 404);
  for (const auto& id : accept) CHECK(decide(id, "accept").status == 200);
  for (const auto& id : reject) CHECK(decide(id, "reject").status == 200);
  auto again = decide(referral_of("disposable_domain"), "accept");
  CHECK(again.status == 409);
  CHECK(again.json().at("error").at("code") == "not_in_review");
  CHECK(node.get("/api/v1/review", node.admin_token()).json().at("referrals").empty());
  CHECK(member_credits(node, farmer).at("verified_referrals") == 0);  // accepted still wait

  // The same person through another member: a referral of its own (counts there once).
  node.register_and_confirm(honest.relay_link, TestCandidate{"農場 1", "farmer@example.jp", {}});

  // 13 days on: still held. 15 days on: the accepted ones count, and mint a credit.
  restart_days_later(node, 13);
  CHECK(member_credits(node, farmer).at("verified_referrals") == 0);
  restart_days_later(node, 15);
  CHECK(eventually([&] { return member_credits(node, farmer).at("verified_referrals") == 2; }));
  view = member_credits(node, farmer);
  CHECK(view.at("credits_minted") == 1);
  CHECK(view.at("balance") == 1);
  CHECK(eventually([&] { return member_credits(node, honest).at("verified_referrals") == 1; }));
  std::map<std::string, int> stages;
  for (const auto& r : member_referrals(node, farmer)) ++stages[r.at("stage").get<std::string>()];
  CHECK(stages == std::map<std::string, int>{{"counted", 2}, {"rejected", 5}});

  // The exported ledger: the person both members referred is two unrelated values, and no
  // candidate value appears under two members; relay-audit recomputes every credit.
  auto scratch = relay::test::make_temp_dir("attack-farming");
  auto exported = scratch / "export";
  auto run = run_tool(
      {kRelayNode.string(), "export", exported.string(), "--config", node.config_path().string()},
      scratch);
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  std::ifstream in(exported / "entries.jsonl");
  std::map<std::string, std::set<std::string>> members_of;  // candidate value -> members
  std::map<std::string, int> kinds;
  for (std::string line; std::getline(in, line);) {
    auto entry = nlohmann::json::parse(line);
    const auto kind = entry.at("kind").get<std::string>();
    ++kinds[kind];
    CHECK(entry.at("v") == 2);
    const auto& data = entry.at("data");
    if (data.contains("candidate") && data.contains("member"))
      members_of[data.at("candidate")].insert(data.at("member").get<std::string>());
  }
  for (const auto& [candidate, members] : members_of) CHECK(members.size() == 1);
  CHECK(kinds["referral_held"] == 8);
  CHECK(kinds["referral_flagged"] >= 7);
  CHECK(kinds["referral_accepted"] == 2);
  CHECK(kinds["referral_rejected"] == 5);
  CHECK(kinds["referral_counted"] == 3);
  CHECK(kinds["referral_hold_rule"] == 1);
  CHECK(kinds["credit_minted"] == 1);
  CHECK(kinds["referral_verified"] == 0);

  auto audit = run_tool({kRelayAudit.string(), "verify", exported.string(), "--json"}, scratch);
  INFO(audit.out);
  CHECK(audit.exit_code == 0);
  auto report = audit.json();
  REQUIRE(report.is_object());
  CHECK(report.at("ok") == true);
  CHECK(report.at("balances").at(farmer.id).at("verified_referrals") == 2);
  CHECK(report.at("balances").at(farmer.id).at("credits_minted") == 1);
  CHECK(report.at("balances").at(honest.id).at("verified_referrals") == 1);
  std::error_code ec;
  if (!std::getenv("RELAY_KEEP_TEST_DATA")) fs::remove_all(scratch, ec);
}

// A farming flood fills the operator's queue with one member's referrals: the queue is read a
// page at a time (the whole list was one reply), shows who they come from, and one request
// decides all of a member's. Bad input is refused and changes nothing.
TEST_CASE("attack: a farming flood is read a page at a time and decided a member at once") {
  auto options = relay::test::options("flood.relaynode", "JP-13");
  options.configure = [](nlohmann::json& config) {
    config["referrals"] = {{"holding_days", 14},      {"flag_disposable_domains", false},
                           {"velocity_max", 2},       {"velocity_window_minutes", 60},
                           {"same_domain_max", 0},    {"similar_max", 0},
                           {"cluster_window_days", 7}};
  };
  NodeProcess node(options);
  node.start();
  auto farmer = node.admit_member("Flood KK");
  auto busy = node.admit_member("Busy KK");
  // Over 2 an hour is a burst: the 3rd flags the three, each later one itself.
  for (int i = 0; i < 8; ++i)
    node.register_and_confirm(farmer.relay_link, TestCandidate{"洪水 " + std::to_string(i),
                                                               "p" + std::to_string(i) + "@d" +
                                                                   std::to_string(i) + ".example",
                                                               {}});
  for (int i = 0; i < 3; ++i)
    node.register_and_confirm(busy.relay_link, TestCandidate{"多忙 " + std::to_string(i),
                                                             "q" + std::to_string(i) + "@e" +
                                                                 std::to_string(i) + ".example",
                                                             {}});
  const auto admin = node.admin_token();
  auto whole = node.get("/api/v1/review", admin);
  REQUIRE(whole.status == 200);
  auto all = whole.json().at("referrals");
  REQUIRE(all.size() == 11);
  CHECK(whole.json().at("waiting") == 11);
  CHECK_FALSE(whole.json().contains("next"));

  // Pages of 3, following `next`, read the same list in the same order.
  nlohmann::json walked = nlohmann::json::array();
  std::string path = "/api/v1/review?limit=3";
  for (int pages = 0;; ++pages) {
    REQUIRE(pages < 6);
    auto page = node.get(path, admin);
    REQUIRE(page.status == 200);
    auto j = page.json();
    CHECK(j.at("waiting") == 11);
    CHECK(j.at("referrals").size() <= 3);
    for (const auto& item : j.at("referrals")) walked.push_back(item);
    if (!j.contains("next")) break;
    path = "/api/v1/review?limit=3&after=" + j.at("next").get<std::string>();
  }
  CHECK(walked == all);
  auto farm_only = node.get("/api/v1/review?member=" + farmer.id, admin).json().at("referrals");
  CHECK(farm_only.size() == 8);
  for (const auto& item : farm_only) CHECK(item.at("member") == farmer.id);

  // Per member, most first.
  auto members = node.get("/api/v1/review/members", admin);
  REQUIRE(members.status == 200);
  CHECK(members.json().at("members") ==
        nlohmann::json::array({{{"member", farmer.id}, {"company", "Flood KK"}, {"waiting", 8}},
                               {{"member", busy.id}, {"company", "Busy KK"}, {"waiting", 3}}}));
  for (const auto* secret : {"洪水", "多忙", ".example"})
    CHECK_MESSAGE(!relay::test::contains(members.body + whole.body, secret), secret);

  // Refused, and nothing changes: members may not; bad parameters; unknown ones.
  CHECK(node.get("/api/v1/review/members", farmer.api_key).status == 403);
  auto bulk = [&](const std::string& member, const nlohmann::json& body, std::string_view bearer) {
    return node.post_json("/api/v1/review/members/" + member, body, bearer);
  };
  CHECK(bulk(farmer.id, {{"decision", "reject"}}, farmer.api_key).status == 403);
  for (const auto* bad : {"?limit=0", "?limit=1001", "?limit=x", "?after=r_nosuchreferral"}) {
    auto r = node.get(std::string("/api/v1/review") + bad, admin);
    CHECK_MESSAGE(r.status == 400, bad);
    CHECK_MESSAGE(r.json().at("error").at("code") == "bad_parameter", bad);
  }
  CHECK(node.get("/api/v1/review?member=m_nosuchmember", admin).status == 404);
  CHECK(bulk(farmer.id, {{"decision", "maybe"}}, admin).status == 400);
  CHECK(bulk(farmer.id, {{"decision", "reject"}, {"also", 1}}, admin).status == 400);
  CHECK(bulk("m_nosuchmember", {{"decision", "reject"}}, admin).status == 404);
  CHECK(node.get("/api/v1/review", admin).json().at("waiting") == 11);

  // One request rejects every one of the flood's; the other member's still wait.
  auto rejected = bulk(farmer.id, {{"decision", "reject"}}, admin);
  REQUIRE(rejected.status == 200);
  CHECK(rejected.json() ==
        nlohmann::json{{"member", farmer.id}, {"decision", "reject"}, {"decided", 8}});
  CHECK(bulk(farmer.id, {{"decision", "reject"}}, admin).json().at("decided") == 0);
  for (const auto& r : member_referrals(node, farmer)) CHECK(r.at("stage") == "rejected");
  auto left = node.get("/api/v1/review", admin).json();
  CHECK(left.at("waiting") == 3);
  for (const auto& item : left.at("referrals")) CHECK(item.at("member") == busy.id);
  auto accepted = bulk(busy.id, {{"decision", "accept"}}, admin);
  REQUIRE(accepted.status == 200);
  CHECK(accepted.json().at("decided") == 3);
  for (const auto& r : member_referrals(node, busy)) CHECK(r.at("stage") == "held");
  CHECK(node.get("/api/v1/review/members", admin).json().at("members").empty());
}

TEST_SUITE_END();
