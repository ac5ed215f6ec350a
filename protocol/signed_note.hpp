#pragma once
// C2SP signed notes (c2sp.org/signed-note) with two signature types:
//   0x01 Ed25519 note signatures (the log signing its checkpoints), and
//   0x04 tlog-cosignature/v1 timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature),
//        which peers acting as witnesses add to our checkpoints.
//
// A note is:   text                      (non-empty, ends in "\n")
//              "\n"                      (the blank line: the LAST "\n\n" of the note)
//              "— " name " " base64(key ID (4 bytes, big-endian) || signature) "\n"   1..100x
// where "—" is U+2014 EM DASH. The whole note is valid UTF-8 with no control character
// other than "\n". Key names are non-empty and contain no Unicode space and no "+".
//
//   key ID      = SHA-256(name || 0x0A || type || 32-byte public key)[:4]
//   vkey        = name "+" hex8(key ID) "+" base64(type || 32-byte public key)
//   0x01 sig    = Ed25519(note text)                                        (64 bytes)
//   0x04 sig    = timestamp (u64 big-endian) || Ed25519(cosignature_message)  (72 bytes)
//   cosignature_message = "cosignature/v1\ntime " decimal(timestamp) "\n" || note text
//
// Verification follows the spec: signatures from unknown keys (name and key ID not both
// matching a configured key) are ignored; a signature from a known key that fails to verify
// rejects the whole note; a note with no verified known signature is rejected.
//
// Thread safety: all functions are pure and may be called from any thread.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/keys.hpp"

namespace relay::protocol {

// Signature type identifier bytes (C2SP signed-note, "Signature types").
enum class NoteKeyType : std::uint8_t {
  ed25519 = 0x01,         // note signature over the text
  cosignature_v1 = 0x04,  // tlog-cosignature/v1 timestamped Ed25519 witness cosignature
};

// A configured public key that can verify note signatures.
struct NoteVerifierKey {
  std::string name;
  NoteKeyType type = NoteKeyType::ed25519;
  crypto::Ed25519PublicKey public_key;
  std::uint32_t key_id = 0;  // always note_key_id(name, type, public_key)
  bool operator==(const NoteVerifierKey&) const = default;
};

// Maximum signatures parse_note accepts (the spec asks for at least 16).
inline constexpr std::size_t kMaxNoteSignatures = 100;

// Non-empty, valid UTF-8, no Unicode White_Space character, no "+", no C0 control character.
bool is_valid_key_name(std::string_view name);

// Non-empty, ends in "\n", valid UTF-8, no control character (below U+0020) other than "\n".
bool is_valid_note_text(std::string_view text);

// SHA-256(name || "\n" || type || public_key)[:4] read as a big-endian uint32.
std::uint32_t note_key_id(std::string_view name, NoteKeyType type,
                          const crypto::Ed25519PublicKey& public_key);

// Builds a verifier key (computing its key ID); nullopt if the name is not a valid key name.
std::optional<NoteVerifierKey> make_verifier_key(std::string_view name, NoteKeyType type,
                                                 const crypto::Ed25519PublicKey& public_key);

// "name+hex8(key ID)+base64(type || public key)". Precondition: key came from
// make_verifier_key or parse_vkey.
std::string make_vkey(const NoteVerifierKey& key);

// Strict: refuses a bad name, a key ID that is not 8 lower-case hex digits, non-strict
// base64, a type other than 0x01/0x04, a public key that is not 32 bytes, and a key ID that
// does not match the name and key.
std::optional<NoteVerifierKey> parse_vkey(std::string_view vkey);

// One signature line. `signature` excludes the 4-byte key ID (so for a cosignature it is
// timestamp || Ed25519 signature).
struct NoteSignature {
  std::string name;
  std::uint32_t key_id = 0;
  crypto::Bytes signature;
  bool operator==(const NoteSignature&) const = default;
};

struct Note {
  std::string text;  // includes its final "\n", not the blank line
  std::vector<NoteSignature> signatures;
  bool operator==(const Note&) const = default;
};

enum class NoteError : std::uint8_t {
  malformed,            // not a well-formed signed note (or bad text/name when signing)
  too_many_signatures,  // more than kMaxNoteSignatures signature lines
  bad_signature,        // a known key's signature failed to verify
  no_known_signature,   // no signature from a known key
};

std::string_view to_string(NoteError error);

struct NoteParseResult {
  std::optional<Note> note;
  NoteError error = NoteError::malformed;  // meaningful only when !note
  std::string message;
  explicit operator bool() const { return note.has_value(); }
};

// Splits a note into text and signature lines without verifying anything. Strict: valid
// UTF-8, no control characters but "\n", a blank line before the signatures, at least one
// and at most kMaxNoteSignatures lines of exactly "— <valid name> <strict base64 of >= 5
// bytes>\n".
NoteParseResult parse_note(std::string_view note);

// "— " name " " base64(key ID || signature) "\n".
std::string format_signature_line(const NoteSignature& signature);

// text "\n" and one line per signature. Precondition: text is valid note text.
std::string format_note(const Note& note);

// An Ed25519 (type 0x01) signature of text; nullopt if text or name is invalid.
std::optional<NoteSignature> sign_note_text(std::string_view text, std::string_view name,
                                            const crypto::Ed25519SecretKey& secret_key,
                                            std::uint32_t key_id);

// The signed note text "\n" "— name base64(key ID || Ed25519(text))\n"; nullopt if text or
// name is invalid. key_id must be note_key_id(name, NoteKeyType::ed25519, public key).
std::optional<std::string> sign_note(std::string_view text, std::string_view name,
                                     const crypto::Ed25519SecretKey& secret_key,
                                     std::uint32_t key_id);

// "cosignature/v1\ntime <timestamp>\n" followed by the checkpoint text (the note text of the
// cosigned checkpoint, without blank line or signatures).
std::string cosignature_message(std::string_view checkpoint_text, std::uint64_t timestamp);

// A tlog-cosignature/v1 signature line value for checkpoint_text; nullopt if the text or name
// is invalid or timestamp > 2^63 - 1. key_id must be
// note_key_id(witness_name, NoteKeyType::cosignature_v1, public key). Append it to the signed
// checkpoint with format_signature_line.
std::optional<NoteSignature> cosign(std::string_view checkpoint_text, std::string_view witness_name,
                                    const crypto::Ed25519SecretKey& secret_key,
                                    std::uint32_t key_id, std::uint64_t timestamp);

// Checks one cosignature line against a type-0x04 witness key: name and key ID must match,
// the signature must be 72 bytes with a timestamp <= 2^63 - 1, and must verify. Returns the
// timestamp, or nullopt.
std::optional<std::uint64_t> verify_cosignature(std::string_view checkpoint_text,
                                                const NoteSignature& signature,
                                                const NoteVerifierKey& witness);

// A signature that verified, once per known key.
struct VerifiedSignature {
  std::string name;
  std::uint32_t key_id = 0;
  NoteKeyType type = NoteKeyType::ed25519;
  std::optional<std::uint64_t> timestamp;  // cosignatures only
};

struct NoteVerifyResult {
  std::optional<Note> note;  // set only when at least one known key verified and none failed
  std::vector<VerifiedSignature> verified;  // in the order the keys first signed
  NoteError error = NoteError::malformed;   // meaningful only when !note
  std::string message;
  explicit operator bool() const { return note.has_value(); }
};

// Parses and verifies a note against the known keys (type 0x01 and 0x04 alike).
NoteVerifyResult verify_note(std::string_view note, std::span<const NoteVerifierKey> known_keys);

}  // namespace relay::protocol
