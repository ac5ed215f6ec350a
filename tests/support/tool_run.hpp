#pragma once
// run_tool: runs a one-shot program (relay-audit, relay-node backup/export/status, dpkg-deb)
// to completion with stdout and stderr captured in files under a scratch directory, and
// returns its exit code and output. Used by the integration tests that drive the binaries.
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace relay::test {

struct ToolRun {
  int exit_code = -1;  // -1: killed (time-out) or did not exit normally
  std::string out;
  std::string err;
  nlohmann::json json() const { return nlohmann::json::parse(out, nullptr, false); }
};

// args[0] is the program's path (no PATH search). Kills it after `timeout`. Throws
// std::runtime_error if it cannot be started.
ToolRun run_tool(const std::vector<std::string>& args, const std::filesystem::path& scratch,
                 std::chrono::seconds timeout = std::chrono::seconds(120));

}  // namespace relay::test
