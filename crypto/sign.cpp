#include "crypto/sign.hpp"

#include <sodium.h>

#include <stdexcept>

#include "crypto/random.hpp"

namespace relay::crypto {

Ed25519Signature sign(const Ed25519SecretKey& secret_key, ByteView message) {
  ensure_initialised();
  Ed25519Signature sig{};
  if (crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(),
                           secret_key.data()) != 0) {
    throw std::runtime_error("crypto_sign_detached failed");
  }
  return sig;
}

bool verify(const Ed25519PublicKey& public_key, ByteView message, const Ed25519Signature& sig) {
  ensure_initialised();
  // libsodium 1.0.18 verification is strict: it refuses non-canonical S (malleability),
  // non-canonical and small-order R, and small-order or non-canonical public keys.
  return crypto_sign_verify_detached(sig.data(), message.data(), message.size(),
                                     public_key.bytes.data()) == 0;
}

}  // namespace relay::crypto
