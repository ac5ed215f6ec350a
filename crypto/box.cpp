#include "crypto/box.hpp"

#include <sodium.h>

#include <stdexcept>

#include "crypto/random.hpp"

namespace relay::crypto {

static_assert(crypto_box_SEALBYTES == 48);

Bytes seal(const X25519PublicKey& recipient, ByteView plaintext) {
  ensure_initialised();
  Bytes out(plaintext.size() + crypto_box_SEALBYTES);
  // Fails only when the recipient key is a low-order point (the shared secret would be
  // zero): that key could never have come from X25519KeyPair, so it is a caller's bad
  // input that should have been refused when the key was accepted.
  if (crypto_box_seal(out.data(), plaintext.data(), plaintext.size(), recipient.bytes.data()) !=
      0) {
    throw std::invalid_argument("seal: recipient X25519 public key is a low-order point");
  }
  return out;
}

std::optional<Bytes> seal_open(const X25519KeyPair& recipient, ByteView ciphertext) {
  ensure_initialised();
  if (ciphertext.size() < crypto_box_SEALBYTES) return std::nullopt;
  // One spare byte keeps data() non-null for an empty plaintext.
  Bytes out(ciphertext.size() - crypto_box_SEALBYTES + 1);
  if (crypto_box_seal_open(out.data(), ciphertext.data(), ciphertext.size(),
                           recipient.public_key.bytes.data(), recipient.secret_key.data()) != 0) {
    return std::nullopt;
  }
  out.pop_back();
  return out;
}

std::optional<std::array<std::uint8_t, 32>> x25519(const X25519SecretKey& scalar,
                                                   const X25519PublicKey& point) {
  ensure_initialised();
  std::array<std::uint8_t, 32> shared{};
  // crypto_scalarmult returns -1 when the result is all zero (low-order point).
  if (crypto_scalarmult(shared.data(), scalar.data(), point.bytes.data()) != 0) {
    return std::nullopt;
  }
  return shared;
}

}  // namespace relay::crypto
