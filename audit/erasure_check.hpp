#pragma once
// `relay-audit erasures HOLDER RECIPIENT...`: did a candidate's erasure reach every node
// their data was handed to (node/federation/erasure.hpp)? From the holding node's log, every
// erasure_requested {candidate, peer, handoff} must have
//   - an erasure_receipt {handoff, peer} in the holder's own log (the recipient's signed
//     answer reached the holder), and
//   - in the log of the recipient whose origin is `peer`, an erasure_completed {handoff,
//     peer: the holder's origin}, or handoff_expired for it (the data had expired before).
//     A request with reason "withdrawn" (the candidate withdrew consent) may instead be
//     answered by erasure_kept {handoff, peer, reason: "hired"}, which counts only after a
//     hire_reported {handoff, peer} in the same log; an erasure_kept without it is a problem.
// Every source is first verified in full (log_verifier.hpp); a source that does not verify
// is a problem, and its events are not used. Requests whose recipient's log is not given
// count as missing their completion.
//
// Thread safety: a plain function; the report is a plain value.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audit/log_source.hpp"
#include "audit/problem_list.hpp"

namespace relay::audit {

struct ErasureRequest {
  std::uint64_t entry = 0;  // its index in the holder's log
  std::string candidate;    // pseudonym
  std::string peer;         // the recipient node
  std::string handoff;
  std::string reason;  // "" (erasure) or "withdrawn"
};

struct MissingErasure {
  ErasureRequest request;
  bool receipt_missing = false;     // no erasure_receipt in the holder's log
  bool completion_missing = false;  // no erasure_completed / handoff_expired (or, on withdrawal,
                                    // erasure_kept for a hire) at the recipient
  bool recipient_log_given = true;  // false: no export of the recipient was given

  // "entry 12: erasure_requested handoff h_x to n.example: ..."
  std::string text() const;
};

struct ErasureReport {
  std::string holder;                   // holder's origin
  std::vector<std::string> sources;     // every source read, holder first
  std::vector<std::string> recipients;  // the recipients' origins, as given
  std::uint64_t requests = 0;
  std::uint64_t receipts = 0;
  std::vector<MissingErasure> missing;
  ProblemList problems;  // sources that do not verify, or are not usable

  bool ok() const { return problems.empty() && missing.empty(); }
};

struct ErasureCheckOptions {
  unsigned threads = 0;  // for verify_log; 0: one per hardware thread
};

// Throws SourceError when a source cannot be read at all (exit code 2).
ErasureReport check_erasures(LogSource& holder, const std::vector<LogSource*>& recipients,
                             const ErasureCheckOptions& options = {});

nlohmann::json to_json(const ErasureReport& report);
std::string to_text(const ErasureReport& report);

}  // namespace relay::audit
