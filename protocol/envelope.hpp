#pragma once
// The one signed envelope every inter-node message travels in, and sealed bodies for
// messages that carry personal data.
//
// Envelope bytes = canonical JSON of
//   {"body":{...},"from":"<sender node>","id":"<message id>","key":"<fingerprint>",
//    "re":"<id answered, or empty>","sig":"<base64 Ed25519>","to":"<recipient node>",
//    "ts":<unix ms>,"type":"<message type>","v":1}
// where sig signs the canonical JSON of the same object without "sig", by the sender key
// whose fingerprint (hex SHA-256 of the public key) is "key". The receiver checks the
// signature, that "to" is itself and "from" a configured peer, the timestamp window, and
// that the id is new for that sender (or the same bytes again: a retry).
//
// A sealed body is {"sealed":"<base64>"}: a libsodium sealed box to the recipient's X25519
// key of the canonical JSON of
//   {"from":..., "id":..., "payload":{...}, "sig":"<base64>", "to":...}
// whose sig is the sender's Ed25519 signature over the same object without "sig". So the
// payload is confidential on the wire, and the receiver can later prove to an auditor what
// the sender sent it (the signed plaintext is kept as evidence).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "crypto/keys.hpp"

namespace relay::protocol {

inline constexpr int kEnvelopeVersion = 1;

struct Envelope {
  std::string type;
  std::string id;
  std::string re;  // the id this message answers; empty for a request
  std::string from;
  std::string to;
  std::int64_t ts_ms = 0;
  nlohmann::json body;  // an object
  std::string key;      // fingerprint of the signing key
  crypto::Ed25519Signature sig{};
};

struct EnvelopeError {
  std::string code;     // "not_canonical", "bad_field", ...
  std::string message;  // names the field
};

// Builds and signs an envelope; returns its canonical bytes.
std::string encode_envelope(const Envelope& unsigned_envelope, const crypto::Ed25519KeyPair& key);
// Strict parse (canonical bytes, exact field set, types); does not check the signature.
std::variant<Envelope, EnvelopeError> parse_envelope(std::string_view bytes);
// True if sig is valid over the envelope's signed bytes and key matches public_key.
bool verify_envelope(const Envelope& envelope, const crypto::Ed25519PublicKey& public_key);

// Seals payload from `from` to `to` for message `id` (see above).
nlohmann::json seal_body(const nlohmann::json& payload, std::string_view from, std::string_view to,
                         std::string_view id, const crypto::Ed25519KeyPair& sender,
                         const crypto::X25519PublicKey& recipient);

struct OpenedBody {
  nlohmann::json payload;
  std::string evidence;  // the signed plaintext (canonical JSON), kept for auditors
};
// Opens and checks a sealed body: decrypts, parses strictly, checks from/to/id match the
// envelope and the sender's signature. nullopt on any failure.
std::optional<OpenedBody> open_body(const nlohmann::json& body, std::string_view from,
                                    std::string_view to, std::string_view id,
                                    const crypto::X25519KeyPair& recipient,
                                    const crypto::Ed25519PublicKey& sender);
// Re-checks kept evidence: the sender's signature over the plaintext.
bool verify_evidence(std::string_view evidence, const crypto::Ed25519PublicKey& sender);

// A node's self-signed identity document (served at /federation/v1/identity):
//   {"encryption_key":b64,"issued_ms":N,"node":name,"region":"JP-xx","rotation":{...}|null,
//    "sig":b64,"signing_key":b64,"url":"http://...","v":1}
// sig by signing_key. After a rotation, "rotation" is {"previous_key":b64,"signature":b64}
// where signature is the PREVIOUS key's signature over rotation_statement(), so a peer that
// pinned the old key can follow the chain to the new one.
struct IdentityDocument {
  std::string node;
  std::string region;
  std::string url;
  crypto::Ed25519PublicKey signing_key;
  crypto::X25519PublicKey encryption_key;
  std::int64_t issued_ms = 0;
  std::optional<crypto::Ed25519PublicKey> previous_key;
  std::optional<crypto::Ed25519Signature> rotation_signature;
};
std::string rotation_statement(std::string_view node, const crypto::Ed25519PublicKey& old_key,
                               const crypto::Ed25519PublicKey& new_key,
                               const crypto::X25519PublicKey& new_encryption_key);
std::string encode_identity(const IdentityDocument& doc, const crypto::Ed25519KeyPair& key);
// Parses strictly and checks the self-signature (and the rotation signature, if present).
std::optional<IdentityDocument> parse_identity(std::string_view bytes);

}  // namespace relay::protocol
