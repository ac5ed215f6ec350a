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
int run_member_new_key(const std::filesystem::path& config_path, const std::string& id);
int run_peer_add(const std::filesystem::path& config_path, const std::string& name,
                 const std::string& url, const std::string& fingerprint);
int run_peer_list(const std::filesystem::path& config_path);
int run_peer_set_active(const std::filesystem::path& config_path, const std::string& name,
                        bool active);
int run_identity(const std::filesystem::path& config_path);
// `relay-node status --config F [--json]`: what the data directory says (ledger size, the
// newest cosigned checkpoint and its age, each peer's outbox, the mail queue, alerts) and
// whether the node answers GET /healthz on its listen address. Opens the store like
// `member list` (the node may be serving). Returns 0, or 1 if the store cannot be read.
int run_status(const std::filesystem::path& config_path, bool as_json);
// `relay-node rotate-token admin|auditor --config F`: writes a fresh token to the data
// directory's admin_token or auditor_token (mode 0600, atomic rename). A running node reads
// the file again at the next request that presents such a token (identity/token_file.hpp):
// the new token works at once and the old one is refused. The token is never printed.
int run_rotate_token(const std::filesystem::path& config_path, const std::string& which);
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
// `relay-node backup DIR --config F` (backup_command.cpp): a consistent hot copy of the node
// (LMDB's compacting copy, taken while it serves), its key files, tokens and config, and a
// MANIFEST.json with each file's SHA-256; every file 0600, every directory 0700. Returns 0
// when written, 1 if the store or a file fails, 2 for a bad config or a DIR that is not empty.
int run_backup(const std::filesystem::path& config_path, const std::filesystem::path& dir);
// `relay-node restore DIR --data-dir D`: checks every file of the backup against its manifest,
// then lays the node out in D (absent or empty: never overwrites), node.json's data_dir set to
// D. Returns 0 when restored, 1 for a damaged backup or a failed write, 2 for bad arguments.
int run_restore(const std::filesystem::path& backup_dir, const std::filesystem::path& data_dir,
                const std::filesystem::path& erasures = {});
int run_evidence(const std::filesystem::path& config_path, const std::string& handoff_id,
                 const std::filesystem::path& out);

}  // namespace relay::node
