#pragma once
// `relay-audit inclusion DIR|URL --index I`: is entry I in the tree the node signed? Opens
// the signed checkpoint with the published key (or a pinned --vkey), takes entry I and an
// inclusion proof for it in the checkpoint's tree (from the node, or computed from the
// export's entries), and verifies the proof from SHA-256(0x00 || entry) to the signed root
// (protocol::verify_inclusion). The entry is also parsed strictly, its index field checked,
// and its signature checked when it was made by the published key (an entry from before a
// key rotation is signed by an earlier key: `verify` follows the key history).
#include <cstdint>
#include <optional>
#include <string>

#include "audit/log_source.hpp"
#include "audit/problem_list.hpp"
#include "protocol/checkpoint.hpp"
#include "protocol/ledger_entry.hpp"

namespace relay::audit {

struct InclusionReport {
  std::string source;
  std::uint64_t index = 0;
  std::optional<protocol::Checkpoint> checkpoint;
  std::optional<std::string> entry;  // the entry's exact bytes
  std::optional<protocol::LedgerEntry> parsed;
  std::optional<bool> signature_valid;  // unset when not checked (another key signed it)
  std::size_t proof_length = 0;
  ProblemList problems;

  bool ok() const { return problems.empty(); }
};

// Throws SourceError when the source cannot be read.
InclusionReport check_inclusion(LogSource& source, std::uint64_t index,
                                const std::optional<std::string>& pinned_vkey);

}  // namespace relay::audit
