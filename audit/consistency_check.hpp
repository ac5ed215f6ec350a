#pragma once
// `relay-audit consistency OLD NEW`: does the log behind NEW extend the log behind OLD, or has
// the node shown two different histories (a fork)? OLD and NEW are each a checkpoint file (a
// signed note), an export directory, or a node's URL. Both notes must verify under a known
// key: each --vkey given, and the key document of every export or node named. Then, for
// sizes m <= n, an RFC 9162 consistency proof from m to n is verified against both signed
// roots (protocol::verify_consistency). The proof comes from NEW's node or is computed from
// NEW's export entries; if NEW is a bare checkpoint, OLD's node (which may have grown to n)
// is asked.
//
// Outcomes: a consistent pair; problems (a fork, a bad signature, a log that shrank); or a
// SourceError when a location cannot be read or no proof can be obtained (exit code 2).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/problem_list.hpp"
#include "protocol/checkpoint.hpp"

namespace relay::audit {

struct ConsistencyOptions {
  std::vector<std::string> vkeys;    // trusted log keys (must parse; checked by the caller)
  std::optional<std::string> token;  // auditor token, for a node's proof route
};

struct ConsistencyReport {
  std::string old_location;
  std::string new_location;
  std::optional<protocol::Checkpoint> old_checkpoint;
  std::optional<protocol::Checkpoint> new_checkpoint;
  std::string proof_source;  // where the proof came from ("" if none was needed)
  std::size_t proof_length = 0;
  ProblemList problems;

  bool ok() const { return problems.empty(); }
};

ConsistencyReport check_consistency(std::string_view old_location, std::string_view new_location,
                                    const ConsistencyOptions& options);

}  // namespace relay::audit
