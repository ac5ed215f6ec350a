#pragma once
// `relay-audit verify`: everything an auditor can check about a node's ledger from a
// LogSource, with no trust in the node beyond the key fingerprint compared out of band (or
// pinned with VerifyOptions::pinned_vkey):
//   1. every entry parses strictly (protocol::parse_entry: canonical JSON, exact fields);
//   2. its index field is its position, its node field is the log's origin;
//   3. its signature verifies under the key in force (key_history.hpp): node_initialised's
//      signing_key from entry 0, then each authenticated key_rotated's new_key;
//   4. the Merkle root of the entries (protocol::RootAccumulator) and their count equal the
//      signed checkpoint's, whose note signature verifies under the key in force at the end
//      of the log, with the expected origin;
//   5. the key document agrees with itself, with the checkpoint's origin and with that key;
//   6. every member's credits recomputed from the events (balance_book.hpp) obey the rules
//      and equal the node's own balances (taken at the node's ledger_size).
// Each problem is named precisely (problem_list.hpp); verification goes on after a problem, so
// one run lists everything found.
//
// Parsing, hashing and signature checks run on `threads` threads, a batch of entries at a
// time; the order-dependent checks (key history, balances, root) run in log order.
#include <cstdint>
#include <optional>
#include <string>

#include "audit/balance_book.hpp"
#include "audit/log_source.hpp"
#include "audit/problem_list.hpp"
#include "crypto/keys.hpp"
#include "protocol/merkle.hpp"

namespace relay::audit {

struct VerifyOptions {
  // The vkey the auditor expects ("origin+keyid+base64"), from an earlier audit or out of
  // band: the key document and the log's final key must be this key. Must parse (the caller
  // checks; an unparsable one is reported as a problem).
  std::optional<std::string> pinned_vkey;
  std::size_t max_problems = 1000;  // problems kept in the report (all are counted)
  unsigned threads = 0;             // 0: one per hardware thread
};

struct VerifyReport {
  std::string source;
  std::string origin;                            // the log's origin
  std::optional<crypto::Ed25519PublicKey> key;   // the key in force at the end of the log
  std::vector<crypto::Ed25519PublicKey> keys;    // every key in force, oldest first
  std::uint64_t entries = 0;                     // entries read
  std::optional<std::uint64_t> checkpoint_size;  // the signed checkpoint's size
  protocol::Hash root{};                         // recomputed from the entries
  std::optional<protocol::Hash> checkpoint_root;
  std::uint64_t key_rotations = 0;
  Balances balances;                              // recomputed at the end of the log
  std::optional<std::uint64_t> node_balances_at;  // ledger_size of the node's balances
  ProblemList problems;

  bool ok() const { return problems.empty(); }
};

// Reads and checks the whole log. Throws SourceError when the source cannot be read (exit
// code 2); every finding about the content is in the report.
VerifyReport verify_log(LogSource& source, const VerifyOptions& options = {});

}  // namespace relay::audit
