#pragma once
// The export directory that `relay-node export DIR` writes and relay-audit reads (the format
// is documented in node/ledger/README.md and audit/README.md). The node writes it from one
// read transaction, so every file describes the same tree:
//   entries.jsonl   every ledger entry's exact bytes, in index order, each followed by "\n"
//                   (canonical JSON never holds a raw newline, so lines are entries)
//   checkpoint      the C2SP signed note of the tree of exactly those entries
//   key.json        canonical JSON {"fingerprint","origin","public_key","vkey"} + "\n"
//   balances.json   canonical JSON of the node's own balances (the /audit/v1/balances
//                   shape: {"ledger_size":N,"members":{id:{...}}}) + "\n"
// relay-audit needs no node code to read it: the names are repeated here on purpose, and the
// node's export tests run this library over what the node writes.
#include <string_view>

namespace relay::audit::export_format {

inline constexpr std::string_view entries_file = "entries.jsonl";
inline constexpr std::string_view checkpoint_file = "checkpoint";
inline constexpr std::string_view key_file = "key.json";
inline constexpr std::string_view balances_file = "balances.json";

}  // namespace relay::audit::export_format
