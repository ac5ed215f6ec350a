#pragma once
// Encryption of candidate personal data at rest (crypto-shredding).
//
// Every candidate has its own random 32-byte key. Their data is sealed with it
// (XChaCha20-Poly1305, associated data "relaynode/candidate/<purpose>/<owner>", the owner being
// the candidate id, or "pool/<peer>/<ref>" for a received profile, "outbox/<hex key>" for an
// outbox body). The key lives in a key slot outside LMDB (key_slots.hpp), never next to the
// data: erasure overwrites the slot with zeros before it is acknowledged, so every copy of the
// ciphertext, in data.mdb's free pages or in the unused tail of a live page, is unreadable with
// anything left in the data directory. (A key kept in the record, wrapped by keys/data.key,
// would not be: LMDB keeps old copies of the record, and data.key opens them. wrap_key and
// unwrap_key remain only to migrate records written that way: Store::migrate.)
// A backup holds the slots as they were when it was taken; restore applies the erasures
// journaled since (key_slots.hpp, docs/operations.md). Nothing here touches storage.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "crypto/bytes.hpp"
#include "crypto/keys.hpp"

namespace relay::node::candidates {

crypto::AeadKey new_candidate_key();
// base64 of the wrapped key.
std::string wrap_key(const crypto::AeadKey& data_key, const crypto::AeadKey& candidate_key,
                     const std::string& candidate_id);
std::optional<crypto::AeadKey> unwrap_key(const crypto::AeadKey& data_key,
                                          const std::string& wrapped,
                                          const std::string& candidate_id);
// base64 of nonce || ciphertext || tag of the text; the text is wiped (it is personal data).
std::string seal_text(const crypto::AeadKey& key, std::string text, const std::string& candidate_id,
                      const std::string& purpose);
// seal_text of the JSON's dump.
std::string seal_json(const crypto::AeadKey& key, const nlohmann::json& value,
                      const std::string& candidate_id, const std::string& purpose);
std::optional<nlohmann::json> open_json(const crypto::AeadKey& key, const std::string& sealed,
                                        const std::string& candidate_id,
                                        const std::string& purpose);
// Sealed bytes of any plaintext, and the plaintext back (nullopt: it does not open). The caller
// wipes what it passes and what it gets (crypto::secure_zero): it is personal data.
crypto::Bytes seal_bytes(const crypto::AeadKey& key, crypto::ByteView plain,
                         const std::string& candidate_id, const std::string& purpose);
std::optional<crypto::Bytes> open_bytes(const crypto::AeadKey& key, crypto::ByteView sealed,
                                        const std::string& candidate_id,
                                        const std::string& purpose);

}  // namespace relay::node::candidates
