#pragma once
// The node's key material, kept in <data_dir>/keys/ as raw 0600 files:
//   signing.key     Ed25519 seed: signs ledger entries, checkpoints, envelopes
//   encryption.key  X25519 secret: opens handoff bodies sealed to this node
//   data.key        XChaCha20-Poly1305 key: wraps every per-candidate key
//   pseudonym.key   keyed-BLAKE2b key: candidate pseudonyms (normalised email -> id)
//   token.key       keyed-BLAKE2b key: digests of API keys and capability tokens
//   retired/encryption-<fp16>.key  X25519 secrets of earlier rotations: bodies sealed to an
//                   old key may still be in flight, so they are opened with these too
// Every secret is a crypto::Secret (zeroed on destruction, never printable).
#include <filesystem>
#include <vector>

#include "crypto/keys.hpp"

namespace relay::node::identity {

struct NodeKeys {
  crypto::Ed25519KeyPair signing;
  crypto::X25519KeyPair encryption;
  crypto::AeadKey data_key;
  crypto::MacKey pseudonym_key;
  crypto::MacKey token_key;
  // Encryption keys replaced by rotations, oldest first. Part of the same immutable snapshot
  // as the current keys (KeyRing), so a rotation publishes current and retired keys at once
  // and a reader never sees one without the other.
  std::vector<crypto::X25519KeyPair> retired_encryption;

  static NodeKeys generate();
  // Writes every key file under dir (created 0700). Throws std::system_error.
  void save(const std::filesystem::path& dir) const;
  // Reads every key file; throws std::runtime_error naming the file that is wrong.
  // Also reads dir/retired/encryption-*.key into retired_encryption.
  static NodeKeys load(const std::filesystem::path& dir);
  // The keys after a rotation: new signing and encryption keys, the same data, pseudonym and
  // token keys, and this snapshot's encryption key appended to the retired ones.
  NodeKeys rotated(crypto::Ed25519KeyPair signing_key, crypto::X25519KeyPair encryption_key) const;
};

// If a rotation left new key files staged in keys_dir/next, moves them into place (the
// rotation committed, or the node crashed after committing it). Call before load().
void complete_staged_rotation(const std::filesystem::path& keys_dir);

// Hex keyed digest of a capability token or API key: what the database stores in its place.
std::string token_digest(const crypto::MacKey& key, std::string_view token);

}  // namespace relay::node::identity
