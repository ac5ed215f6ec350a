#include "node/candidates/vault.hpp"

#include "crypto/aead.hpp"
#include "crypto/bytes.hpp"
#include "crypto/secret.hpp"
#include "protocol/canonical_json.hpp"
#include "protocol/canonical_scan.hpp"

namespace relay::node::candidates {

crypto::AeadKey new_candidate_key() {
  return crypto::random_secret<crypto::AeadKey>();
}

std::string wrap_key(const crypto::AeadKey& data_key, const crypto::AeadKey& candidate_key,
                     const std::string& candidate_id) {
  auto ad = "relaynode/candidate-key/" + candidate_id;
  return crypto::to_base64(
      crypto::aead_encrypt(data_key, crypto::ByteView(candidate_key.data(), candidate_key.size()),
                           crypto::as_bytes(ad)));
}

std::optional<crypto::AeadKey> unwrap_key(const crypto::AeadKey& data_key,
                                          const std::string& wrapped,
                                          const std::string& candidate_id) {
  auto bytes = crypto::from_base64_public(wrapped);  // a ciphertext: no secret
  if (!bytes) return std::nullopt;
  auto ad = "relaynode/candidate-key/" + candidate_id;
  auto plain = crypto::aead_decrypt(data_key, *bytes, crypto::as_bytes(ad));
  if (!plain || plain->size() != 32) return std::nullopt;
  crypto::AeadKey key(std::span<const std::uint8_t, 32>(plain->data(), 32));
  crypto::secure_zero(plain->data(), plain->size());
  return key;
}

crypto::Bytes seal_bytes(const crypto::AeadKey& key, crypto::ByteView plain,
                         const std::string& candidate_id, const std::string& purpose) {
  auto ad = "relaynode/candidate/" + purpose + "/" + candidate_id;
  return crypto::aead_encrypt(key, plain, crypto::as_bytes(ad));
}

std::optional<crypto::Bytes> open_bytes(const crypto::AeadKey& key, crypto::ByteView sealed,
                                        const std::string& candidate_id,
                                        const std::string& purpose) {
  auto ad = "relaynode/candidate/" + purpose + "/" + candidate_id;
  return crypto::aead_decrypt(key, sealed, crypto::as_bytes(ad));
}

std::string seal_text(const crypto::AeadKey& key, std::string text, const std::string& candidate_id,
                      const std::string& purpose) {
  auto sealed = seal_bytes(key, crypto::as_bytes(text), candidate_id, purpose);
  crypto::secure_zero(text.data(), text.size());
  return crypto::to_base64_public(sealed);  // a ciphertext: no secret
}

std::string seal_json(const crypto::AeadKey& key, const nlohmann::json& value,
                      const std::string& candidate_id, const std::string& purpose) {
  return seal_text(key, protocol::compact_dump(value), candidate_id, purpose);
}

std::optional<nlohmann::json> open_json(const crypto::AeadKey& key, const std::string& sealed,
                                        const std::string& candidate_id,
                                        const std::string& purpose) {
  // A ciphertext, and the node's own canonical text inside: the public decoder and the
  // canonical scan, about a third of what base64 in constant time and nlohmann's parser cost
  // (every record opened: a confirmation, a management page, an export; issue 19).
  auto bytes = crypto::from_base64_public(sealed);
  if (!bytes) return std::nullopt;
  auto plain = open_bytes(key, *bytes, candidate_id, purpose);
  if (!plain) return std::nullopt;
  std::optional<nlohmann::json> value;
  try {
    value = protocol::parse_json(
        std::string_view(reinterpret_cast<const char*>(plain->data()), plain->size()));
  } catch (const nlohmann::json::exception&) {
    // Authentic but not JSON: value stays empty, unreadable like a wrong key.
  }
  crypto::secure_zero(plain->data(), plain->size());
  return value;
}

}  // namespace relay::node::candidates
