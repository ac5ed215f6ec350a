// relay-node: parses the command line and dispatches to node/commands.hpp.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include "node/commands.hpp"
#include "node/ledger/export.hpp"

int main(int argc, char** argv) {
  using namespace relay::node;
  CLI::App app{"relay-node: a regional career relay node"};
  app.require_subcommand(1);

  InitOptions init;
  std::string listen = "127.0.0.1:8080";
  auto* init_cmd =
      app.add_subcommand("init", "create a new node's data directory, keys and tokens");
  init_cmd->add_option("--data-dir", init.data_dir, "directory for the node (created)")->required();
  init_cmd->add_option("--name", init.name, "node name, e.g. kobe.relaynode (checkpoint origin)")
      ->required();
  init_cmd->add_option("--region", init.region, "ISO 3166-2:JP prefecture code, e.g. JP-28")
      ->required();
  init_cmd->add_option("--listen", listen, "address:port to serve on");
  init_cmd->add_option("--public-url", init.public_url,
                       "URL candidates and peers reach the node at");
  init_cmd->add_option("--referrals-per-credit", init.referrals_per_credit,
                       "verified referrals per credit");

  std::filesystem::path config_path;
  auto add_config = [&](CLI::App* cmd) {
    cmd->add_option("--config", config_path, "the node's node.json")->required();
  };
  auto* serve_cmd = app.add_subcommand("serve", "run the node's HTTP server");
  add_config(serve_cmd);

  auto* member_cmd = app.add_subcommand("member", "manage member companies");
  member_cmd->require_subcommand(1);
  std::string member_arg;
  auto* member_add =
      member_cmd->add_subcommand("add", "admit a member company; prints its API key once");
  member_add->add_option("NAME", member_arg, "company name")->required();
  add_config(member_add);
  auto* member_list = member_cmd->add_subcommand("list", "list members");
  add_config(member_list);
  auto* member_suspend = member_cmd->add_subcommand("suspend", "suspend a member");
  member_suspend->add_option("ID", member_arg, "member id")->required();
  add_config(member_suspend);
  auto* member_reinstate = member_cmd->add_subcommand("reinstate", "reinstate a suspended member");
  member_reinstate->add_option("ID", member_arg, "member id")->required();
  add_config(member_reinstate);
  auto* member_new_key = member_cmd->add_subcommand(
      "new-key", "replace a member's API key (prints the new one once; the old one stops working)");
  member_new_key->add_option("ID", member_arg, "member id")->required();
  add_config(member_new_key);

  auto* peer_cmd = app.add_subcommand("peer", "manage peer nodes");
  peer_cmd->require_subcommand(1);
  std::string peer_name, peer_url, peer_fingerprint;
  auto* peer_add =
      peer_cmd->add_subcommand("add", "add a peer node (its key fingerprint compared out of band)");
  peer_add->add_option("NAME", peer_name, "the peer's node name")->required();
  peer_add->add_option("URL", peer_url, "the peer's base URL, http://host:port")->required();
  peer_add->add_option("FINGERPRINT", peer_fingerprint, "hex SHA-256 of the peer's signing key")
      ->required();
  add_config(peer_add);
  auto* peer_list = peer_cmd->add_subcommand("list", "list peers");
  add_config(peer_list);
  auto* peer_suspend =
      peer_cmd->add_subcommand("suspend", "stop accepting and sending messages for a peer");
  peer_suspend->add_option("NAME", peer_name, "peer name")->required();
  add_config(peer_suspend);
  auto* peer_reinstate = peer_cmd->add_subcommand("reinstate", "reinstate a suspended peer");
  peer_reinstate->add_option("NAME", peer_name, "peer name")->required();
  add_config(peer_reinstate);
  auto* identity_cmd =
      app.add_subcommand("identity", "print this node's name, URL and key fingerprint");
  add_config(identity_cmd);

  bool status_json = false;
  auto* status_cmd = app.add_subcommand(
      "status", "ledger size, witnessing, peers' outbox, mail queue, alerts; is it serving?");
  status_cmd->add_flag("--json", status_json, "one JSON object instead of text");
  add_config(status_cmd);

  std::string token_which;
  auto* rotate_token_cmd = app.add_subcommand(
      "rotate-token", "replace the admin or auditor token (the old one stops working at once)");
  rotate_token_cmd->add_option("WHICH", token_which, "admin or auditor")
      ->required()
      ->check(CLI::IsMember({"admin", "auditor"}));
  add_config(rotate_token_cmd);

  std::filesystem::path export_dir;
  auto* export_cmd =
      app.add_subcommand("export", "write the ledger export an auditor verifies with relay-audit");
  export_cmd->add_option("DIR", export_dir, "directory to create (must be absent or empty)")
      ->required();
  add_config(export_cmd);

  std::filesystem::path backup_dir;
  auto* backup_cmd = app.add_subcommand(
      "backup", "hot copy of the serving node (LMDB compacting copy, keys, tokens, config)");
  backup_cmd->add_option("DIR", backup_dir, "directory to create (must be absent or empty)")
      ->required();
  add_config(backup_cmd);
  std::filesystem::path restore_data_dir;
  auto* restore_cmd =
      app.add_subcommand("restore", "lay out a node from a backup in a new data directory");
  restore_cmd->add_option("DIR", backup_dir, "the backup directory")->required();
  restore_cmd
      ->add_option("--data-dir", restore_data_dir, "directory to create (must be absent or empty)")
      ->required();
  std::filesystem::path restore_erasures;
  restore_cmd
      ->add_option("--erasures", restore_erasures,
                   "an erasure journal newer than the backup (the old node's DATA_DIR/erasures, "
                   "or a later backup's): its erasures are applied again")
      ->check(CLI::ExistingFile);

  std::string evidence_handoff;
  std::filesystem::path evidence_out;
  auto* evidence_cmd = app.add_subcommand(
      "evidence", "write the signed evidence of data received through a handoff (mode 0600)");
  evidence_cmd->add_option("HANDOFF", evidence_handoff, "the handoff id (h_...)")->required();
  evidence_cmd->add_option("--out", evidence_out, "file to create (holds personal data)")
      ->required();
  add_config(evidence_cmd);

  CLI11_PARSE(app, argc, argv);
  // stdout is each command's answer; what the node logs meanwhile goes to stderr (serve then
  // follows the config's log section).
  spdlog::set_default_logger(spdlog::stderr_logger_mt("relay-cli"));

  if (*init_cmd) {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
      std::cerr << "relay-node init: --listen: expected address:port\n";
      return 2;
    }
    init.listen_address = listen.substr(0, colon);
    try {
      auto port = std::stoul(listen.substr(colon + 1));
      if (port > 65535) throw std::out_of_range("port");
      init.port = static_cast<std::uint16_t>(port);
    } catch (const std::exception&) {
      std::cerr << "relay-node init: --listen: port must be 0..65535\n";
      return 2;
    }
    return run_init(init);
  }
  if (*serve_cmd) return run_serve(config_path);
  if (*member_add) return run_member_add(config_path, member_arg);
  if (*member_list) return run_member_list(config_path);
  if (*member_suspend) return run_member_set_active(config_path, member_arg, false);
  if (*member_reinstate) return run_member_set_active(config_path, member_arg, true);
  if (*member_new_key) return run_member_new_key(config_path, member_arg);
  if (*peer_add) return run_peer_add(config_path, peer_name, peer_url, peer_fingerprint);
  if (*peer_list) return run_peer_list(config_path);
  if (*peer_suspend) return run_peer_set_active(config_path, peer_name, false);
  if (*peer_reinstate) return run_peer_set_active(config_path, peer_name, true);
  if (*identity_cmd) return run_identity(config_path);
  if (*status_cmd) return run_status(config_path, status_json);
  if (*rotate_token_cmd) return run_rotate_token(config_path, token_which);
  if (*export_cmd) return relay::node::run_export(config_path, export_dir);
  if (*backup_cmd) return run_backup(config_path, backup_dir);
  if (*restore_cmd) return run_restore(backup_dir, restore_data_dir, restore_erasures);
  if (*evidence_cmd) return run_evidence(config_path, evidence_handoff, evidence_out);
  return 2;
}
