#include "crypto/sign.hpp"

#include <doctest/doctest.h>

#include "crypto/keys.hpp"
#include "support/vectors.hpp"
#include "test_util.hpp"

using namespace relay::crypto;
using relay::test::hex_of;
using relay::test::load_json;
using relay::test::secret_from_hex;
using relay::test::unhex;

TEST_CASE("RFC 8032 section 7.1 Ed25519 vectors") {
  const auto doc = load_json("rfc8032/ed25519.json");
  int checked = 0;
  for (const auto& t : doc.at("tests")) {
    CAPTURE(t.at("desc").get<std::string>());
    auto seed = secret_from_hex<Ed25519Seed>(t.at("secret_key_seed").get<std::string>());
    const Bytes message = unhex(t.at("message").get<std::string>());
    const std::string want_sig = t.at("signature").get<std::string>();

    auto pair = Ed25519KeyPair::from_seed(seed);
    CHECK(hex_of(pair.public_key.bytes) == t.at("public_key").get<std::string>());
    CHECK(pair.seed() == seed);
    const auto sig = sign(pair.secret_key, message);
    CHECK(hex_of(sig) == want_sig);
    CHECK(verify(pair.public_key, message, sig));

    auto tampered = sig;
    tampered[0] ^= 0x01;
    CHECK_FALSE(verify(pair.public_key, message, tampered));
    Bytes longer = message;
    longer.push_back(0);
    CHECK_FALSE(verify(pair.public_key, longer, sig));
    ++checked;
  }
  CHECK(checked == 3);
}

// Computed with OpenSSL 3.0 (a different Ed25519 implementation):
//   seed = `printf 'relaynode ed25519 seed' | openssl dgst -sha256`
//   DER-wrap the seed (302e020100300506032b657004220420 || seed), then
//   `openssl pkey -pubout -outform DER | tail -c 32` for the public key and
//   `printf 'relaynode signed message' | openssl pkeyutl -sign -rawin -inkey key.pem`.
TEST_CASE("Ed25519 agrees with OpenSSL on an independent vector") {
  auto seed = secret_from_hex<Ed25519Seed>(
      "814ffabb881b69e0068ffad8fe4f7c884ca514704a3e3596ea413e10fad25c64");
  auto pair = Ed25519KeyPair::from_seed(seed);
  CHECK(hex_of(pair.public_key.bytes) ==
        "6a1a7708943a55d5ea85e3c5541777fb4b498684fcdf0217b9bdf422ffdbdfdc");
  const auto sig = sign(pair.secret_key, as_bytes("relaynode signed message"));
  CHECK(hex_of(sig) ==
        "8c05aa1a8d5e49146be6a6f3c89ce3b0e28119e8ce31991053144035870bac53"
        "1d80b9fa606f9383a8642a820147cb00720a236c31829a8b612aaf1f9654320b");
}

// Wycheproof EdDSA verification. Every "valid" case must verify; every "invalid" one
// (truncated or padded signatures, non-canonical S, malleated R, bit flips) must be
// refused, either by ed25519_signature_from (wrong length) or by verify. The suite has no
// "acceptable" cases; one would fail the test so that a decision gets written down.
TEST_CASE("Wycheproof ed25519_test.json") {
  const auto doc = load_json("wycheproof/ed25519_test.json");
  int valid = 0, invalid = 0;
  for (const auto& group : doc.at("testGroups")) {
    auto pk = ed25519_public_key_from(unhex(group.at("publicKey").at("pk").get<std::string>()));
    REQUIRE(pk);
    for (const auto& t : group.at("tests")) {
      CAPTURE(t.at("tcId").get<int>());
      const std::string result = t.at("result").get<std::string>();
      const Bytes msg = unhex(t.at("msg").get<std::string>());
      const auto sig = ed25519_signature_from(unhex(t.at("sig").get<std::string>()));
      const bool accepted = sig && verify(*pk, msg, *sig);
      if (result == "valid") {
        CHECK(accepted);
        ++valid;
      } else {
        REQUIRE(result == "invalid");
        CHECK_FALSE(accepted);
        ++invalid;
      }
    }
  }
  CHECK(valid > 0);
  CHECK(invalid > 0);
  CHECK(valid + invalid == doc.at("numberOfTests").get<int>());
  MESSAGE("ed25519 wycheproof: " << valid << " valid, " << invalid << " invalid");
}

TEST_CASE("generated Ed25519 keys sign and verify; seed round-trips") {
  auto pair = Ed25519KeyPair::generate();
  const auto sig = sign(pair.secret_key, as_bytes("hello"));
  CHECK(verify(pair.public_key, as_bytes("hello"), sig));
  CHECK_FALSE(verify(pair.public_key, as_bytes("hellO"), sig));

  auto again = Ed25519KeyPair::from_seed(pair.seed());
  CHECK(again.public_key == pair.public_key);
  CHECK(again.secret_key == pair.secret_key);

  auto other = Ed25519KeyPair::generate();
  CHECK_FALSE(other.public_key == pair.public_key);
  CHECK_FALSE(verify(other.public_key, as_bytes("hello"), sig));
}

TEST_CASE("verify refuses malformed keys without throwing") {
  auto pair = Ed25519KeyPair::generate();
  const auto sig = sign(pair.secret_key, as_bytes("m"));
  Ed25519PublicKey zero;  // all zero: a small-order point
  CHECK_FALSE(verify(zero, as_bytes("m"), sig));
  Ed25519PublicKey ff;
  ff.bytes.fill(0xff);  // not a canonical field element
  CHECK_FALSE(verify(ff, as_bytes("m"), sig));
  CHECK_FALSE(verify(pair.public_key, as_bytes("m"), Ed25519Signature{}));
}

TEST_CASE("key parsers want the exact size") {
  CHECK(ed25519_public_key_from(Bytes(32, 1)));
  CHECK_FALSE(ed25519_public_key_from(Bytes(31, 1)));
  CHECK_FALSE(ed25519_public_key_from(Bytes(33, 1)));
  CHECK(x25519_public_key_from(Bytes(32, 1)));
  CHECK_FALSE(x25519_public_key_from(Bytes{}));
  CHECK(ed25519_signature_from(Bytes(64, 1)));
  CHECK_FALSE(ed25519_signature_from(Bytes(63, 1)));
  auto pk = ed25519_public_key_from(Bytes(32, 7));
  REQUIRE(pk);
  CHECK(pk->bytes == std::array<std::uint8_t, 32>{7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                                                  7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7});
}

// fingerprint = lower-case hex SHA-256 of the 32 public key bytes; the expected value is
// `python3 -c "import hashlib; print(hashlib.sha256(bytes.fromhex('d75a98...511a')).hexdigest())"`
// over the RFC 8032 TEST 1 public key.
TEST_CASE("fingerprint is hex SHA-256 of the public key") {
  auto pk = ed25519_public_key_from(
      unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
  REQUIRE(pk);
  CHECK(pk->fingerprint() == "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9");
}
