#pragma once
// The relay-node subcommands, each returning a process exit code (0 ok, 1 failure,
// 2 bad usage). main.cpp only parses the command line and calls these.
#include <filesystem>
#include <string>

#include "node/setup.hpp"

namespace relay::node {

int run_init(const InitOptions& options);
int run_serve(const std::filesystem::path& config_path);
int run_member_add(const std::filesystem::path& config_path, const std::string& name);
int run_member_list(const std::filesystem::path& config_path);
int run_member_set_active(const std::filesystem::path& config_path, const std::string& id, bool active);
int run_peer_add(const std::filesystem::path& config_path, const std::string& name, const std::string& url,
                 const std::string& fingerprint);
int run_peer_list(const std::filesystem::path& config_path);
int run_peer_set_active(const std::filesystem::path& config_path, const std::string& name, bool active);
int run_identity(const std::filesystem::path& config_path);

}  // namespace relay::node
