#pragma once
// X25519 public-key encryption.
//   seal/seal_open: libsodium sealed box (crypto_box_seal: ephemeral X25519 +
//     XSalsa20-Poly1305; anonymous sender). Overhead crypto_box_SEALBYTES (48).
//   x25519: raw scalar multiplication (RFC 7748), nullopt when the result is all zero
//     (a low-order peer point), as libsodium refuses it.
#include <optional>

#include "crypto/bytes.hpp"
#include "crypto/keys.hpp"

namespace relay::crypto {

Bytes seal(const X25519PublicKey& recipient, ByteView plaintext);
std::optional<Bytes> seal_open(const X25519KeyPair& recipient, ByteView ciphertext);

std::optional<std::array<std::uint8_t, 32>> x25519(const X25519SecretKey& scalar,
                                                   const X25519PublicKey& point);

}  // namespace relay::crypto
