#pragma once
// The ledger export an auditor verifies offline with relay-audit (format: node/ledger/
// README.md, "Export directory"). Everything is read in ONE read transaction, so the entries,
// the signed checkpoint and the node's balances describe the same tree:
//   DIR/entries.jsonl   every entry's exact bytes, index order, one per line ("\n")
//   DIR/checkpoint      the signed note of the tree of exactly those entries
//   DIR/key.json        {"fingerprint","origin","public_key","vkey"} of the signing key
//   DIR/balances.json   {"ledger_size":N,"members":{id:{...}}} as /audit/v1/balances shows
// Files are written and fsynced one by one; an interrupted export leaves an incomplete
// directory that relay-audit refuses (delete it and export again).
//
// Threads: call from any thread that holds no transaction. The read transaction stays open
// for the whole export (about a second per million entries): inside the serving process it
// delays map growth that long; from another process (`relay-node export`) it only pins pages.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "node/ledger/ledger.hpp"
#include "node/storage/environment.hpp"

namespace relay::node::ledger {

// The node's own balances as the export's transaction sees them: the "members" object of
// /audit/v1/balances ({member id: {verified_referrals, credits_minted, credits_spent,
// balance}}).
using BalancesView = std::function<nlohmann::json(const storage::Txn& txn)>;

struct ExportSummary {
  std::uint64_t size = 0;   // entries written
  protocol::Hash root{};    // the checkpoint's root
  std::string fingerprint;  // of the key that signed the checkpoint
  std::size_t members = 0;  // members in balances.json
};

enum class ExportError {
  none,
  not_empty,        // the directory exists and holds something
  not_a_directory,  // the path exists and is not a directory
};

struct ExportResult {
  std::optional<ExportSummary> summary;  // set when the export was written
  ExportError error = ExportError::none;
  std::string message;  // names the path, when !summary
  explicit operator bool() const { return summary.has_value(); }
};

// Writes the export into dir (created if missing; refused if it exists and is not empty).
// Throws std::system_error if a file cannot be written, and std::runtime_error if the stored
// ledger does not hash to its own checkpoint (corrupt storage: nothing is claimed then).
ExportResult export_ledger(storage::Environment& env, const Ledger& ledger,
                           const BalancesView& balances, const std::filesystem::path& dir);

}  // namespace relay::node::ledger
