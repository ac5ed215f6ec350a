#include "crypto/keys.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

#include "crypto/hash.hpp"
#include "crypto/random.hpp"

namespace relay::crypto {

static_assert(sizeof(Ed25519PublicKey::bytes) == crypto_sign_PUBLICKEYBYTES);
static_assert(Ed25519SecretKey::size() == crypto_sign_SECRETKEYBYTES);
static_assert(Ed25519Seed::size() == crypto_sign_SEEDBYTES);
static_assert(std::tuple_size_v<Ed25519Signature> == crypto_sign_BYTES);
static_assert(sizeof(X25519PublicKey::bytes) == crypto_box_PUBLICKEYBYTES);
static_assert(sizeof(X25519PublicKey::bytes) == crypto_scalarmult_BYTES);
static_assert(X25519SecretKey::size() == crypto_box_SECRETKEYBYTES);
static_assert(X25519SecretKey::size() == crypto_scalarmult_SCALARBYTES);
static_assert(AeadKey::size() == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(AeadKey::size() == crypto_aead_chacha20poly1305_ietf_KEYBYTES);
static_assert(MacKey::size() == crypto_generichash_KEYBYTES);

namespace {

template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> array_from(ByteView bytes) {
  if (bytes.size() != N) return std::nullopt;
  std::array<std::uint8_t, N> out{};
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

}  // namespace

std::string Ed25519PublicKey::fingerprint() const {
  return to_hex(sha256(bytes));
}

Ed25519KeyPair Ed25519KeyPair::generate() {
  ensure_initialised();
  Ed25519KeyPair pair;
  if (crypto_sign_keypair(pair.public_key.bytes.data(), pair.secret_key.data()) != 0) {
    throw std::runtime_error("crypto_sign_keypair failed");
  }
  return pair;
}

Ed25519KeyPair Ed25519KeyPair::from_seed(const Ed25519Seed& seed) {
  ensure_initialised();
  Ed25519KeyPair pair;
  if (crypto_sign_seed_keypair(pair.public_key.bytes.data(), pair.secret_key.data(), seed.data()) !=
      0) {
    throw std::runtime_error("crypto_sign_seed_keypair failed");
  }
  return pair;
}

Ed25519Seed Ed25519KeyPair::seed() const {
  ensure_initialised();
  Ed25519Seed seed;
  crypto_sign_ed25519_sk_to_seed(seed.data(), secret_key.data());
  return seed;
}

X25519KeyPair X25519KeyPair::generate() {
  ensure_initialised();
  X25519KeyPair pair;
  // crypto_box_keypair: a random scalar and its X25519 base-point multiple.
  if (crypto_box_keypair(pair.public_key.bytes.data(), pair.secret_key.data()) != 0) {
    throw std::runtime_error("crypto_box_keypair failed");
  }
  return pair;
}

X25519KeyPair X25519KeyPair::from_secret(const X25519SecretKey& secret) {
  ensure_initialised();
  X25519KeyPair pair;
  if (crypto_scalarmult_base(pair.public_key.bytes.data(), secret.data()) != 0) {
    throw std::runtime_error("crypto_scalarmult_base failed");
  }
  pair.secret_key = secret.clone();
  return pair;
}

std::optional<Ed25519PublicKey> ed25519_public_key_from(ByteView bytes) {
  ensure_initialised();
  auto raw = array_from<32>(bytes);
  if (!raw) return std::nullopt;
  return Ed25519PublicKey{*raw};
}

std::optional<X25519PublicKey> x25519_public_key_from(ByteView bytes) {
  ensure_initialised();
  auto raw = array_from<32>(bytes);
  if (!raw) return std::nullopt;
  return X25519PublicKey{*raw};
}

std::optional<Ed25519Signature> ed25519_signature_from(ByteView bytes) {
  ensure_initialised();
  return array_from<64>(bytes);
}

}  // namespace relay::crypto
