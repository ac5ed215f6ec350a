// Backups (issue 18 item 5) against real processes: `relay-node backup` takes a hot copy while
// another thread keeps admitting members over HTTP; the node is stopped, the backup restored
// into a new directory and served; every write acknowledged before the backup began is there,
// member API keys and a candidate's management page still work (same keys), relay-audit
// verifies the restored node, and restore refuses a non-empty directory and a damaged backup.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/node_process.hpp"
#include "support/temp_dir.hpp"
#include "support/tool_run.hpp"
#include "support/vectors.hpp"

namespace fs = std::filesystem;
using relay::test::NodeProcess;
using relay::test::run_tool;
using relay::test::TestCandidate;

namespace {

const fs::path kRelayAudit = relay::test::binary_dir() / "audit" / "relay-audit";
const fs::path kRelayNode = relay::test::binary_dir() / "node" / "relay-node";

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("backup while serving, restore elsewhere: acknowledged writes kept, audit verifies") {
  relay::test::TempDir scratch("backup");
  const auto backup = scratch.path / "backup";
  NodeProcess node(relay::test::options("backup.relaynode", "JP-13"));
  auto first = node.admit_member("Backup First KK");
  const auto manage =
      node.register_and_confirm(first.relay_link, {"控 太郎", "ctrl@example.jp", {}});

  // A write workload: members admitted one after another; an id counts once its 201 arrived.
  std::mutex mutex;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop = false;
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      auto reply = node.post_json("/api/v1/members", {{"name", "Workload " + std::to_string(i)}},
                                  node.admin_token());
      if (reply.status != 201) continue;
      std::lock_guard lock(mutex);
      acknowledged.push_back(reply.json().at("id"));
    }
  });
  REQUIRE(relay::test::eventually([&] {
    std::lock_guard lock(mutex);
    return acknowledged.size() >= 10;
  }));
  std::vector<std::string> before;
  {
    std::lock_guard lock(mutex);
    before = acknowledged;
  }
  auto run = run_tool(
      {kRelayNode.string(), "backup", backup.string(), "--config", node.config_path().string()},
      scratch.path);
  std::size_t after_backup = 0;
  REQUIRE(relay::test::eventually([&] {
    std::lock_guard lock(mutex);
    after_backup = acknowledged.size();
    return after_backup > before.size() + 3;  // writes went on during and after the copy
  }));
  stop = true;
  writer.join();
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);

  // Everything in it is private to the operator.
  CHECK(mode_of(backup) == 0700);
  CHECK(mode_of(backup / "keys") == 0700);
  for (const char* file : {"MANIFEST.json", "node.json", "admin_token", "auditor_token",
                           "keys/signing.key", "keys/data.key", "lmdb/data.mdb"})
    CHECK_MESSAGE(mode_of(backup / file) == 0600, file);
  auto manifest = nlohmann::json::parse(relay::test::read_file(backup / "MANIFEST.json"));
  CHECK(manifest.at("format") == "relaynode-backup/1");
  CHECK(manifest.at("node") == "backup.relaynode");
  CHECK(manifest.at("ledger_size").get<std::uint64_t>() >= before.size() + 2);

  // The original goes away; the restored node serves on its port from a new directory.
  const auto port = node.port();
  const auto admin_token = node.admin_token();
  node.stop();
  auto options = relay::test::options("backup.relaynode", "JP-13");
  options.port = port;
  options.restore_from = backup;
  NodeProcess restored(options);
  CHECK(restored.admin_token() == admin_token);
  CHECK(restored.ledger_size() == manifest.at("ledger_size").get<std::uint64_t>());
  auto members = restored.get("/api/v1/members", restored.admin_token());
  REQUIRE(members.status == 200);
  std::set<std::string> ids;
  const auto listed = members.json();
  for (const auto& m : listed.at("members")) ids.insert(m.at("id").get<std::string>());
  for (const auto& id : before) CHECK_MESSAGE(ids.contains(id), id);
  CHECK(ids.contains(first.id));
  // The same keys: a member's API key and a candidate's management page still work.
  CHECK(restored.get("/api/v1/me", first.api_key).status == 200);
  CHECK(restored.get(relay::test::path_of(manage)).status == 200);

  auto audit = run_tool({kRelayAudit.string(), "verify", restored.url(), "--token-file",
                         (restored.data_dir() / "auditor_token").string(), "--json"},
                        scratch.path);
  INFO("audit: " << audit.out << audit.err);
  CHECK(audit.exit_code == 0);
  CHECK(audit.json().at("ok") == true);

  // Restore never overwrites, and refuses a backup that differs from its manifest.
  auto onto_node = run_tool(
      {kRelayNode.string(), "restore", backup.string(), "--data-dir", restored.data_dir().string()},
      scratch.path);
  CHECK(onto_node.exit_code == 2);
  CHECK(onto_node.err.find("not empty") != std::string::npos);
  { std::ofstream(backup / "admin_token", std::ios::app) << "x"; }
  const auto target = scratch.path / "damaged";
  auto damaged =
      run_tool({kRelayNode.string(), "restore", backup.string(), "--data-dir", target.string()},
               scratch.path);
  CHECK(damaged.exit_code == 1);
  CHECK(damaged.err.find("admin_token") != std::string::npos);
  CHECK(!fs::exists(target));
}
