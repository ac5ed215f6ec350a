// Operations a municipal IT team relies on (issue 18 item 6), against a real relay-node:
// token rotation (and a member's new API key, `relay-node member new-key`) takes effect on the
// running node, /metrics speaks Prometheus text with route
// patterns (never raw paths), `relay-node status` reports the node, logs are one JSON object
// per line on stderr with no personal data, and secret files readable by others are refused
// at start with the chmod that fixes them.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <sstream>
#include <string>

#include "support/node_process.hpp"
#include "support/temp_dir.hpp"
#include "support/tool_run.hpp"
#include "support/vectors.hpp"

namespace fs = std::filesystem;
using relay::test::contains;
using relay::test::NodeProcess;
using relay::test::run_tool;

namespace {

const fs::path kRelayNode = relay::test::binary_dir() / "node" / "relay-node";

std::string token_in(const fs::path& file) {
  auto text = relay::test::read_file(file);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

TEST_CASE("rotate-token: the new token works at once on the running node, the old one stops") {
  relay::test::TempDir scratch("rotate");
  NodeProcess node(relay::test::options("rotate.relaynode", "JP-26"));
  const auto old_admin = node.admin_token();
  const auto old_auditor = node.auditor_token();
  REQUIRE(node.get("/api/v1/members", old_admin).status == 200);
  REQUIRE(node.get("/metrics", old_auditor).status == 200);

  for (const std::string which : {"admin", "auditor"}) {
    auto run = run_tool(
        {kRelayNode.string(), "rotate-token", which, "--config", node.config_path().string()},
        scratch.path);
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    CHECK_FALSE(contains(run.out, token_in(node.data_dir() / (which + "_token"))));  // not shown
    struct stat st {};
    REQUIRE(::stat((node.data_dir() / (which + "_token")).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  const auto new_admin = token_in(node.data_dir() / "admin_token");
  const auto new_auditor = token_in(node.data_dir() / "auditor_token");
  CHECK(new_admin != old_admin);
  CHECK(node.get("/api/v1/members", old_admin).status == 403);
  CHECK(node.get("/api/v1/members", new_admin).status == 200);
  CHECK(node.get("/metrics", old_auditor).status == 403);
  CHECK(node.get("/metrics", new_auditor).status == 200);
  // And after a restart, still the new ones.
  node.restart();
  CHECK(node.get("/api/v1/members", new_admin).status == 200);
  CHECK(node.get("/api/v1/members", old_admin).status == 403);

  auto bad = run_tool(
      {kRelayNode.string(), "rotate-token", "root", "--config", node.config_path().string()},
      scratch.path);
  CHECK(bad.exit_code != 0);
}

TEST_CASE("member new-key: a member's new API key works at once on the running node") {
  relay::test::TempDir scratch("new-key");
  NodeProcess node(relay::test::options("new-key.relaynode", "JP-26"));
  auto member = node.admit_member("New Key KK");
  auto run = run_tool({kRelayNode.string(), "member", "new-key", member.id, "--config",
                       node.config_path().string()},
                      scratch.path);
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  auto at = run.out.find("rk_");
  REQUIRE(at != std::string::npos);
  const auto key = run.out.substr(at, run.out.find_first_of(" \n", at) - at);
  CHECK(node.get("/api/v1/me", key).status == 200);
  CHECK(node.get("/api/v1/me", member.api_key).status == 401);
  auto unknown = run_tool({kRelayNode.string(), "member", "new-key", "m_nobody", "--config",
                           node.config_path().string()},
                          scratch.path);
  CHECK(unknown.exit_code == 2);
  CHECK(contains(unknown.err, "ID: no member m_nobody"));
}

TEST_CASE("/metrics, status and JSON logs of a serving node") {
  relay::test::TempDir scratch("metrics");
  NodeProcess node(relay::test::options("metrics.relaynode", "JP-27"));
  auto member = node.admit_member("Metrics KK");
  const std::string email = "metrics-person@example.jp";
  node.register_and_confirm(member.relay_link, {"計測 花子", email, {}});
  const auto page_status = node.get("/r/m/not-a-real-capability-token-123456").status;
  CHECK(node.get("/no/such/path").status == 404);

  CHECK(node.get("/metrics").status == 401);
  CHECK(node.get("/metrics", member.api_key).status == 403);
  auto reply = node.get("/metrics", node.auditor_token());
  REQUIRE(reply.status == 200);
  CHECK(contains(reply.header("content-type"), "text/plain; version=0.0.4"));
  const auto& text = reply.body;
  CHECK(contains(text, "# TYPE relay_http_requests_total counter"));
  CHECK(contains(text,
                 "relay_http_requests_total{method=\"POST\",route=\"/api/v1/members\","
                 "status=\"201\"} 1\n"));
  CHECK(contains(text,
                 "relay_http_requests_total{method=\"GET\",route=\"/r/m/{token}\","
                 "status=\"" +
                     std::to_string(page_status) + "\"}"));
  CHECK(contains(text, "route=\"(unmatched)\",status=\"404\"} 1\n"));
  CHECK_FALSE(contains(text, "not-a-real-capability-token"));
  CHECK(contains(text,
                 "relay_http_request_duration_seconds_bucket{method=\"GET\",route="
                 "\"/healthz\",le=\"+Inf\"}"));
  CHECK(contains(text, "relay_ledger_entries " + std::to_string(node.ledger_size()) + "\n"));
  CHECK(contains(text, "relay_mail_queue_messages "));
  CHECK(contains(text, "relay_alerts 0\n"));
  CHECK(contains(text, "relay_witness_cosigned_entries 0\n"));
  // Every line is a comment or `name{labels} value`.
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    CAPTURE(line);
    CHECK((line.starts_with("# ") || line.rfind(' ') != std::string::npos));
  }

  auto status =
      run_tool({kRelayNode.string(), "status", "--json", "--config", node.config_path().string()},
               scratch.path);
  INFO(status.out << status.err);
  REQUIRE(status.exit_code == 0);
  auto j = status.json();
  CHECK(j.at("node") == "metrics.relaynode");
  CHECK(j.at("serving") == true);
  CHECK(j.at("ledger_size").get<std::uint64_t>() == node.ledger_size());
  CHECK(j.at("alerts") == 0);
  CHECK(j.at("cosigned_size").is_null());
  auto human = run_tool({kRelayNode.string(), "status", "--config", node.config_path().string()},
                        scratch.path);
  CHECK(human.exit_code == 0);
  CHECK(contains(human.out, "serving:     yes"));
  CHECK(contains(human.out, "ledger:      " + std::to_string(node.ledger_size()) + " entries"));

  // Logs (stderr, in node.log): one JSON object per line, with no candidate's address.
  node.stop();
  auto log = relay::test::read_file(node.log_path());
  CHECK_FALSE(contains(log, email));
  int json_lines = 0;
  bool saw_listening = false;
  std::istringstream log_lines(log);
  for (std::string line; std::getline(log_lines, line);) {
    if (!line.starts_with("{")) continue;  // stdout's "listening" line, the harness's markers
    auto entry = nlohmann::json::parse(line, nullptr, false);
    CAPTURE(line);
    REQUIRE(entry.is_object());
    CHECK(entry.contains("time"));
    CHECK(entry.contains("level"));
    CHECK(entry.contains("message"));
    saw_listening = saw_listening || contains(entry.value("message", ""), "listening on");
    ++json_lines;
  }
  CHECK(json_lines > 0);
  CHECK(saw_listening);
}

TEST_CASE("secret files readable by group or others are refused at start, naming the fix") {
  relay::test::TempDir scratch("secrets");
  NodeProcess node(relay::test::options("secrets.relaynode", "JP-01"));
  node.stop();
  const auto serve = [&] {
    return run_tool({kRelayNode.string(), "serve", "--config", node.config_path().string()},
                    scratch.path, std::chrono::seconds(20));
  };
  for (const char* file : {"admin_token", "auditor_token", "keys/signing.key", "keys/data.key"}) {
    CAPTURE(file);
    const auto path = node.data_dir() / file;
    fs::permissions(path, fs::perms::group_read, fs::perm_options::add);
    auto run = serve();
    CHECK(run.exit_code == 1);
    CHECK(contains(run.err, path.string()));
    CHECK(contains(run.err, "chmod 600"));
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write,
                    fs::perm_options::replace);
  }
  node.start();
  CHECK(node.get("/api/v1/members", node.admin_token()).status == 200);
}

// Peers are reached over HTTPS: a plain http:// URL leaving the machine is refused, naming the
// field, and adds nothing; loopback (tests, a peer on the same host) and https:// are taken;
// federation.allow_plain_http opts a private network in.
TEST_CASE("peer add: http:// off loopback is refused unless federation.allow_plain_http") {
  relay::test::TempDir scratch("peers");
  NodeProcess node(relay::test::options("plain.relaynode", "JP-02"));
  node.stop();
  const std::string fp(64, 'a');
  const auto add = [&](const std::string& name, const std::string& url) {
    return run_tool({kRelayNode.string(), "peer", "add", name, url, fp, "--config",
                     node.config_path().string()},
                    scratch.path, std::chrono::seconds(20));
  };
  for (const char* url :
       {"http://192.0.2.10:8080", "http://peer.example.jp", "http://[2001:db8::1]"}) {
    CAPTURE(url);
    auto refused = add("far.example", url);
    CHECK(refused.exit_code == 2);
    CHECK(contains(refused.err, "URL: http:// only to a loopback host"));
  }
  CHECK(add("near.example", "http://127.0.0.1:9").exit_code == 0);
  CHECK(add("local.example", "http://localhost:9").exit_code == 0);
  CHECK(add("secure.example", "https://peer.example.jp").exit_code == 0);
  auto listed =
      run_tool({kRelayNode.string(), "peer", "list", "--config", node.config_path().string()},
               scratch.path, std::chrono::seconds(20));
  CHECK_FALSE(contains(listed.out, "far.example"));
  CHECK(contains(listed.out, "secure.example"));

  relay::test::patch_config(node, {{"federation", {{"allow_plain_http", true}}}});
  CHECK(add("private.example", "http://10.0.0.7:8080").exit_code == 0);
}

// The table of audit/README.md ("The audit API"), parameter by parameter.
TEST_CASE("the audit API answers as audit/README.md documents") {
  NodeProcess node(relay::test::options("auditapi.relaynode", "JP-40"));
  node.admit_member("Audit Api KK");
  node.admit_member("Audit Api GK");
  const auto n = node.ledger_size();
  REQUIRE(n >= 3);
  const auto& auditor = node.auditor_token();
  auto code = [](const relay::test::HttpReply& r) {
    auto j = r.json();
    return j.is_object() ? j["error"].value("code", "") : std::string();
  };

  CHECK(node.get("/audit/v1/entries").status == 401);
  CHECK(node.get("/audit/v1/entries", "not-the-token-not-the-token").status == 403);
  CHECK(node.get("/audit/v1/entries", node.admin_token()).status == 200);
  auto all = node.get("/audit/v1/entries", auditor);
  REQUIRE(all.status == 200);
  CHECK(all.json().at("start") == 0);
  CHECK(all.json().at("size") == n);
  REQUIRE(all.json().at("entries").size() == n);
  const auto all_entries = all.json().at("entries");
  for (const auto& e : all_entries) CHECK(e.is_string());
  auto page = node.get("/audit/v1/entries?start=1&limit=2", auditor).json();
  CHECK(page.at("start") == 1);
  REQUIRE(page.at("entries").size() == 2);
  CHECK(page.at("entries")[0] == all.json().at("entries")[1]);
  CHECK(node.get("/audit/v1/entries?start=" + std::to_string(n), auditor).json().at("entries") ==
        nlohmann::json::array());
  for (const char* bad : {"start=-1", "start=abc", "limit=1.5", "start=12345678901234567890"}) {
    auto r = node.get(std::string("/audit/v1/entries?") + bad, auditor);
    CAPTURE(bad);
    CHECK(r.status == 400);
    CHECK(code(r) == "bad_parameter");
  }

  auto inclusion = node.get("/audit/v1/proof/inclusion?index=0", auditor);
  REQUIRE(inclusion.status == 200);
  CHECK(inclusion.json().at("size") == n);
  CHECK(inclusion.json().at("proof").size() > 0);
  CHECK(code(node.get("/audit/v1/proof/inclusion", auditor)) == "missing_parameter");
  CHECK(code(node.get("/audit/v1/proof/inclusion?index=" + std::to_string(n), auditor)) ==
        "bad_range");
  CHECK(code(node.get("/audit/v1/proof/inclusion?index=0&size=" + std::to_string(n + 1),
                      auditor)) == "bad_range");

  auto consistency = node.get("/audit/v1/proof/consistency?from=1", auditor);
  REQUIRE(consistency.status == 200);
  CHECK(consistency.json().at("to") == n);
  auto same = node.get("/audit/v1/proof/consistency?from=2&to=2", auditor);
  REQUIRE(same.status == 200);
  CHECK(same.json().at("proof") == nlohmann::json::array());
  CHECK(code(node.get("/audit/v1/proof/consistency", auditor)) == "missing_parameter");
  CHECK(code(node.get("/audit/v1/proof/consistency?from=0", auditor)) == "bad_range");
  CHECK(code(node.get("/audit/v1/proof/consistency?from=3&to=2", auditor)) == "bad_range");
  CHECK(code(node.get("/audit/v1/proof/consistency?from=1&to=" + std::to_string(n + 1), auditor)) ==
        "bad_range");

  auto witnessed = node.get("/audit/v1/checkpoint/witnessed");
  CHECK(witnessed.status == 404);
  CHECK(code(witnessed) == "not_found");
  auto key = node.get("/audit/v1/key").json();
  for (const char* field : {"origin", "vkey", "public_key", "fingerprint"})
    CHECK(key.contains(field));
  auto balances = node.get("/audit/v1/balances", auditor).json();
  CHECK(balances.at("members").size() == 2);
}
