#include "crypto/bytes.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "crypto/random.hpp"

using namespace relay::crypto;

TEST_CASE("hex encodes lower case and decodes either case") {
  const Bytes data{0x00, 0x01, 0xab, 0xcd, 0xef, 0xff};
  CHECK(to_hex(data) == "0001abcdefff");
  CHECK(from_hex("0001abcdefff") == data);
  CHECK(from_hex("0001ABCDEFFF") == data);
  CHECK(from_hex("0001AbCdEfFf") == data);
  CHECK(to_hex(Bytes{}) == "");
  CHECK(from_hex("") == Bytes{});
}

TEST_CASE("hex refuses odd length, non-hex digits and whitespace") {
  CHECK_FALSE(from_hex("0"));
  CHECK_FALSE(from_hex("abc"));
  CHECK_FALSE(from_hex("zz"));
  CHECK_FALSE(from_hex("0g"));
  CHECK_FALSE(from_hex("00 11"));
  CHECK_FALSE(from_hex(" 0011"));
  CHECK_FALSE(from_hex("0011\n"));
  CHECK_FALSE(from_hex("0x11"));
  CHECK_FALSE(
      from_hex(std::string("00\0"
                           "1",
                           4)));
}

// Known answers: Python's base64.b64encode / base64.urlsafe_b64encode (padding stripped
// for url), RFC 4648 section 10 test strings plus bytes fb ff fe for the two alphabets.
TEST_CASE("base64 and base64url known answers") {
  struct Case {
    std::string plain, b64, b64url;
  };
  const std::vector<Case> cases = {
      {"", "", ""},
      {"f", "Zg==", "Zg"},
      {"fo", "Zm8=", "Zm8"},
      {"foo", "Zm9v", "Zm9v"},
      {"foob", "Zm9vYg==", "Zm9vYg"},
      {"fooba", "Zm9vYmE=", "Zm9vYmE"},
      {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
      {"\xfb\xff\xfe", "+//+", "-__-"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.b64);
    CHECK(to_base64(as_bytes(c.plain)) == c.b64);
    CHECK(to_base64_public(as_bytes(c.plain)) == c.b64);
    CHECK(to_base64url(as_bytes(c.plain)) == c.b64url);
    auto back = from_base64(c.b64);
    REQUIRE(back);
    CHECK(to_string(*back) == c.plain);
    auto back_url = from_base64url(c.b64url);
    REQUIRE(back_url);
    CHECK(to_string(*back_url) == c.plain);
  }
}

TEST_CASE("codecs round-trip every length and byte value") {
  for (std::size_t n = 0; n < 70; ++n) {
    Bytes data = random_bytes(n);
    CAPTURE(n);
    CHECK(from_hex(to_hex(data)) == data);
    CHECK(from_base64(to_base64(data)) == data);
    CHECK(from_base64url(to_base64url(data)) == data);
  }
  Bytes all(256);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint8_t>(i);
  CHECK(from_hex(to_hex(all)) == all);
  CHECK(from_base64(to_base64(all)) == all);
  CHECK(to_base64_public(all) == to_base64(all));
  CHECK(from_base64url(to_base64url(all)) == all);
}

TEST_CASE("to_hex_public writes what to_hex writes, at every length up to 300 and byte value") {
  for (std::size_t n = 0; n <= 300; ++n) {
    Bytes data = random_bytes(n);
    CAPTURE(n);
    CHECK(to_hex_public(data) == to_hex(data));
  }
  Bytes all(256);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint8_t>(i);
  CHECK(to_hex_public(all) == to_hex(all));
}

TEST_CASE("to_base64_public writes what to_base64 writes, at every length up to 300") {
  for (std::size_t n = 0; n <= 300; ++n) {
    Bytes data = random_bytes(n);
    CAPTURE(n);
    CHECK(to_base64_public(data) == to_base64(data));
  }
}

TEST_CASE("from_base64_public accepts and refuses exactly what from_base64 does") {
  // Every length up to 300, each encoding and every one-byte change of its last quad (all 256
  // values, so padding, trailing bits, the other alphabet and bytes above 0x7f are all met),
  // and of its first quad.
  std::size_t refused = 0;
  for (std::size_t n = 0; n <= 300; ++n) {
    const Bytes data = random_bytes(n);
    const std::string text = to_base64(data);
    CAPTURE(text);
    REQUIRE(from_base64_public(text) == data);
    for (std::size_t at = 0; at < text.size(); ++at) {
      if (at >= 4 && at + 4 < text.size()) at = text.size() - 4;
      std::string changed = text;
      for (int byte = 0; byte < 256; ++byte) {
        changed[at] = static_cast<char>(byte);
        CAPTURE(at);
        CAPTURE(byte);
        const auto expected = from_base64(changed);
        CHECK(from_base64_public(changed) == expected);
        if (!expected) ++refused;
      }
    }
  }
  CHECK(refused > 100'000);  // the changes above are mostly refusals
  // Short texts over the alphabet's edges, '=' and a stray character, at every position.
  const std::string symbols = "AZaz09+/=-_ \n";
  std::vector<std::string> texts{""};
  for (int length = 1; length <= 5; ++length) {
    std::vector<std::string> longer;
    for (const auto& t : texts)
      if (static_cast<int>(t.size()) == length - 1)
        for (char c : symbols) longer.push_back(t + c);
    texts.insert(texts.end(), longer.begin(), longer.end());
  }
  for (const auto& t : texts) {
    CAPTURE(t);
    CHECK(from_base64_public(t) == from_base64(t));
  }
}

TEST_CASE("base64 is strict") {
  // Missing, extra or misplaced padding.
  CHECK_FALSE(from_base64("Zg"));
  CHECK_FALSE(from_base64("Zg="));
  CHECK_FALSE(from_base64("Zg==="));
  CHECK_FALSE(from_base64("Zm8"));
  CHECK_FALSE(from_base64("Zm8=="));
  CHECK_FALSE(from_base64("Zm9v="));
  CHECK_FALSE(from_base64("="));
  CHECK_FALSE(from_base64("===="));
  CHECK_FALSE(from_base64("Z==="));
  CHECK_FALSE(from_base64("Zg==Zg=="));
  CHECK_FALSE(from_base64("Z"));
  // Non-zero trailing bits: "Zh==" and "Zm9=" decode to the same bytes as "Zg==", "Zm8=".
  CHECK_FALSE(from_base64("Zh=="));
  CHECK_FALSE(from_base64("Zm9="));
  // Whitespace anywhere.
  CHECK_FALSE(from_base64("Zm9v\n"));
  CHECK_FALSE(from_base64(" Zm9v"));
  CHECK_FALSE(from_base64("Zm 9v"));
  CHECK_FALSE(from_base64("Zm9v\r\nYmFy"));
  // The other alphabet and other junk.
  CHECK_FALSE(from_base64("-__-"));
  CHECK_FALSE(from_base64("Zm9v!"));
  CHECK_FALSE(from_base64(std::string("Zm9v\0", 5)));
}

TEST_CASE("base64url is strict") {
  CHECK_FALSE(from_base64url("Zg=="));  // no padding in this form
  CHECK_FALSE(from_base64url("Zm8="));
  CHECK_FALSE(from_base64url("Z"));   // a lone sextet cannot be a whole byte
  CHECK_FALSE(from_base64url("Zh"));  // non-zero trailing bits
  CHECK_FALSE(from_base64url("Zm9"));
  CHECK_FALSE(from_base64url("+//+"));  // the standard alphabet
  CHECK_FALSE(from_base64url("Zm9v\n"));
  CHECK_FALSE(from_base64url("Zm 9v"));
}

TEST_CASE("as_bytes and to_string view the same bytes") {
  const std::string s("a\0b\xff", 4);
  auto v = as_bytes(s);
  REQUIRE(v.size() == 4);
  CHECK(v[1] == 0);
  CHECK(v[3] == 0xff);
  CHECK(to_string(v) == s);
}

TEST_CASE("a byte with the high bit set is refused, never read as an alphabet character") {
  // Found by tests/fuzz/note_fuzz.cpp: libsodium's decoder sign-extends the byte, so 0xD0 (the
  // complement of '/') decoded as '/' and a verifier key had a second, non-ASCII encoding.
  const std::string b64 = "Zm9v/+9v";  // valid in the standard alphabet
  const std::string b64url = "Zm9v_-9v";
  const std::string hex = "0a1b2c3d";
  REQUIRE(from_base64(b64));
  REQUIRE(from_base64url(b64url));
  REQUIRE(from_hex(hex));
  for (int byte = 0x80; byte <= 0xff; ++byte) {
    for (std::size_t at = 0; at < b64.size(); ++at) {
      std::string bad = b64;
      bad[at] = static_cast<char>(byte);
      CHECK_FALSE(from_base64(bad));
      bad = b64url;
      bad[at] = static_cast<char>(byte);
      CHECK_FALSE(from_base64url(bad));
      bad = hex;
      bad[at] = static_cast<char>(byte);
      CHECK_FALSE(from_hex(bad));
    }
  }
}
