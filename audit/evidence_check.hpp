#pragma once
// Re-checking a handoff's evidence offline: the plaintext the sending node signed inside a
// sealed body (protocol/envelope.hpp), which the receiving node keeps sealed and its operator
// writes out with `relay-node evidence`. An auditor holding the file and the sender's signing
// key (from its identity document or key history) learns whether the sender really sent it.
//
// The evidence holds personal data: the report names who signed it for whom and the message
// id, never the payload.
//
// Threads: pure functions; any thread.
#include <optional>
#include <string>
#include <string_view>

#include "crypto/keys.hpp"

namespace relay::audit {

struct EvidenceReport {
  std::string problem;  // empty: verified
  std::string from;     // the signing node, as the evidence names it
  std::string to;       // the receiving node
  std::string id;       // the message id the sealed body travelled in

  bool ok() const { return problem.empty(); }
};

// Checks the evidence's form (canonical JSON of exactly {from, id, payload, sig, to}) and
// the signer's Ed25519 signature over it without "sig" (protocol::verify_evidence).
EvidenceReport check_evidence(std::string_view evidence, const crypto::Ed25519PublicKey& signer);
// "VERIFIED: ..." or "FAILED: <the problem>", one line.
std::string to_text(const EvidenceReport& report);

// A base64 Ed25519 public key (32 bytes); nullopt if it is not one.
std::optional<crypto::Ed25519PublicKey> parse_signer_key(std::string_view base64);

}  // namespace relay::audit
