#pragma once
// Byte strings and their text encodings (hex, base64) used across the wire formats.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace relay::crypto {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Views a string's bytes without copying.
inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string to_string(ByteView b) {
  return {b.begin(), b.end()};
}

// Lower-case hex. from_hex accepts either case; nullopt on odd length or a non-hex digit.
std::string to_hex(ByteView data);
std::optional<Bytes> from_hex(std::string_view text);
// The same text as to_hex, for bytes that are no secret (digests, keyed-hash pseudonyms, ids):
// a table lookup per half-byte. The API key's digest, written on every authenticated request,
// took 929 instructions with to_hex and takes 500, most of it the string's allocation
// (callgrind, issue 19).
std::string to_hex_public(ByteView data);

// RFC 4648 base64 with padding (the signed-note and checkpoint encoding). from_base64 is
// strict: no whitespace, correct padding, no non-zero trailing bits; nullopt otherwise.
std::string to_base64(ByteView data);
std::optional<Bytes> from_base64(std::string_view text);
// The same text as to_base64, for bytes that are no secret (ciphertexts, signatures, hashes):
// a table lookup per character, which branches on the data. Encoding a registration's sealed
// record and mail took 23.6k instructions with to_base64 and takes 2.9k (callgrind, issue 19).
std::string to_base64_public(ByteView data);
// from_base64 for text that carries no secret (sealed records read back): the same strict
// rules, a table lookup per character. Decoding a sealed candidate record took 29.5k
// instructions with from_base64 and takes 2.7k (callgrind, issue 19).
std::optional<Bytes> from_base64_public(std::string_view text);

// RFC 4648 section 5 base64url without padding (tokens in URLs).
std::string to_base64url(ByteView data);
std::optional<Bytes> from_base64url(std::string_view text);

}  // namespace relay::crypto
