#pragma once
// Authenticated encryption with associated data.
//   encrypt: XChaCha20-Poly1305-IETF with a fresh random 24-byte nonce; output is
//     nonce(24) || ciphertext || tag(16). decrypt reverses it; nullopt on any failure.
//   The *_with_nonce forms exist for known-answer tests (Wycheproof) and take the nonce
//   explicitly; output is ciphertext || tag.
#include <optional>

#include "crypto/bytes.hpp"
#include "crypto/keys.hpp"

namespace relay::crypto {

Bytes aead_encrypt(const AeadKey& key, ByteView plaintext, ByteView associated_data);
std::optional<Bytes> aead_decrypt(const AeadKey& key, ByteView sealed, ByteView associated_data);

Bytes xchacha20poly1305_encrypt(ByteView key, ByteView nonce, ByteView plaintext, ByteView ad);
std::optional<Bytes> xchacha20poly1305_decrypt(ByteView key, ByteView nonce, ByteView ct_and_tag,
                                               ByteView ad);
Bytes chacha20poly1305_encrypt(ByteView key, ByteView nonce, ByteView plaintext, ByteView ad);
std::optional<Bytes> chacha20poly1305_decrypt(ByteView key, ByteView nonce, ByteView ct_and_tag,
                                              ByteView ad);

}  // namespace relay::crypto
