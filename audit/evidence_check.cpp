#include "audit/evidence_check.hpp"

#include "crypto/bytes.hpp"
#include "protocol/canonical_json.hpp"
#include "protocol/envelope.hpp"

namespace relay::audit {

namespace {

std::string text_field(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

}  // namespace

EvidenceReport check_evidence(std::string_view evidence, const crypto::Ed25519PublicKey& signer) {
  EvidenceReport report;
  auto parsed = protocol::parse_canonical(evidence);
  if (!parsed) {
    report.problem = "not canonical JSON (" + parsed.error.message + "): the file was changed";
    return report;
  }
  const auto& j = *parsed.value;
  bool shape = j.is_object() && j.size() == 5;
  for (const char* field : {"from", "id", "sig", "to"})
    shape = shape && j.contains(field) && j[field].is_string();
  shape = shape && j.contains("payload") && j["payload"].is_object();
  if (!shape) {
    report.problem = "not handoff evidence: expected exactly from, id, payload, sig and to";
    return report;
  }
  report.from = text_field(j, "from");
  report.to = text_field(j, "to");
  report.id = text_field(j, "id");
  auto sig = crypto::from_base64(j["sig"].get<std::string>());
  if (!sig || !crypto::ed25519_signature_from(*sig)) {
    report.problem = "sig: not a base64 Ed25519 signature";
    return report;
  }
  if (!protocol::verify_evidence(evidence, signer))
    report.problem = "the signature does not verify with the signer key " +
                     crypto::to_base64(signer.bytes) + " (another key, or the file was changed)";
  return report;
}

std::string to_text(const EvidenceReport& report) {
  if (!report.ok()) return "FAILED: " + report.problem + "\n";
  return "VERIFIED: evidence signed by " + report.from + " for " + report.to + " (message " +
         report.id + ")\n";
}

std::optional<crypto::Ed25519PublicKey> parse_signer_key(std::string_view base64) {
  auto bytes = crypto::from_base64(base64);
  if (!bytes) return std::nullopt;
  return crypto::ed25519_public_key_from(*bytes);
}

}  // namespace relay::audit
