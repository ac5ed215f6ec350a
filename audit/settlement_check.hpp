#pragma once
// `relay-audit settlement EXPORT_A EXPORT_B` and `relay-audit consortium EXPORT...`: are the
// settlements between nodes (protocol/settlement.hpp, node/settlement) what both sides signed?
//
// Every source is first verified in full (log_verifier.hpp); a source that does not verify is
// a problem and its events are not used. Then, in each log:
//   - every settlement_agreed rebuilds the statement and the agreement from its fields and the
//     two node names; this node's own signature on it (the statement's if it proposed, the
//     countersignature if not) verifies under one of the log's keys; its net is right;
//   - every agreed item was recorded before as obligation_recorded with that peer, owed the
//     way the item says, and no obligation is settled by two statements.
// Between logs, every statement recorded by a node whose peer's log is given must be recorded
// there too: the same statement, items, disputes and signatures, the other role and the
// opposite net, and the other side's signature verifies under one of that log's keys.
//   settlement   the two logs, each other's counterparties (statements with other peers are
//                not looked at)
// Nettings (protocol/netting.hpp): in each log, a netting_agreed's positions and transfers are
// recomputed, this node's signature verifies, and each edge it is party to is one of its agreed
// statements with that net, netted once; across logs, every participant whose log is given
// recorded the same document and signatures, each verifying under its signer's keys.
//   consortium   every log given; each node's net position (the sum of its statements' nets)
//                is reported, a statement with a node whose log is not given is a problem
//                (its net cannot be balanced), and the positions must sum to zero
//
// Thread safety: plain functions; the report is a plain value.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audit/log_source.hpp"
#include "audit/problem_list.hpp"

namespace relay::audit {

struct SettlementReport {
  std::vector<std::string> sources;  // as given
  std::vector<std::string> origins;  // of the usable ones, in that order
  std::uint64_t statements = 0;      // distinct statements checked
  std::uint64_t agreed_items = 0;    // obligations they settle
  std::uint64_t disputed_items = 0;
  std::uint64_t nettings = 0;  // netting_agreed entries read (one per participant's log)
  std::map<std::string, std::int64_t> positions;  // node -> net position (introductions)
  std::int64_t sum = 0;                           // of positions (consortium: must be 0)
  ProblemList problems;

  bool ok() const { return problems.empty(); }
};

struct SettlementCheckOptions {
  unsigned threads = 0;  // for verify_log; 0: one per hardware thread
};

// Throws SourceError when a source cannot be read at all (exit code 2).
SettlementReport check_settlement(LogSource& a, LogSource& b,
                                  const SettlementCheckOptions& options = {});
SettlementReport check_consortium(const std::vector<LogSource*>& logs,
                                  const SettlementCheckOptions& options = {});

nlohmann::json to_json(const SettlementReport& report);
std::string to_text(const SettlementReport& report, bool consortium);

}  // namespace relay::audit
