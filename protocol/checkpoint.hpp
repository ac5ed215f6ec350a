#pragma once
// C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the signed statement of a log's tree head.
// The note text is
//   <origin>\n                 non-empty; the log's identity
//   <size>\n                   ASCII decimal, no leading zeros ("0" for the empty tree)
//   <base64(root hash)>\n      standard base64 of the 32-byte RFC 6962 root
//   <extension line>\n ...     optional, each non-empty (not recommended, not auditable)
// signed as a signed note (protocol/signed_note.hpp) by the log's Ed25519 key and cosigned by
// witnesses with tlog-cosignature/v1.
//
// Thread safety: all functions are pure and may be called from any thread.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/keys.hpp"
#include "protocol/merkle.hpp"
#include "protocol/signed_note.hpp"

namespace relay::protocol {

struct Checkpoint {
  std::string origin;
  std::uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;
  bool operator==(const Checkpoint&) const = default;
};

// The note text. A checkpoint that cannot be written (empty origin, an empty extension line,
// a newline or other control character in origin or extensions, invalid UTF-8) is a
// programmer error: throws std::invalid_argument.
std::string format_checkpoint(const Checkpoint& checkpoint);

struct CheckpointParseResult {
  std::optional<Checkpoint> checkpoint;
  std::string error;  // meaningful only when !checkpoint
  explicit operator bool() const { return checkpoint.has_value(); }
};

// Parses checkpoint note text (no blank line, no signatures). Strict: valid note text, at
// least three lines, non-empty origin, size in canonical decimal that fits in uint64, root in
// strict base64 of exactly 32 bytes, every extension line non-empty.
CheckpointParseResult parse_checkpoint(std::string_view text);

// format_checkpoint + sign_note: the signed checkpoint note. nullopt if name is not a valid
// key name. key_id must be note_key_id(name, NoteKeyType::ed25519, public key).
std::optional<std::string> sign_checkpoint(const Checkpoint& checkpoint, std::string_view name,
                                           const crypto::Ed25519SecretKey& secret_key,
                                           std::uint32_t key_id);

struct OpenedCheckpoint {
  Checkpoint checkpoint;
  Note note;                                // the parsed note, every signature line included
  std::vector<VerifiedSignature> verified;  // the log key first, then verified witnesses
};

struct CheckpointOpenResult {
  std::optional<OpenedCheckpoint> opened;
  std::string error;  // meaningful only when !opened
  explicit operator bool() const { return opened.has_value(); }
};

// Verifies a signed checkpoint: the note must carry a valid signature by log_key (type 0x01)
// and no failing signature by log_key or any witness; its text must be a checkpoint whose
// origin equals expected_origin. Witness cosignatures that verify are reported; unknown
// signatures are ignored. Counting witnesses against a quorum is the caller's policy.
CheckpointOpenResult open_checkpoint(std::string_view note, std::string_view expected_origin,
                                     const NoteVerifierKey& log_key,
                                     std::span<const NoteVerifierKey> witnesses = {});

}  // namespace relay::protocol
