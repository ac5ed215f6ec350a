// Abuse replayed against a real relay-node process (issue 17's findings, one case each).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "support/names.hpp"
#include "support/node_process.hpp"

using relay::test::NodeProcess;
using relay::test::unique;

namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_SUITE_BEGIN("abuse");

TEST_CASE("abuse: API-key guessing from one address is throttled (429, Retry-After) and logged") {
  // Finding: "API-key guessing is neither throttled nor logged".
  NodeProcess node{relay::test::options("guess.example", "JP-28")};
  auto member = node.admit_member(unique("Guessed KK"));
  // Another role's real credential is not a guess.
  for (int i = 0; i < 15; ++i) CHECK(node.get("/api/v1/members", member.api_key).status == 403);
  std::string last_guess;
  for (int i = 0; i < 10; ++i) {
    last_guess = "rk_" + unique("guess");
    CHECK(node.get("/api/v1/me", last_guess).status == 401);
  }
  auto refused = node.get("/api/v1/me", member.api_key);
  CHECK(refused.status == 429);
  CHECK(refused.json()["error"]["code"] == "too_many_attempts");
  CHECK(std::stoi(refused.header("retry-after")) > 0);
  CHECK(node.get("/audit/v1/entries", node.auditor_token()).status == 429);
  CHECK(node.get("/healthz").status == 200);  // public routes still answer
  // One warning names the address; no guessed key appears in the log.
  auto log = read_all(node.log_path());
  CHECK(log.find("wrong credentials from 127.0.0.1") != std::string::npos);
  CHECK(log.find(last_guess) == std::string::npos);
  CHECK(log.find(member.api_key) == std::string::npos);
}
