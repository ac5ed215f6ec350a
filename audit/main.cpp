// relay-audit: verifies a relaynode ledger from an export directory or a live node.
// Exit codes: 0 verified, 1 verification failed (problems found), 2 usage or I/O error.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include "audit/consistency_check.hpp"
#include "audit/erasure_check.hpp"
#include "audit/evidence_check.hpp"
#include "audit/inclusion_check.hpp"
#include "audit/log_source.hpp"
#include "audit/log_verifier.hpp"
#include "audit/report.hpp"
#include "audit/settlement_check.hpp"
#include "protocol/signed_note.hpp"

namespace {

using namespace relay::audit;

constexpr int kVerified = 0;
constexpr int kFailed = 1;
constexpr int kUsageOrIo = 2;

struct TokenOptions {
  std::string token;
  std::string token_file;
};

void add_token_options(CLI::App* cmd, TokenOptions& options) {
  auto* token = cmd->add_option("--token", options.token, "auditor bearer token (for a URL)");
  auto* file = cmd->add_option("--token-file", options.token_file,
                               "file holding the auditor token (<data_dir>/auditor_token)");
  token->excludes(file);
}

// The token from --token or --token-file; throws SourceError if the file cannot be read.
std::optional<std::string> resolve_token(const TokenOptions& options) {
  if (!options.token.empty()) return options.token;
  if (options.token_file.empty()) return std::nullopt;
  std::ifstream in(options.token_file, std::ios::binary);
  if (!in) throw SourceError("--token-file: cannot read " + options.token_file);
  std::ostringstream text;
  text << in.rdbuf();
  auto token = text.str();
  auto end = token.find_last_not_of(" \t\r\n");
  token.erase(end == std::string::npos ? 0 : end + 1);
  if (token.empty()) throw SourceError("--token-file: " + options.token_file + " is empty");
  return token;
}

void print(const nlohmann::json& json) {
  std::cout << json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

bool valid_vkey(const std::string& vkey) {
  if (relay::protocol::parse_vkey(vkey)) return true;
  std::cerr << "relay-audit: --vkey: not a valid note verifier key (name+keyid+base64)\n";
  return false;
}

// relay-audit evidence: 0 verified, 1 refused (the problem is named), 2 usage or I/O. The file
// holds personal data: nothing of its payload is printed.
int check_evidence_file(const std::string& file, const std::string& signer_key) {
  auto key = parse_signer_key(signer_key);
  if (!key) {
    std::cerr << "relay-audit: --signer-key: not a base64 Ed25519 public key (32 bytes)\n";
    return kUsageOrIo;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "relay-audit: cannot read " << file << "\n";
    return kUsageOrIo;
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  auto report = check_evidence(bytes.str(), *key);
  std::cout << to_text(report);
  return report.ok() ? kVerified : kFailed;
}

int run(int argc, char** argv) {
  CLI::App app{"relay-audit: verify a relaynode ledger offline (export) or online (URL)"};
  app.require_subcommand(1);
  bool json = false;
  app.add_flag("--json", json, "print a machine-readable JSON report");

  std::string location;
  TokenOptions token;
  std::string vkey;
  std::size_t max_problems = 1000;
  unsigned threads = 0;
  auto* verify = app.add_subcommand("verify", "check every entry, the checkpoint and balances");
  verify->add_option("SOURCE", location, "export directory or http://host:port")->required();
  add_token_options(verify, token);
  verify->add_option("--vkey", vkey, "pin the log's note verifier key");
  verify->add_option("--max-problems", max_problems, "problems listed (all are counted)");
  verify->add_option("--threads", threads, "worker threads (default: one per core)");
  verify->add_flag("--json", json, "print a machine-readable JSON report");

  std::string old_location;
  std::string new_location;
  std::vector<std::string> vkeys;
  auto* consistency =
      app.add_subcommand("consistency", "check that NEW's log extends OLD's (no fork)");
  consistency->add_option("OLD", old_location, "checkpoint file, export directory or URL")
      ->required();
  consistency->add_option("NEW", new_location, "checkpoint file, export directory or URL")
      ->required();
  consistency->add_option("--vkey", vkeys, "a trusted log key (repeatable)");
  add_token_options(consistency, token);
  consistency->add_flag("--json", json, "print a machine-readable JSON report");

  std::uint64_t index = 0;
  auto* inclusion = app.add_subcommand("inclusion", "prove one entry is in the signed tree");
  inclusion->add_option("SOURCE", location, "export directory or http://host:port")->required();
  inclusion->add_option("--index", index, "the entry's index")->required();
  add_token_options(inclusion, token);
  inclusion->add_option("--vkey", vkey, "pin the log's note verifier key");
  inclusion->add_flag("--json", json, "print a machine-readable JSON report");

  std::string holder_location;
  std::vector<std::string> recipient_locations;
  auto* erasures = app.add_subcommand(
      "erasures",
      "check that every erasure request has its receipt and the recipient's completion");
  erasures->add_option("HOLDER", holder_location, "the holding node's export directory or URL")
      ->required();
  erasures->add_option("RECIPIENT", recipient_locations, "each recipient node's export or URL");
  add_token_options(erasures, token);
  erasures->add_option("--threads", threads, "worker threads (default: one per core)");
  erasures->add_flag("--json", json, "print a machine-readable JSON report");

  std::vector<std::string> settlement_locations;
  auto* settlement = app.add_subcommand(
      "settlement", "check every agreed settlement statement between two nodes against both logs");
  settlement->add_option("EXPORT", settlement_locations, "the two nodes' exports or URLs")
      ->required()
      ->expected(2);
  add_token_options(settlement, token);
  settlement->add_option("--threads", threads, "worker threads (default: one per core)");
  settlement->add_flag("--json", json, "print a machine-readable JSON report");

  std::vector<std::string> consortium_locations;
  auto* consortium_cmd = app.add_subcommand(
      "consortium", "check every node's settlements and that net positions sum to zero");
  consortium_cmd->add_option("EXPORT", consortium_locations, "every node's export or URL")
      ->required();
  add_token_options(consortium_cmd, token);
  consortium_cmd->add_option("--threads", threads, "worker threads (default: one per core)");
  consortium_cmd->add_flag("--json", json, "print a machine-readable JSON report");

  std::string evidence_file;
  std::string signer_key;
  auto* evidence = app.add_subcommand(
      "evidence", "check a handoff's evidence (from relay-node evidence) against its sender's key");
  evidence->add_option("FILE", evidence_file, "the evidence file")->required();
  evidence->add_option("--signer-key", signer_key, "the sending node's signing key (base64)")
      ->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kVerified : kUsageOrIo;
  }

  if (*evidence) return check_evidence_file(evidence_file, signer_key);

  auto token_value = resolve_token(token);
  if ((*verify || *inclusion) && is_url(location) && !token_value) {
    std::cerr << "relay-audit: a URL needs the auditor token: --token or --token-file\n";
    return kUsageOrIo;
  }
  std::optional<std::string> pinned;
  if (!vkey.empty()) {
    if (!valid_vkey(vkey)) return kUsageOrIo;
    pinned = vkey;
  }
  for (const auto& v : vkeys)
    if (!valid_vkey(v)) return kUsageOrIo;

  if (*verify) {
    auto source = open_log_source(location, token_value);
    auto report = verify_log(*source, {pinned, max_problems, threads});
    if (json)
      print(to_json(report));
    else
      std::cout << to_text(report);
    return report.ok() ? kVerified : kFailed;
  }
  if (*erasures) {
    std::vector<std::string> all{holder_location};
    all.insert(all.end(), recipient_locations.begin(), recipient_locations.end());
    for (const auto& l : all)
      if (is_url(l) && !token_value) {
        std::cerr << "relay-audit: a URL needs the auditor token: --token or --token-file\n";
        return kUsageOrIo;
      }
    auto holder = open_log_source(holder_location, token_value);
    std::vector<std::unique_ptr<LogSource>> opened;
    std::vector<LogSource*> recipients;
    for (const auto& l : recipient_locations) {
      opened.push_back(open_log_source(l, token_value));
      recipients.push_back(opened.back().get());
    }
    auto report = check_erasures(*holder, recipients, {threads});
    if (json)
      print(to_json(report));
    else
      std::cout << to_text(report);
    return report.ok() ? kVerified : kFailed;
  }
  if (*settlement || *consortium_cmd) {
    const auto& locations = *settlement ? settlement_locations : consortium_locations;
    for (const auto& l : locations)
      if (is_url(l) && !token_value) {
        std::cerr << "relay-audit: a URL needs the auditor token: --token or --token-file\n";
        return kUsageOrIo;
      }
    std::vector<std::unique_ptr<LogSource>> opened;
    std::vector<LogSource*> logs;
    for (const auto& l : locations) {
      opened.push_back(open_log_source(l, token_value));
      logs.push_back(opened.back().get());
    }
    auto report = *settlement ? check_settlement(*logs[0], *logs[1], {threads})
                              : check_consortium(logs, {threads});
    if (json)
      print(to_json(report));
    else
      std::cout << to_text(report, !*settlement);
    return report.ok() ? kVerified : kFailed;
  }
  if (*consistency) {
    auto report = check_consistency(old_location, new_location, {vkeys, token_value});
    if (json)
      print(to_json(report));
    else
      std::cout << to_text(report);
    return report.ok() ? kVerified : kFailed;
  }
  auto source = open_log_source(location, token_value);
  auto report = check_inclusion(*source, index, pinned);
  if (json)
    print(to_json(report));
  else
    std::cout << to_text(report);
  return report.ok() ? kVerified : kFailed;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const SourceError& e) {
    std::cerr << "relay-audit: " << e.what() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "relay-audit: error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "relay-audit: unknown error\n";
  }
  return kUsageOrIo;
}
