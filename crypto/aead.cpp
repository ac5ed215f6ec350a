#include "crypto/aead.hpp"

#include <sodium.h>

#include <stdexcept>
#include <string>

#include "crypto/random.hpp"

namespace relay::crypto {

namespace {

constexpr std::size_t kXNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kNonceBytes = crypto_aead_chacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kKeyBytes = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(kXNonceBytes == 24 && kNonceBytes == 12 && kKeyBytes == 32 && kTagBytes == 16);
static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == kKeyBytes);
static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == kTagBytes);

// Signature shared by libsodium's two IETF AEAD encrypt / decrypt functions.
using EncryptFn = int (*)(unsigned char*, unsigned long long*, const unsigned char*,
                          unsigned long long, const unsigned char*, unsigned long long,
                          const unsigned char*, const unsigned char*, const unsigned char*);
using DecryptFn = int (*)(unsigned char*, unsigned long long*, unsigned char*, const unsigned char*,
                          unsigned long long, const unsigned char*, unsigned long long,
                          const unsigned char*, const unsigned char*);

// A wrong key or nonce size when encrypting is a caller's bug, never data from the wire:
// it throws std::invalid_argument rather than producing something undecryptable.
void check_sizes(const char* what, ByteView key, ByteView nonce, std::size_t nonce_bytes,
                 std::size_t plaintext_size, std::size_t max_plaintext) {
  if (key.size() != kKeyBytes) {
    throw std::invalid_argument(std::string(what) + ": key must be 32 bytes");
  }
  if (nonce.size() != nonce_bytes) {
    throw std::invalid_argument(std::string(what) + ": nonce must be " +
                                std::to_string(nonce_bytes) + " bytes");
  }
  if (plaintext_size > max_plaintext) {
    throw std::length_error(std::string(what) + ": plaintext too long");
  }
}

// Writes ciphertext || tag into out, which must have room for plaintext.size() + 16.
void encrypt_into(EncryptFn fn, std::uint8_t* out, ByteView key, ByteView nonce, ByteView plaintext,
                  ByteView ad) {
  unsigned long long out_len = 0;
  if (fn(out, &out_len, plaintext.data(), plaintext.size(), ad.data(), ad.size(), nullptr,
         nonce.data(), key.data()) != 0 ||
      out_len != plaintext.size() + kTagBytes) {
    throw std::runtime_error("AEAD encryption failed");
  }
}

std::optional<Bytes> decrypt(DecryptFn fn, ByteView key, ByteView nonce, std::size_t nonce_bytes,
                             ByteView ct_and_tag, ByteView ad) {
  if (key.size() != kKeyBytes || nonce.size() != nonce_bytes || ct_and_tag.size() < kTagBytes) {
    return std::nullopt;
  }
  // One spare byte keeps data() non-null for an empty plaintext.
  Bytes out(ct_and_tag.size() - kTagBytes + 1);
  unsigned long long out_len = 0;
  if (fn(out.data(), &out_len, nullptr, ct_and_tag.data(), ct_and_tag.size(), ad.data(), ad.size(),
         nonce.data(), key.data()) != 0) {
    return std::nullopt;
  }
  out.resize(out_len);
  return out;
}

}  // namespace

Bytes aead_encrypt(const AeadKey& key, ByteView plaintext, ByteView associated_data) {
  ensure_initialised();
  if (plaintext.size() > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX) {
    throw std::length_error("aead_encrypt: plaintext too long");
  }
  Bytes out(kXNonceBytes + plaintext.size() + kTagBytes);
  random_fill(out.data(), kXNonceBytes);
  encrypt_into(crypto_aead_xchacha20poly1305_ietf_encrypt, out.data() + kXNonceBytes, key.view(),
               ByteView(out.data(), kXNonceBytes), plaintext, associated_data);
  return out;
}

std::optional<Bytes> aead_decrypt(const AeadKey& key, ByteView sealed, ByteView associated_data) {
  ensure_initialised();
  if (sealed.size() < kXNonceBytes + kTagBytes) return std::nullopt;
  return decrypt(crypto_aead_xchacha20poly1305_ietf_decrypt, key.view(), sealed.first(kXNonceBytes),
                 kXNonceBytes, sealed.subspan(kXNonceBytes), associated_data);
}

Bytes xchacha20poly1305_encrypt(ByteView key, ByteView nonce, ByteView plaintext, ByteView ad) {
  ensure_initialised();
  check_sizes("xchacha20poly1305_encrypt", key, nonce, kXNonceBytes, plaintext.size(),
              crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX);
  Bytes out(plaintext.size() + kTagBytes);
  encrypt_into(crypto_aead_xchacha20poly1305_ietf_encrypt, out.data(), key, nonce, plaintext, ad);
  return out;
}

std::optional<Bytes> xchacha20poly1305_decrypt(ByteView key, ByteView nonce, ByteView ct_and_tag,
                                               ByteView ad) {
  ensure_initialised();
  return decrypt(crypto_aead_xchacha20poly1305_ietf_decrypt, key, nonce, kXNonceBytes, ct_and_tag,
                 ad);
}

Bytes chacha20poly1305_encrypt(ByteView key, ByteView nonce, ByteView plaintext, ByteView ad) {
  ensure_initialised();
  check_sizes("chacha20poly1305_encrypt", key, nonce, kNonceBytes, plaintext.size(),
              crypto_aead_chacha20poly1305_ietf_MESSAGEBYTES_MAX);
  Bytes out(plaintext.size() + kTagBytes);
  encrypt_into(crypto_aead_chacha20poly1305_ietf_encrypt, out.data(), key, nonce, plaintext, ad);
  return out;
}

std::optional<Bytes> chacha20poly1305_decrypt(ByteView key, ByteView nonce, ByteView ct_and_tag,
                                              ByteView ad) {
  ensure_initialised();
  return decrypt(crypto_aead_chacha20poly1305_ietf_decrypt, key, nonce, kNonceBytes, ct_and_tag,
                 ad);
}

}  // namespace relay::crypto
