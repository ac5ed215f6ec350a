#include "crypto/aead.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

#include "crypto/keys.hpp"
#include "support/vectors.hpp"
#include "test_util.hpp"

using namespace relay::crypto;
using relay::test::load_json;
using relay::test::unhex;

TEST_CASE("aead round trip and layout nonce || ciphertext || tag") {
  const AeadKey key = random_secret<AeadKey>();
  const std::string text = "attack at dawn";
  const std::string ad = "header v1";
  const Bytes sealed = aead_encrypt(key, as_bytes(text), as_bytes(ad));
  REQUIRE(sealed.size() == 24 + text.size() + 16);

  auto opened = aead_decrypt(key, sealed, as_bytes(ad));
  REQUIRE(opened);
  CHECK(to_string(*opened) == text);

  // The layout is exactly what the explicit-nonce form produces after the nonce.
  const ByteView view(sealed);
  CHECK(xchacha20poly1305_encrypt(key.view(), view.first(24), as_bytes(text), as_bytes(ad)) ==
        Bytes(sealed.begin() + 24, sealed.end()));

  // A fresh nonce every time.
  const Bytes again = aead_encrypt(key, as_bytes(text), as_bytes(ad));
  CHECK(Bytes(again.begin(), again.begin() + 24) != Bytes(sealed.begin(), sealed.begin() + 24));

  const Bytes empty = aead_encrypt(key, {}, {});
  CHECK(empty.size() == 40);
  auto empty_opened = aead_decrypt(key, empty, {});
  REQUIRE(empty_opened);
  CHECK(empty_opened->empty());
}

TEST_CASE("aead refuses wrong key, wrong AD, flipped bytes and truncation") {
  const AeadKey key = random_secret<AeadKey>();
  const Bytes sealed = aead_encrypt(key, as_bytes("payload"), as_bytes("ad"));

  CHECK_FALSE(aead_decrypt(random_secret<AeadKey>(), sealed, as_bytes("ad")));
  CHECK_FALSE(aead_decrypt(key, sealed, as_bytes("aD")));
  CHECK_FALSE(aead_decrypt(key, sealed, {}));
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    Bytes flipped = sealed;
    flipped[i] ^= 0x01;
    CAPTURE(i);
    CHECK_FALSE(aead_decrypt(key, flipped, as_bytes("ad")));
  }
  for (std::size_t n = 0; n < sealed.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(aead_decrypt(key, ByteView(sealed).first(n), as_bytes("ad")));
  }
  Bytes longer = sealed;
  longer.push_back(0);
  CHECK_FALSE(aead_decrypt(key, longer, as_bytes("ad")));
}

TEST_CASE("explicit-nonce forms: wrong sizes throw on encrypt, nullopt on decrypt") {
  const Bytes key(32, 1), short_key(31, 1), nonce24(24, 2), nonce12(12, 2);
  const Bytes msg{1, 2, 3};
  CHECK_THROWS_AS(xchacha20poly1305_encrypt(key, nonce12, msg, {}), std::invalid_argument);
  CHECK_THROWS_AS(xchacha20poly1305_encrypt(short_key, nonce24, msg, {}), std::invalid_argument);
  CHECK_THROWS_AS(chacha20poly1305_encrypt(key, nonce24, msg, {}), std::invalid_argument);
  CHECK_THROWS_AS(chacha20poly1305_encrypt(short_key, nonce12, msg, {}), std::invalid_argument);

  const Bytes xct = xchacha20poly1305_encrypt(key, nonce24, msg, {});
  CHECK(xchacha20poly1305_decrypt(key, nonce24, xct, {}) == msg);
  CHECK_FALSE(xchacha20poly1305_decrypt(key, nonce12, xct, {}));
  CHECK_FALSE(xchacha20poly1305_decrypt(short_key, nonce24, xct, {}));
  CHECK_FALSE(xchacha20poly1305_decrypt(key, nonce24, ByteView(xct).first(15), {}));

  const Bytes ct = chacha20poly1305_encrypt(key, nonce12, msg, {});
  CHECK(chacha20poly1305_decrypt(key, nonce12, ct, {}) == msg);
  CHECK_FALSE(chacha20poly1305_decrypt(key, nonce24, ct, {}));
  CHECK_FALSE(chacha20poly1305_decrypt(short_key, nonce12, ct, {}));
  CHECK_FALSE(chacha20poly1305_decrypt(key, nonce12, {}, {}));
}

