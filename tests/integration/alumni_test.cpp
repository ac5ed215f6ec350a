// Alumni links through a real node (issue 14, item 1): a member's alumni link leads people who
// are leaving it (退職者) through the same registration pages, consent and double opt-in as
// rejected candidates; they are marked as its alumni and listed to it, and do not mint a credit
// by default. With credits.alumni_count_toward_credits set (and the node restarted, which
// records the rule in the ledger) they do; relay-audit verifies the node both times.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/names.hpp"
#include "support/node_process.hpp"
#include "support/vectors.hpp"

extern char** environ;

namespace fs = std::filesystem;
using relay::test::contains;
using relay::test::NodeProcess;
using relay::test::path_of;
using relay::test::TestCandidate;
using relay::test::unique;
using namespace std::chrono_literals;

namespace {

const fs::path kRelayAudit = relay::test::binary_dir() / "audit" / "relay-audit";

// relay-audit verify <url> --token-file <file> --json: its exit code and JSON report.
std::pair<int, nlohmann::json> audit_live(const NodeProcess& node) {
  const auto out = node.data_dir() / "audit.out";
  const auto token_file = (node.data_dir() / "auditor_token").string();
  std::vector<std::string> args{kRelayAudit.string(), "verify",   node.url(),
                                "--token-file",       token_file, "--json"};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return {code, nlohmann::json::parse(relay::test::read_file(out), nullptr, false)};
}

TestCandidate leaver(const std::string& stem) {
  auto tag = unique(stem);
  return TestCandidate{"退職 " + tag, tag + "@example.jp", {}};
}

nlohmann::json credits(const NodeProcess& node, const std::string& key) {
  auto reply = node.get("/api/v1/credits", key);
  REQUIRE(reply.status == 200);
  return reply.json();
}

}  // namespace

TEST_SUITE_BEGIN("alumni");

TEST_CASE("alumni: registered through a real node, no credit by default, one when configured") {
  NodeProcess::Options options;
  options.name = "alumni.relaynode";
  options.init_args = {"--referrals-per-credit", "1"};  // any counted referral mints
  NodeProcess node(options);

  // The operator admits the member with a contact email (validated).
  auto bad =
      node.post_json("/api/v1/members", {{"name", unique("Bad Mail")}, {"contact_email", "nope"}},
                     node.admin_token());
  CHECK(bad.status == 400);
  auto admitted =
      node.post_json("/api/v1/members",
                     {{"name", unique("Leaving KK")}, {"contact_email", "HR@Leaving.Example.JP"}},
                     node.admin_token());
  REQUIRE(admitted.status == 201);
  CHECK(admitted.json().at("contact_email") == "HR@leaving.example.jp");
  const auto key = admitted.json().at("api_key").get<std::string>();
  auto other = node.admit_member(unique("Other KK"));

  // The member changes its own contact email.
  auto changed =
      node.request("PUT", "/api/v1/me/contact-email",
                   nlohmann::json{{"contact_email", "people@leaving.example.jp"}}.dump(),
                   {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}});
  CHECK(changed.status == 200);
  CHECK(changed.json().at("contact_email") == "people@leaving.example.jp");

  // The static alumni link, and a single-use one for one departure.
  auto link_reply = node.get("/api/v1/alumni-link", key);
  REQUIRE(link_reply.status == 200);
  const auto link = link_reply.json().at("url").get<std::string>();
  CHECK(link_reply.json().at("single_use") == false);
  CHECK(contains(link_reply.json().at("paragraph").at("ja").get<std::string>(), link));
  auto single = node.post_json("/api/v1/alumni-links", {{"departure_id", "emp-7"}}, key);
  REQUIRE(single.status == 201);
  CHECK(single.json().at("single_use") == true);

  // The page tells a leaver that the member can find them again; a rejection link's does not.
  auto page = node.get(path_of(link) + "?lang=en");
  REQUIRE(page.status == 200);
  CHECK(contains(page.body, "re-hire"));
  CHECK_FALSE(contains(page.body, "did not work out"));
  CHECK(contains(node.get(path_of(link)).body, "再雇用"));
  auto rejection_page = node.get(path_of(other.relay_link) + "?lang=en");
  REQUIRE(rejection_page.status == 200);
  CHECK_FALSE(contains(rejection_page.body, "re-hire"));
  CHECK(contains(rejection_page.body, "did not work out"));

  // A leaver registers exactly as a rejected candidate does.
  node.register_and_confirm(path_of(link), leaver("leaver"));
  auto referrals = node.get("/api/v1/referrals", key).json().at("referrals");
  REQUIRE(referrals.size() == 1);
  CHECK(referrals[0].at("kind") == "alumni");
  CHECK(referrals[0].at("status") == "verified");
  CHECK(referrals[0].at("counted") == false);
  CHECK(credits(node, key).at("credits_minted") == 0);
  CHECK(credits(node, key).at("balance") == 0);

  // The member finds them again (anonymised); the other member does not.
  auto alumni = node.get("/api/v1/alumni", key);
  REQUIRE(alumni.status == 200);
  CHECK(alumni.json().at("count") == 1);
  CHECK_FALSE(contains(alumni.body, "example.jp"));
  CHECK(node.get("/api/v1/alumni", other.api_key).json().at("count") == 0);

  // The single-use link works once.
  node.register_and_confirm(path_of(single.json().at("url").get<std::string>()), leaver("single"));
  auto used = node.post_json("/api/v1/alumni-links", {{"departure_id", "emp-7"}}, key);
  CHECK(used.status == 409);

  // Two alumni now: a page of one, then the rest after its `next`; a bad page is a 400 naming
  // the parameter.
  auto first = node.get("/api/v1/alumni?limit=1", key);
  REQUIRE(first.status == 200);
  CHECK(first.json().at("count") == 1);
  REQUIRE(first.json().contains("next"));
  const auto next = first.json().at("next").get<std::string>();
  auto second = node.get("/api/v1/alumni?after=" + next, key);
  REQUIRE(second.status == 200);
  CHECK(second.json().at("count") == 1);
  CHECK_FALSE(second.json().contains("next"));
  CHECK(second.json().at("alumni")[0].at("ref") != first.json().at("alumni")[0].at("ref"));
  CHECK(node.get("/api/v1/alumni", key).json().at("count") == 2);
  for (const char* query : {"?after=p_000000000000000000000001", "?after=12.x", "?after=-1.p_0",
                            "?limit=0", "?limit=1001"}) {
    CAPTURE(query);
    auto refused = node.get(std::string("/api/v1/alumni") + query, key);
    CHECK(refused.status == 400);
    CHECK(refused.json().at("error").at("code") == "bad_parameter");
  }

  {
    auto [code, report] = audit_live(node);
    INFO(report.dump());
    CHECK(code == 0);
    CHECK(report.at("ok") == true);
  }

  // The operator decides alumni count: the node records the rule at start-up.
  node.stop();
  relay::test::patch_config(node, {{"credits", {{"alumni_count_toward_credits", true}}}});
  node.start();
  node.register_and_confirm(path_of(link), leaver("counted"));
  auto after = credits(node, key);
  CHECK(after.at("credits_minted") == 1);
  CHECK(after.at("balance") == 1);
  CHECK(after.at("verified_referrals") == 1);

  auto [code, report] = audit_live(node);
  INFO(report.dump());
  CHECK(code == 0);
  CHECK(report.at("ok") == true);
  const auto member_id = admitted.json().at("id").get<std::string>();
  CHECK(report.at("balances").at(member_id).at("credits_minted") == 1);
  CHECK(report.at("balances").at(member_id).at("balance") == 1);
}

TEST_SUITE_END();
