#pragma once
// Encryption of candidate personal data at rest (crypto-shredding).
//
// Every candidate has its own random 32-byte key. Their data is sealed with it
// (XChaCha20-Poly1305, associated data "relaynode/candidate/<purpose>/<candidate id>"), and
// the key itself is stored wrapped by the node's data key (same AEAD, associated data
// "relaynode/candidate-key/<candidate id>"). Erasing a candidate deletes the wrapped key:
// every copy of their ciphertext, in the LMDB file, its free pages or any backup, is then
// unreadable. Nothing here touches storage.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "crypto/keys.hpp"

namespace relay::node::candidates {

crypto::AeadKey new_candidate_key();
// base64 of the wrapped key.
std::string wrap_key(const crypto::AeadKey& data_key, const crypto::AeadKey& candidate_key,
                     const std::string& candidate_id);
std::optional<crypto::AeadKey> unwrap_key(const crypto::AeadKey& data_key,
                                          const std::string& wrapped,
                                          const std::string& candidate_id);
// base64 of nonce || ciphertext || tag of the JSON's dump.
std::string seal_json(const crypto::AeadKey& key, const nlohmann::json& value,
                      const std::string& candidate_id, const std::string& purpose);
std::optional<nlohmann::json> open_json(const crypto::AeadKey& key, const std::string& sealed,
                                        const std::string& candidate_id,
                                        const std::string& purpose);

}  // namespace relay::node::candidates
