#pragma once
// A ledger entry: one signed event, the unit hashed into the node's Merkle tree.
//
// Bytes of an entry = canonical JSON (see canonical_json.hpp) of the object
//   {"data":{...},"index":N,"key":"<fingerprint>","kind":"<event kind>",
//    "node":"<origin>","sig":"<base64 Ed25519 signature>","time":<unix ms>,"v":2}
// where sig signs the canonical JSON of the same object without "sig", and key is the
// fingerprint (hex SHA-256) of the Ed25519 public key that signed it. The Merkle leaf is
// SHA-256(0x00 || entry bytes). "index" is the entry's position, so a reordered or
// truncated log is named at the first entry out of place. "data" never holds personal
// data: candidates appear only as keyed pseudonyms (see event.hpp).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "crypto/keys.hpp"

namespace relay::protocol {

// The version new entries carry. Version 2 (issue 17): a referral counts only through
// referral_held -> referral_counted after its holding period (a counted referral_verified is
// refused), and candidates appear under pseudonyms scoped to a member, a peer or an erasure
// (event.hpp), so no two members' entries link one person. Entries of version 1 keep
// verifying under their rules; a log's versions never go down.
inline constexpr int kLedgerEntryVersion = 2;
inline constexpr int kOldestLedgerEntryVersion = 1;

struct LedgerEntry {
  int version = kLedgerEntryVersion;  // "v": 1 or 2
  std::uint64_t index = 0;
  std::int64_t time_ms = 0;
  std::string node;     // the node's checkpoint origin
  std::string kind;     // event kind, see event.hpp
  nlohmann::json data;  // event fields (an object)
  std::string key;      // fingerprint of the signing key
  crypto::Ed25519Signature sig{};
};

struct EntryError {
  std::string code;     // "not_canonical", "bad_field", "bad_signature_encoding", ...
  std::string message;  // names the field
};

// Signs and encodes an entry; returns its canonical bytes. data must be an object. version:
// what "v" says (a node writes kLedgerEntryVersion; tests write older logs too).
std::string encode_entry(std::uint64_t index, std::int64_t time_ms, std::string_view node,
                         std::string_view kind, const nlohmann::json& data,
                         const crypto::Ed25519KeyPair& key, int version = kLedgerEntryVersion);

// Parses entry bytes strictly: canonical form, every field present with the right type, no
// extra fields. Does not check the signature (that needs the key history).
std::variant<LedgerEntry, EntryError> parse_entry(std::string_view bytes);

// The bytes the signature covers.
std::string signed_bytes(const LedgerEntry& entry);

// signed_bytes(entry) for an entry parse_entry accepted from `bytes`, cut from those bytes
// instead of serialising the entry again (the auditor's hot path). Canonical bytes put "sig"
// after "node" and before "time", so the signed bytes are `bytes` without `,"sig":"<base64>"`;
// the last `,"sig":"` is that member (only base64, "time" and "v" follow it). `bytes` must be
// accepted by parse_entry (checked with an assertion only).
std::string signed_bytes_of(std::string_view bytes);

// True if entry.sig is a valid signature by public_key over signed_bytes(entry) and
// entry.key is public_key's fingerprint.
bool verify_entry(const LedgerEntry& entry, const crypto::Ed25519PublicKey& public_key);

}  // namespace relay::protocol