namespace {

using EncryptFn = Bytes (*)(ByteView, ByteView, ByteView, ByteView);
using DecryptFn = std::optional<Bytes> (*)(ByteView, ByteView, ByteView, ByteView);

struct Counts {
  int valid = 0;
  int invalid = 0;
  int bad_nonce_size = 0;
};

// Wycheproof AEAD. "valid": encryption gives ct || tag exactly and decryption gives msg
// back. "invalid": decryption must return nullopt; where the key and nonce sizes are right
// (modified tags and the like) encryption must not produce the listed ct || tag, and where
// the nonce size is wrong (InvalidNonceSize) encryption must throw std::invalid_argument.
// Neither suite has "acceptable" cases; one would fail here so that a decision is recorded.
Counts run_aead_suite(const std::string& file, EncryptFn encrypt, DecryptFn decrypt,
                      std::size_t nonce_bytes) {
  const auto doc = load_json(file);
  Counts counts;
  for (const auto& group : doc.at("testGroups")) {
    for (const auto& t : group.at("tests")) {
      CAPTURE(file);
      CAPTURE(t.at("tcId").get<int>());
      const Bytes key = unhex(t.at("key").get<std::string>());
      const Bytes iv = unhex(t.at("iv").get<std::string>());
      const Bytes aad = unhex(t.at("aad").get<std::string>());
      const Bytes msg = unhex(t.at("msg").get<std::string>());
      Bytes ct_tag = unhex(t.at("ct").get<std::string>());
      const Bytes tag = unhex(t.at("tag").get<std::string>());
      ct_tag.insert(ct_tag.end(), tag.begin(), tag.end());
      const std::string result = t.at("result").get<std::string>();
      const bool sizes_ok = key.size() == 32 && iv.size() == nonce_bytes;

      if (result == "valid") {
        REQUIRE(sizes_ok);
        CHECK(encrypt(key, iv, msg, aad) == ct_tag);
        auto plain = decrypt(key, iv, ct_tag, aad);
        REQUIRE(plain);
        CHECK(*plain == msg);
        ++counts.valid;
      } else {
        REQUIRE(result == "invalid");
        CHECK_FALSE(decrypt(key, iv, ct_tag, aad));
        if (sizes_ok) {
          CHECK(encrypt(key, iv, msg, aad) != ct_tag);
        } else {
          CHECK_THROWS_AS(encrypt(key, iv, msg, aad), std::invalid_argument);
          ++counts.bad_nonce_size;
        }
        ++counts.invalid;
      }
    }
  }
  CHECK(counts.valid + counts.invalid == doc.at("numberOfTests").get<int>());
  return counts;
}

}  // namespace

TEST_CASE("Wycheproof xchacha20_poly1305_test.json") {
  auto c = run_aead_suite("wycheproof/xchacha20_poly1305_test.json", xchacha20poly1305_encrypt,
                          xchacha20poly1305_decrypt, 24);
  CHECK(c.valid > 0);
  CHECK(c.invalid > 0);
  CHECK(c.bad_nonce_size > 0);
  MESSAGE("xchacha20-poly1305 wycheproof: " << c.valid << " valid, " << c.invalid << " invalid ("
                                            << c.bad_nonce_size << " bad nonce size)");
}

TEST_CASE("Wycheproof chacha20_poly1305_test.json") {
  auto c = run_aead_suite("wycheproof/chacha20_poly1305_test.json", chacha20poly1305_encrypt,
                          chacha20poly1305_decrypt, 12);
  CHECK(c.valid > 0);
  CHECK(c.invalid > 0);
  CHECK(c.bad_nonce_size > 0);
  MESSAGE("chacha20-poly1305 wycheproof: " << c.valid << " valid, " << c.invalid << " invalid ("
                                           << c.bad_nonce_size << " bad nonce size)");
}
