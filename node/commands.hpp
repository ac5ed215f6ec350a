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
int run_member_set_active(const std::filesystem::path& config_path, const std::string& id,
                          bool active);
int run_peer_add(const std::filesystem::path& config_path, const std::string& name,
                 const std::string& url, const std::string& fingerprint);
int run_peer_list(const std::filesystem::path& config_path);
int run_peer_set_active(const std::filesystem::path& config_path, const std::string& name,
                        bool active);
int run_identity(const std::filesystem::path& config_path);
// `relay-node export DIR --config F` (export_command.cpp): opens the node described by the
// config (it may be serving meanwhile: LMDB allows a second process to read) and exports its
// ledger to DIR. Prints a summary; returns 0 on success, 1 if the store fails, 2 for a bad
// config or a directory that exists and is not empty.
int run_export(const std::filesystem::path& config_path, const std::filesystem::path& dir);
// `relay-node evidence HANDOFF --out FILE --config F`: writes the evidence kept with the data
// this node received through handoff HANDOFF (the sender's signed plaintext, which an auditor
// checks with `relay-audit evidence FILE --signer-key KEY`) to FILE, created with mode 0600
// and never printed: it holds the candidate's personal data. Opens only the candidate store
// (like export; the node may be serving meanwhile). Returns 0 when written, 1 when this node
// holds no such evidence (unknown handoff, or its data erased or expired), 2 for a bad config
// or a FILE that exists or cannot be created.
int run_evidence(const std::filesystem::path& config_path, const std::string& handoff_id,
                 const std::filesystem::path& out);

}  // namespace relay::node
