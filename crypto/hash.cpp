// SHA256_Init/Update/Final, which OpenSSL 3 marks deprecated, run the same SHA-NI code as EVP
// without its per-call provider dispatch and context allocation: a hash of a short message
// costs less than half as much (ledger leaves and tree nodes, HMACs on every key-slot read).
// Declared without the deprecation attribute for this file only.
#define OPENSSL_API_COMPAT 0x10100000L
#include "crypto/hash.hpp"

#include <openssl/sha.h>
#include <sodium.h>

#include <algorithm>
#include <stdexcept>

#include "crypto/random.hpp"

namespace relay::crypto {

static_assert(std::tuple_size_v<Sha256Digest> == SHA256_DIGEST_LENGTH);
static_assert(crypto_generichash_BYTES_MIN <= 32 && 32 <= crypto_generichash_BYTES_MAX);

namespace {

static_assert(sizeof(SHA256_CTX) <= 112 && alignof(SHA256_CTX) <= 8,
              "Sha256::state_ must hold a SHA256_CTX");

}  // namespace

Sha256Digest sha256(ByteView data) {
  // Not OpenSSL's one-shot SHA256(): in OpenSSL 3 it fetches the digest from the provider on
  // every call, which costs more than hashing a short message.
  Sha256Digest out{};
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data.data(), data.size());
  SHA256_Final(out.data(), &ctx);
  sodium_memzero(&ctx, sizeof ctx);
  return out;
}

Sha256::Sha256() : state_{} {
  SHA256_Init(reinterpret_cast<SHA256_CTX*>(state_.data()));
}

Sha256::~Sha256() {
  sodium_memzero(state_.data(), state_.size());
}

Sha256& Sha256::update(ByteView data) {
  SHA256_Update(reinterpret_cast<SHA256_CTX*>(state_.data()), data.data(), data.size());
  return *this;
}

Sha256Digest Sha256::finish() {
  Sha256Digest out{};
  auto* ctx = reinterpret_cast<SHA256_CTX*>(state_.data());
  SHA256_Final(out.data(), ctx);
  // Start afresh, so a stray update() after finish() hashes from empty instead of
  // touching a finalised context.
  SHA256_Init(ctx);
  return out;
}

std::array<std::uint8_t, 32> blake2b_keyed(const MacKey& key, ByteView message) {
  ensure_initialised();
  std::array<std::uint8_t, 32> out{};
  if (crypto_generichash(out.data(), out.size(), message.data(), message.size(), key.data(),
                         key.size()) != 0) {
    throw std::runtime_error("crypto_generichash failed");
  }
  return out;
}

std::array<std::uint8_t, 32> hmac_sha256(ByteView key, ByteView message) {
  // RFC 2104 written out over OpenSSL's SHA-256: libsodium's HMAC runs its own SHA-256, about
  // five times slower here. A key longer than a block is hashed first; the padded key, the
  // pads, the inner hash and the hash state are wiped afterwards.
  constexpr std::size_t kBlock = 64;
  std::array<std::uint8_t, kBlock> block{};
  if (key.size() > kBlock) {
    auto digest = sha256(key);
    std::copy(digest.begin(), digest.end(), block.begin());
    sodium_memzero(digest.data(), digest.size());
  } else {
    std::copy(key.begin(), key.end(), block.begin());
  }
  std::array<std::uint8_t, kBlock> pad{};
  Sha256 hash;
  for (std::size_t i = 0; i < kBlock; ++i) pad[i] = block[i] ^ 0x36;
  auto inner = hash.update(pad).update(message).finish();
  for (std::size_t i = 0; i < kBlock; ++i) pad[i] = block[i] ^ 0x5c;
  auto out = hash.update(pad).update(inner).finish();
  sodium_memzero(block.data(), block.size());
  sodium_memzero(pad.data(), pad.size());
  sodium_memzero(inner.data(), inner.size());
  return out;
}

std::optional<Bytes> hkdf_sha256(ByteView ikm, ByteView salt, ByteView info, std::size_t out_len) {
  ensure_initialised();
  // RFC 5869 written out over hmac_sha256. An empty salt is an empty HMAC key, which
  // HMAC pads to the same block as the RFC's HashLen zero bytes.
  constexpr std::size_t kHashLen = 32;
  if (out_len > 255 * kHashLen) return std::nullopt;

  auto prk = hmac_sha256(salt, ikm);  // extract
  Bytes okm;
  okm.reserve(out_len);
  Bytes block;  // T(i-1) || info || i; reserved once so no unwiped copy is left behind
  block.reserve(kHashLen + info.size() + 1);
  std::array<std::uint8_t, kHashLen> t{};
  for (std::size_t i = 1; okm.size() < out_len; ++i) {  // expand
    block.clear();
    if (i > 1) block.insert(block.end(), t.begin(), t.end());
    block.insert(block.end(), info.begin(), info.end());
    block.push_back(static_cast<std::uint8_t>(i));
    t = hmac_sha256(prk, block);
    const std::size_t take = std::min(kHashLen, out_len - okm.size());
    okm.insert(okm.end(), t.begin(), t.begin() + static_cast<std::ptrdiff_t>(take));
  }
  sodium_memzero(prk.data(), prk.size());
  sodium_memzero(t.data(), t.size());
  if (!block.empty()) sodium_memzero(block.data(), block.size());
  return okm;
}

}  // namespace relay::crypto
