#include "crypto/hash.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include "support/vectors.hpp"
#include "test_util.hpp"

using namespace relay::crypto;
using relay::test::hex_of;
using relay::test::load_json;
using relay::test::secret_from_hex;
using relay::test::unhex;

namespace {

Bytes range_times_40() {
  Bytes m;
  for (int r = 0; r < 40; ++r) {
    for (int i = 0; i < 256; ++i) m.push_back(static_cast<std::uint8_t>(i));
  }
  return m;
}

}  // namespace

// Expected values: Python 3.11 hashlib.sha256(...).hexdigest(); the "relaynode crypto test"
// one also with `printf 'relaynode crypto test' | openssl dgst -sha256`.
TEST_CASE("sha256 known answers") {
  CHECK(hex_of(sha256({})) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hex_of(sha256(as_bytes("abc"))) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex_of(sha256(as_bytes("relaynode crypto test"))) ==
        "d4b87bc9f691abd72712fc34de4132365656417ec15d727b05c3c4b867620256");
  // bytes(range(256)) * 40
  CHECK(hex_of(sha256(range_times_40())) ==
        "e96760a87768717bcebcfd25ddc7d46b4dbc95a4b0014def080c08539f7d90d0");
}

TEST_CASE("incremental sha256 equals one-shot for any split") {
  const Bytes m = range_times_40();
  const auto want = sha256(m);
  for (std::size_t chunk : {1u, 7u, 64u, 100u, 10240u}) {
    Sha256 h;
    for (std::size_t off = 0; off < m.size(); off += chunk) {
      h.update(ByteView(m).subspan(off, std::min(chunk, m.size() - off)));
    }
    CAPTURE(chunk);
    CHECK(h.finish() == want);
  }
  Sha256 h;
  CHECK(hex_of(h.update(as_bytes("a")).update(as_bytes("bc")).finish()) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // After finish() the object starts again from empty.
  CHECK(h.finish() == sha256({}));
}

// Expected values: Python 3.11
//   hashlib.blake2b(msg, key=bytes(range(32)), digest_size=32).hexdigest()
TEST_CASE("blake2b_keyed known answers") {
  const MacKey key =
      secret_from_hex<MacKey>("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  CHECK(hex_of(blake2b_keyed(key, {})) ==
        "4e51e7a913fc80137da52880fecca175bf81e117d5c68126dc2774033517ea0d");
  CHECK(hex_of(blake2b_keyed(key, as_bytes("abc"))) ==
        "d63a32d3e44738d7907f964316c241adaba0abfeabc32349677578a15a203f7f");
  CHECK(blake2b_keyed(MacKey{}, as_bytes("abc")) != blake2b_keyed(key, as_bytes("abc")));
}

// Expected values: Python 3.11 hmac.new(key, msg, hashlib.sha256).hexdigest(); the first
// also with `printf '...' | openssl dgst -sha256 -hmac key`. The 131-byte key is longer
// than the 64-byte block, so it is hashed first (RFC 4231 test 6's key and message).
TEST_CASE("hmac_sha256 known answers") {
  CHECK(hex_of(hmac_sha256(as_bytes("key"),
                           as_bytes("The quick brown fox jumps over the lazy dog"))) ==
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
  CHECK(hex_of(hmac_sha256({}, {})) ==
        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  CHECK(hex_of(hmac_sha256(Bytes(131, 0xaa),
                           as_bytes("Test Using Larger Than Block-Size Key - Hash Key First"))) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

// Expected values: a direct RFC 5869 transcription in Python 3.11 (hmac + hashlib), and
// the 80-byte one also with `openssl kdf -keylen 80 -kdfopt digest:SHA256 -kdfopt key:relay
// -kdfopt salt:salt -kdfopt info:info HKDF`.
TEST_CASE("hkdf_sha256 known answers and limits") {
  auto okm = hkdf_sha256(as_bytes("relay"), as_bytes("salt"), as_bytes("info"), 80);
  REQUIRE(okm);
  CHECK(to_hex(*okm) ==
        "4e9e40a2766ca95b8f2e3830548554bfe5c42d8b6b1b7bf876e2bc0b406ac392354b1ac62fcf4990e8310cbc"
        "1bce0dc032350da135eeceb070e9d897b2a80e74ec63431e5272c82a3c8d33a9a1b7bb1f");
  auto no_salt = hkdf_sha256(as_bytes("relay"), {}, {}, 32);
  REQUIRE(no_salt);
  CHECK(to_hex(*no_salt) == "c112005fc43b022239ddaf986c5a3e360291c7dacaf522fa80b5da5e4f9ac41e");
  // An empty salt means HashLen zero bytes (RFC 5869 section 2.2).
  CHECK(hkdf_sha256(as_bytes("relay"), Bytes(32, 0), {}, 32) == no_salt);

  auto empty = hkdf_sha256(as_bytes("x"), {}, {}, 0);
  REQUIRE(empty);
  CHECK(empty->empty());
  auto max = hkdf_sha256(as_bytes("x"), {}, {}, 255 * 32);
  REQUIRE(max);
  CHECK(max->size() == 255 * 32);
  CHECK_FALSE(hkdf_sha256(as_bytes("x"), {}, {}, 255 * 32 + 1));
  // Shorter output is a prefix of longer output.
  auto longer = hkdf_sha256(as_bytes("relay"), as_bytes("salt"), as_bytes("info"), 100);
  REQUIRE(longer);
  CHECK(std::equal(okm->begin(), okm->end(), longer->begin()));
}

// Wycheproof MAC. Groups with tagSize 128 list truncated tags: compare that prefix of our
// 32-byte tag. "valid" must match, "invalid" (modified tags) must not. No "acceptable"
// cases exist in this suite.
TEST_CASE("Wycheproof hmac_sha256_test.json") {
  const auto doc = load_json("wycheproof/hmac_sha256_test.json");
  int valid = 0, invalid = 0, truncated = 0;
  for (const auto& group : doc.at("testGroups")) {
    const std::size_t tag_bytes = group.at("tagSize").get<std::size_t>() / 8;
    REQUIRE(tag_bytes <= 32);
    for (const auto& t : group.at("tests")) {
      CAPTURE(t.at("tcId").get<int>());
      const Bytes key = unhex(t.at("key").get<std::string>());
      const Bytes msg = unhex(t.at("msg").get<std::string>());
      const Bytes want = unhex(t.at("tag").get<std::string>());
      const auto mac = hmac_sha256(key, msg);
      const bool matches =
          want.size() == tag_bytes && std::equal(want.begin(), want.end(), mac.begin());
      const std::string result = t.at("result").get<std::string>();
      if (result == "valid") {
        CHECK(matches);
        ++valid;
      } else {
        REQUIRE(result == "invalid");
        CHECK_FALSE(matches);
        ++invalid;
      }
      if (tag_bytes < 32) ++truncated;
    }
  }
  CHECK(valid > 0);
  CHECK(invalid > 0);
  CHECK(truncated > 0);
  CHECK(valid + invalid == doc.at("numberOfTests").get<int>());
  MESSAGE("hmac-sha256 wycheproof: " << valid << " valid, " << invalid << " invalid");
}

// Wycheproof HKDF. "valid" must give okm exactly; "invalid" cases ask for more than
// 255 * 32 bytes and must get nullopt. No "acceptable" cases exist in this suite.
TEST_CASE("Wycheproof hkdf_sha256_test.json") {
  const auto doc = load_json("wycheproof/hkdf_sha256_test.json");
  int valid = 0, invalid = 0;
  for (const auto& group : doc.at("testGroups")) {
    for (const auto& t : group.at("tests")) {
      CAPTURE(t.at("tcId").get<int>());
      const auto okm =
          hkdf_sha256(unhex(t.at("ikm").get<std::string>()), unhex(t.at("salt").get<std::string>()),
                      unhex(t.at("info").get<std::string>()), t.at("size").get<std::size_t>());
      const std::string result = t.at("result").get<std::string>();
      if (result == "valid") {
        REQUIRE(okm);
        CHECK(to_hex(*okm) == t.at("okm").get<std::string>());
        ++valid;
      } else {
        REQUIRE(result == "invalid");
        CHECK_FALSE(okm);
        ++invalid;
      }
    }
  }
  CHECK(valid > 0);
  CHECK(invalid > 0);
  CHECK(valid + invalid == doc.at("numberOfTests").get<int>());
  MESSAGE("hkdf-sha256 wycheproof: " << valid << " valid, " << invalid << " invalid");
}
