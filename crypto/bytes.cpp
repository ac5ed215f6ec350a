#include "crypto/bytes.hpp"

#include <sodium.h>

#include <array>

#include "crypto/random.hpp"

namespace relay::crypto {

// All codecs but the *_public ones (bytes.hpp) are libsodium's constant-time ones: hex and
// base64url also carry secrets (capability tokens, API keys), so decoding must not branch on
// their characters.

namespace {

std::string encode_base64(ByteView data, int variant) {
  ensure_initialised();
  std::string out(sodium_base64_encoded_len(data.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), data.data(), data.size(), variant);
  out.pop_back();  // sodium_base64_encoded_len counts the terminating NUL
  return out;
}

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Each byte's sextet in kBase64Alphabet, or 0xff: not in it (the high bits mark it).
constexpr auto kBase64Values = [] {
  std::array<std::uint8_t, 256> values{};
  values.fill(0xff);
  for (std::uint8_t i = 0; i < 64; ++i) values[static_cast<unsigned char>(kBase64Alphabet[i])] = i;
  return values;
}();

// True if any byte has its high bit set, without branching on any one byte. libsodium's
// base64 decoder sign-extends such bytes and takes some for alphabet characters (0xD0 decodes
// as '/': found by tests/fuzz/note_fuzz.cpp), which would give one key or signature several
// encodings; no valid base64 or hex text has such a byte.
bool has_non_ascii(std::string_view text) {
  unsigned char any = 0;
  for (char c : text) any |= static_cast<unsigned char>(c);
  return (any & 0x80) != 0;
}

std::optional<Bytes> decode_base64(std::string_view text, int variant) {
  ensure_initialised();
  if (has_non_ascii(text)) return std::nullopt;
  // One spare byte keeps the buffer non-empty, so data() is never null.
  Bytes out(text.size() / 4 * 3 + 3);
  std::size_t out_len = 0;
  // ignore = nullptr: no whitespace allowed. b64_end = nullptr: the whole text must be
  // consumed. libsodium also refuses wrong padding and non-zero trailing bits.
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &out_len,
                        nullptr, variant) != 0) {
    return std::nullopt;
  }
  out.resize(out_len);
  return out;
}

}  // namespace

std::string to_hex(ByteView data) {
  ensure_initialised();
  std::string out(data.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data.data(), data.size());
  out.pop_back();  // the terminating NUL
  return out;
}

std::string to_hex_public(ByteView data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(data.size() * 2, '\0');
  char* o = out.data();
  for (const std::uint8_t b : data) {
    *o++ = kDigits[b >> 4];
    *o++ = kDigits[b & 15];
  }
  return out;
}

std::optional<Bytes> from_hex(std::string_view text) {
  ensure_initialised();
  if (text.size() % 2 != 0 || has_non_ascii(text)) return std::nullopt;
  Bytes out(text.size() / 2 + 1);
  std::size_t out_len = 0;
  // hex_end = nullptr makes a stray character an error instead of a stopping point.
  if (sodium_hex2bin(out.data(), out.size(), text.data(), text.size(), nullptr, &out_len,
                     nullptr) != 0 ||
      out_len != text.size() / 2) {
    return std::nullopt;
  }
  out.resize(out_len);
  return out;
}

std::string to_base64(ByteView data) {
  return encode_base64(data, sodium_base64_VARIANT_ORIGINAL);
}

std::string to_base64_public(ByteView data) {
  std::string out((data.size() + 2) / 3 * 4, '=');
  char* o = out.data();
  const std::uint8_t* in = data.data();
  const std::size_t whole = data.size() / 3 * 3;
  for (std::size_t i = 0; i < whole; i += 3, o += 4) {
    const std::uint32_t v = std::uint32_t{in[i]} << 16 | std::uint32_t{in[i + 1]} << 8 | in[i + 2];
    o[0] = kBase64Alphabet[v >> 18];
    o[1] = kBase64Alphabet[(v >> 12) & 63];
    o[2] = kBase64Alphabet[(v >> 6) & 63];
    o[3] = kBase64Alphabet[v & 63];
  }
  if (const std::size_t rest = data.size() - whole; rest > 0) {  // one or two bytes, padded
    std::uint32_t v = std::uint32_t{in[whole]} << 16;
    if (rest == 2) v |= std::uint32_t{in[whole + 1]} << 8;
    o[0] = kBase64Alphabet[v >> 18];
    o[1] = kBase64Alphabet[(v >> 12) & 63];
    if (rest == 2) o[2] = kBase64Alphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<Bytes> from_base64(std::string_view text) {
  return decode_base64(text, sodium_base64_VARIANT_ORIGINAL);
}

std::optional<Bytes> from_base64_public(std::string_view text) {
  // The text from_base64 accepts: whole quads, then one or two '=' as the last quad's length
  // asks, with the bits past the last byte zero.
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
  Bytes out(text.size() / 4 * 3 - pad);
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  std::uint8_t* o = out.data();
  const std::size_t whole = pad == 0 ? text.size() : text.size() - 4;
  std::uint32_t seen = 0;  // every sextet or'ed: 0xff from one not in the alphabet
  for (std::size_t i = 0; i < whole; i += 4, o += 3) {
    const std::uint32_t a = kBase64Values[in[i]], b = kBase64Values[in[i + 1]],
                        c = kBase64Values[in[i + 2]], d = kBase64Values[in[i + 3]];
    seen |= a | b | c | d;
    const std::uint32_t v = a << 18 | b << 12 | c << 6 | d;
    o[0] = static_cast<std::uint8_t>(v >> 16);
    o[1] = static_cast<std::uint8_t>(v >> 8);
    o[2] = static_cast<std::uint8_t>(v);
  }
  if (pad > 0) {  // the last quad: "ab==" is one byte, "abc=" two
    const std::uint32_t a = kBase64Values[in[whole]], b = kBase64Values[in[whole + 1]];
    const std::uint32_t c = pad == 1 ? kBase64Values[in[whole + 2]] : 0;
    seen |= a | b | c;
    if ((pad == 2 ? b & 0x0f : c & 0x03) != 0) return std::nullopt;  // non-zero trailing bits
    o[0] = static_cast<std::uint8_t>(a << 2 | b >> 4);
    if (pad == 1) o[1] = static_cast<std::uint8_t>(b << 4 | c >> 2);
  }
  if ((seen & 0xc0) != 0) return std::nullopt;
  return out;
}

std::string to_base64url(ByteView data) {
  return encode_base64(data, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

std::optional<Bytes> from_base64url(std::string_view text) {
  return decode_base64(text, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

}  // namespace relay::crypto
