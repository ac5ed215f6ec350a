#pragma once
// Hashes and MACs.
//   sha256: OpenSSL's (SHA-NI; libsodium's is ~5x slower here), incremental form too.
//   blake2b_keyed: crypto_generichash with a key (pseudonyms, token digests), 32-byte out.
//   hmac_sha256 / hkdf_sha256: RFC 2104 / RFC 5869 (webhook signatures, key derivation).
#include <array>
#include <cstdint>
#include <optional>

#include "crypto/bytes.hpp"
#include "crypto/keys.hpp"

namespace relay::crypto {

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest sha256(ByteView data);

// Incremental SHA-256; update() any number of times, then finish() (which starts afresh). The
// state lives in the object (no allocation) and is wiped when it goes.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256& update(ByteView data);
  Sha256Digest finish();

 private:
  alignas(8) std::array<std::uint8_t, 112> state_;  // OpenSSL's SHA256_CTX
};

std::array<std::uint8_t, 32> blake2b_keyed(const MacKey& key, ByteView message);

std::array<std::uint8_t, 32> hmac_sha256(ByteView key, ByteView message);
// Output length up to 255*32; nullopt if out_len is too large.
std::optional<Bytes> hkdf_sha256(ByteView ikm, ByteView salt, ByteView info, std::size_t out_len);

}  // namespace relay::crypto
