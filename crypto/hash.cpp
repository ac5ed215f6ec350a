// SHA256_Init/Update/Final, which OpenSSL 3 marks deprecated, run the same SHA-NI code as EVP
// without its per-call provider dispatch and context allocation: a hash of a short message
// costs a fifth as much (ledger leaves, HMACs on every key-slot read). Declared without the
// deprecation attribute for this file only.
#define OPENSSL_API_COMPAT 0x10100000L
#include "crypto/hash.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sodium.h>

#include <algorithm>
#include <memory>
#include <new>
#include <stdexcept>

#include "crypto/random.hpp"

namespace relay::crypto {

static_assert(std::tuple_size_v<Sha256Digest> == SHA256_DIGEST_LENGTH);
static_assert(crypto_generichash_BYTES_MIN <= 32 && 32 <= crypto_generichash_BYTES_MAX);

namespace {

EVP_MD_CTX* as_ctx(void* p) {
  return static_cast<EVP_MD_CTX*>(p);
}

// SHA-256 fetched from the default provider once. EVP_sha256() would make every init look
// the algorithm up again (OpenSSL 3's implicit fetch: a store lookup under a lock, several
// times the cost of hashing an entry, and contended when threads hash at once).
const EVP_MD* sha256_md() {
  static const std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md(
      EVP_MD_fetch(nullptr, "SHA256", nullptr), &EVP_MD_free);
  if (!md) throw std::runtime_error("EVP_MD_fetch(SHA256) failed");
  return md.get();
}

void init_sha256(EVP_MD_CTX* ctx) {
  if (EVP_DigestInit_ex(ctx, sha256_md(), nullptr) != 1) {
    throw std::runtime_error("EVP_DigestInit_ex(SHA-256) failed");
  }
}

}  // namespace

Sha256Digest sha256(ByteView data) {
  Sha256Digest out{};
  SHA256(data.data(), data.size(), out.data());
  return out;
}

Sha256::Sha256() : ctx_(nullptr) {
  ensure_initialised();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) throw std::bad_alloc();
  try {
    init_sha256(ctx);
  } catch (...) {
    EVP_MD_CTX_free(ctx);
    throw;
  }
  ctx_ = ctx;
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(as_ctx(ctx_));
}

Sha256& Sha256::update(ByteView data) {
  if (EVP_DigestUpdate(as_ctx(ctx_), data.data(), data.size()) != 1) {
    throw std::runtime_error("EVP_DigestUpdate(SHA-256) failed");
  }
  return *this;
}

Sha256Digest Sha256::finish() {
  Sha256Digest out{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(as_ctx(ctx_), out.data(), &len) != 1 || len != out.size()) {
    throw std::runtime_error("EVP_DigestFinal_ex(SHA-256) failed");
  }
  // Start afresh, so a stray update() after finish() hashes from empty instead of
  // touching a finalised context.
  init_sha256(as_ctx(ctx_));
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
  // pads, the inner hash and the hash states are wiped afterwards.
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
  std::array<std::uint8_t, 32> inner{};
  std::array<std::uint8_t, 32> out{};
  SHA256_CTX ctx;
  for (std::size_t i = 0; i < kBlock; ++i) pad[i] = block[i] ^ 0x36;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, pad.data(), pad.size());
  SHA256_Update(&ctx, message.data(), message.size());
  SHA256_Final(inner.data(), &ctx);
  for (std::size_t i = 0; i < kBlock; ++i) pad[i] = block[i] ^ 0x5c;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, pad.data(), pad.size());
  SHA256_Update(&ctx, inner.data(), inner.size());
  SHA256_Final(out.data(), &ctx);
  sodium_memzero(block.data(), block.size());
  sodium_memzero(pad.data(), pad.size());
  sodium_memzero(inner.data(), inner.size());
  sodium_memzero(&ctx, sizeof ctx);
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
