#pragma once
// The node's published key: key.json in an export, /audit/v1/key on a live node:
//   {"fingerprint":"<hex SHA-256 of the key>","origin":"<checkpoint origin>",
//    "public_key":"<base64 Ed25519 key>","vkey":"<C2SP note verifier key>"}
// The four fields say the same thing four ways; parse_key_document checks that they agree
// (vkey is a type 0x01 key named origin over public_key, fingerprint is its hex SHA-256), so
// no single altered byte goes unnoticed. Whether this key is the one the log's own history
// says is in force is the verifier's check (log_verifier.hpp).
//
// Thread safety: pure functions.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/keys.hpp"
#include "protocol/signed_note.hpp"

namespace relay::audit {

struct KeyDocument {
  std::string origin;
  std::string vkey_text;
  protocol::NoteVerifierKey vkey;
  crypto::Ed25519PublicKey public_key;
  std::string fingerprint;
};

struct KeyDocumentResult {
  std::optional<KeyDocument> key;     // set when the document is whole and self-consistent
  std::vector<std::string> problems;  // otherwise, each thing wrong
};

// exact_file: the text must be canonical JSON followed by exactly one "\n" (an export's
// key.json); otherwise any strict JSON object (an HTTP answer).
KeyDocumentResult parse_key_document(std::string_view text, bool exact_file);

// The canonical key document text for a key, with its trailing "\n". nullopt if origin is not
// a valid note key name.
std::optional<std::string> format_key_document(std::string_view origin,
                                               const crypto::Ed25519PublicKey& public_key);

}  // namespace relay::audit
