#include "audit/consistency_check.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "audit/key_document.hpp"
#include "audit/log_source.hpp"
#include "protocol/merkle.hpp"
#include "protocol/signed_note.hpp"

namespace relay::audit {

namespace {

// One side of the comparison: a checkpoint and, for an export or a node, the log behind it.
struct Side {
  std::string label;  // "old" or "new"
  std::string note;
  std::unique_ptr<LogSource> source;  // null for a bare checkpoint file
};

Side load(std::string label, std::string_view location, const std::optional<std::string>& token) {
  Side side{std::move(label), {}, nullptr};
  std::error_code ec;
  if (is_url(location) || std::filesystem::is_directory(location, ec)) {
    side.source = open_log_source(location, token);
    side.note = side.source->checkpoint_note();
    return side;
  }
  std::ifstream in{std::filesystem::path(location), std::ios::binary};
  if (!in) throw SourceError("cannot read " + std::string(location));
  std::ostringstream text;
  text << in.rdbuf();
  side.note = text.str();
  return side;
}

void add_key(std::vector<protocol::NoteVerifierKey>& keys, const protocol::NoteVerifierKey& key) {
  if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
}

// The key an export or node publishes, added to the trusted keys.
void add_published_key(Side& side, std::vector<protocol::NoteVerifierKey>& keys,
                       ProblemList& problems) {
  if (!side.source) return;
  auto document = parse_key_document(side.source->key_document(), side.source->is_export());
  for (auto& p : document.problems) problems.add(side.label + " key document", std::move(p));
  if (document.key) add_key(keys, document.key->vkey);
}

std::optional<protocol::Checkpoint> open(const Side& side,
                                         const std::vector<protocol::NoteVerifierKey>& keys,
                                         ProblemList& problems) {
  const auto where = side.label + " checkpoint";
  auto verified = protocol::verify_note(side.note, keys);
  if (!verified) {
    problems.add(where, verified.error == protocol::NoteError::malformed
                            ? "not a signed note (" + verified.message + ")"
                            : "signature invalid (" +
                                  std::string(protocol::to_string(verified.error)) + ")");
    return std::nullopt;
  }
  auto parsed = protocol::parse_checkpoint(verified.note->text);
  if (!parsed) {
    problems.add(where, "not a checkpoint (" + parsed.error + ")");
    return std::nullopt;
  }
  const auto& origin = parsed.checkpoint->origin;
  bool by_log = std::any_of(verified.verified.begin(), verified.verified.end(), [&](const auto& v) {
    return v.type == protocol::NoteKeyType::ed25519 && v.name == origin;
  });
  if (!by_log) {
    problems.add(where, "signature invalid (no signature by a key of origin \"" + origin + "\")");
    return std::nullopt;
  }
  return std::move(parsed.checkpoint);
}

}  // namespace

ConsistencyReport check_consistency(std::string_view old_location, std::string_view new_location,
                                    const ConsistencyOptions& options) {
  ConsistencyReport report;
  report.old_location = old_location;
  report.new_location = new_location;
  Side old_side = load("old", old_location, options.token);
  Side new_side = load("new", new_location, options.token);

  std::vector<protocol::NoteVerifierKey> keys;
  for (const auto& text : options.vkeys) {
    auto key = protocol::parse_vkey(text);
    if (!key) throw SourceError("--vkey " + text + ": not a valid note verifier key");
    add_key(keys, *key);
  }
  add_published_key(old_side, keys, report.problems);
  add_published_key(new_side, keys, report.problems);
  if (keys.empty())
    throw SourceError("no key to verify the checkpoints: give --vkey, or an export or URL");

  report.old_checkpoint = open(old_side, keys, report.problems);
  report.new_checkpoint = open(new_side, keys, report.problems);
  if (!report.old_checkpoint || !report.new_checkpoint) return report;
  const auto& old_cp = *report.old_checkpoint;
  const auto& new_cp = *report.new_checkpoint;
  if (old_cp.origin != new_cp.origin) {
    report.problems.add("checkpoints", "different logs: origin \"" + old_cp.origin + "\" and \"" +
                                           new_cp.origin + "\"");
    return report;
  }
  const std::uint64_t m = old_cp.size;
  const std::uint64_t n = new_cp.size;
  if (m > n) {
    report.problems.add("checkpoints", "the old tree (" + std::to_string(m) +
                                           " entries) is larger than the new one (" +
                                           std::to_string(n) +
                                           "): the log shrank, or OLD and NEW are swapped");
    return report;
  }
  if (m == 0) return report;  // an empty tree is a prefix of every tree
  if (m == n) {
    if (old_cp.root != new_cp.root)
      report.problems.add("checkpoints", "fork: both trees have " + std::to_string(n) +
                                             " entries but different roots");
    return report;
  }

  // The proof must come from a log that has at least n entries.
  LogSource* prover = new_side.source ? new_side.source.get() : nullptr;
  if (!prover && old_side.source && !old_side.source->is_export()) prover = old_side.source.get();
  if (!prover)
    throw SourceError(
        "cannot obtain a consistency proof: NEW is a bare checkpoint; give NEW "
        "as an export directory or a node URL");
  report.proof_source = prover->name();
  auto proof = prover->consistency_proof(m, n);
  if (!proof) {
    report.problems.add("checkpoints", report.proof_source + " cannot prove consistency from " +
                                           std::to_string(m) + " to " + std::to_string(n) +
                                           " entries");
    return report;
  }
  report.proof_length = proof->size();
  if (!protocol::verify_consistency(m, n, *proof, old_cp.root, new_cp.root))
    report.problems.add("checkpoints", "not consistent: the tree of " + std::to_string(n) +
                                           " entries does not extend the tree of " +
                                           std::to_string(m) + " (fork)");
  return report;
}

}  // namespace relay::audit
