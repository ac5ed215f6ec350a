#pragma once
// `relay-node init`: lays out a new node's data directory:
//   <data_dir>/node.json       configuration (config/README.md)
//   <data_dir>/keys/           key files (identity/key_store.hpp), 0600
//   <data_dir>/admin_token     operator bearer token, 0600
//   <data_dir>/auditor_token   read-only auditor bearer token, 0600
//   <data_dir>/lmdb/           the LMDB environment (created by serve)
//   <data_dir>/mail/           the mail spool
// The genesis ledger entry is written when the node first opens its store.
#include <cstdint>
#include <filesystem>
#include <string>

namespace relay::node {

struct InitOptions {
  std::filesystem::path data_dir;
  std::string name;
  std::string region;
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 8080;
  std::string public_url;  // default http://<listen>:<port>
  std::uint32_t referrals_per_credit = 10;
};

struct InitResult {
  bool ok = false;
  std::string error;  // names the option at fault
  std::filesystem::path config_path;
};

// Refuses to overwrite an existing node (a node.json or keys/ already there).
InitResult init_node(const InitOptions& options);

}  // namespace relay::node
