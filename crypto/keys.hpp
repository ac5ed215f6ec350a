#pragma once
// Typed keys over std::array, sizes checked against libsodium's constants in keys.cpp.
// Public keys are plain values; secret keys are Secret<N, Tag> (zeroed, move-only, unprintable),
// one tag per use, so that no secret converts into a key of another use.
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"
#include "crypto/secret.hpp"

namespace relay::crypto {

// One tag per use of a secret key (declared only; they name types, they hold nothing).
struct Ed25519SeedTag;
struct Ed25519SecretKeyTag;
struct X25519SecretKeyTag;
struct AeadKeyTag;
struct MacKeyTag;

struct Ed25519PublicKey {
  std::array<std::uint8_t, 32> bytes{};
  bool operator==(const Ed25519PublicKey&) const = default;
  // Lower-case hex of SHA-256(bytes): the fingerprint operators compare out of band.
  std::string fingerprint() const;
};
using Ed25519Seed = Secret<32, Ed25519SeedTag>;            // RFC 8032 private key
using Ed25519SecretKey = Secret<64, Ed25519SecretKeyTag>;  // libsodium form: seed || public key
using Ed25519Signature = std::array<std::uint8_t, 64>;

struct Ed25519KeyPair {
  Ed25519PublicKey public_key;
  Ed25519SecretKey secret_key;
  static Ed25519KeyPair generate();
  // Deterministic from an RFC 8032 seed (crypto_sign_seed_keypair).
  static Ed25519KeyPair from_seed(const Ed25519Seed& seed);
  Ed25519Seed seed() const;  // the first 32 bytes of secret_key
};

struct X25519PublicKey {
  std::array<std::uint8_t, 32> bytes{};
  bool operator==(const X25519PublicKey&) const = default;
};
using X25519SecretKey = Secret<32, X25519SecretKeyTag>;

struct X25519KeyPair {
  X25519PublicKey public_key;
  X25519SecretKey secret_key;
  static X25519KeyPair generate();
  static X25519KeyPair from_secret(const X25519SecretKey& secret);  // scalarmult_base
};

// 32-byte symmetric keys, distinct types so they cannot be swapped by accident.
using AeadKey = Secret<32, AeadKeyTag>;  // XChaCha20-Poly1305 / ChaCha20-Poly1305 key
using MacKey = Secret<32, MacKeyTag>;    // keyed BLAKE2b / HMAC key (pseudonyms, token hashes)

// A fresh secret of type S (a Secret<N, Tag>) from libsodium's CSPRNG.
template <class S>
S random_secret() {
  S secret;
  random_fill(secret.data(), S::size());
  return secret;
}

// Parses exactly N bytes out of a byte view; nullopt on a size mismatch.
std::optional<Ed25519PublicKey> ed25519_public_key_from(ByteView bytes);
std::optional<X25519PublicKey> x25519_public_key_from(ByteView bytes);
std::optional<Ed25519Signature> ed25519_signature_from(ByteView bytes);

}  // namespace relay::crypto
