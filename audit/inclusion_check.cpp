#include "audit/inclusion_check.hpp"

#include "audit/key_document.hpp"
#include "crypto/bytes.hpp"
#include "protocol/merkle.hpp"

namespace relay::audit {

InclusionReport check_inclusion(LogSource& source, std::uint64_t index,
                                const std::optional<std::string>& pinned_vkey) {
  InclusionReport report;
  report.source = source.name();
  report.index = index;
  const std::string key_where = source.is_export() ? "key.json" : "/audit/v1/key";
  const std::string where = "entry " + std::to_string(index);

  auto document = parse_key_document(source.key_document(), source.is_export());
  for (auto& p : document.problems) report.problems.add(key_where, std::move(p));
  std::optional<protocol::NoteVerifierKey> log_key;
  if (pinned_vkey) {
    log_key = protocol::parse_vkey(*pinned_vkey);
    if (!log_key)
      report.problems.add("--vkey", "not a valid note verifier key");
    else if (document.key && document.key->vkey_text != *pinned_vkey)
      report.problems.add(key_where, "vkey is not the pinned --vkey");
  } else if (document.key) {
    log_key = document.key->vkey;
  }
  if (!log_key) return report;

  auto opened = protocol::open_checkpoint(source.checkpoint_note(), log_key->name, *log_key);
  if (!opened) {
    report.problems.add("checkpoint", "signature invalid or malformed (" + opened.error + ")");
    return report;
  }
  report.checkpoint = opened.opened->checkpoint;
  const auto size = report.checkpoint->size;
  if (index >= size) {
    report.problems.add(where, "not in the signed tree of " + std::to_string(size) + " entries");
    return report;
  }

  report.entry = source.entry(index);
  if (!report.entry) {
    report.problems.add(where, "the log has no such entry");
    return report;
  }
  auto result = protocol::parse_entry(*report.entry);
  if (auto* parsed = std::get_if<protocol::LedgerEntry>(&result)) {
    report.parsed = std::move(*parsed);
    if (report.parsed->index != index)
      report.problems.add(where, "index field is " + std::to_string(report.parsed->index));
    if (report.parsed->key == log_key->public_key.fingerprint()) {
      report.signature_valid = protocol::verify_entry(*report.parsed, log_key->public_key);
      if (!*report.signature_valid) report.problems.add(where, "signature invalid");
    }
  } else {
    const auto& error = std::get<protocol::EntryError>(result);
    report.problems.add(where, error.code == "not_canonical"
                                   ? "not canonical JSON (" + error.message + ")"
                                   : "malformed entry (" + error.message + ")");
  }

  auto proof = source.inclusion_proof(index, size);
  if (!proof) {
    report.problems.add(where, source.name() + " gives no inclusion proof in the tree of " +
                                   std::to_string(size) + " entries");
    return report;
  }
  report.proof_length = proof->size();
  const auto leaf = protocol::leaf_hash(crypto::as_bytes(*report.entry));
  if (!protocol::verify_inclusion(index, size, leaf, *proof, report.checkpoint->root))
    report.problems.add(where, "inclusion proof does not lead to the checkpoint's root");
  return report;
}

}  // namespace relay::audit
