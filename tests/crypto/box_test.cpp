#include "crypto/box.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <stdexcept>

#include "crypto/keys.hpp"
#include "support/vectors.hpp"
#include "test_util.hpp"

using namespace relay::crypto;
using relay::test::hex_of;
using relay::test::load_json;
using relay::test::secret_from_hex;
using relay::test::unhex;

TEST_CASE("sealed box round trip") {
  auto recipient = X25519KeyPair::generate();
  const std::string text = "a message for the recipient only";
  const Bytes sealed = seal(recipient.public_key, as_bytes(text));
  CHECK(sealed.size() == text.size() + 48);
  auto opened = seal_open(recipient, sealed);
  REQUIRE(opened);
  CHECK(to_string(*opened) == text);

  // Anonymous sender with a fresh ephemeral key each time: never the same ciphertext.
  CHECK(seal(recipient.public_key, as_bytes(text)) != sealed);

  const Bytes empty_sealed = seal(recipient.public_key, {});
  CHECK(empty_sealed.size() == 48);
  auto empty_opened = seal_open(recipient, empty_sealed);
  REQUIRE(empty_opened);
  CHECK(empty_opened->empty());
}

TEST_CASE("sealed box refuses the wrong key, tampering and truncation") {
  auto recipient = X25519KeyPair::generate();
  auto stranger = X25519KeyPair::generate();
  const Bytes sealed = seal(recipient.public_key, as_bytes("secret"));

  CHECK_FALSE(seal_open(stranger, sealed));
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    Bytes flipped = sealed;
    flipped[i] ^= 0x80;
    CAPTURE(i);
    CHECK_FALSE(seal_open(recipient, flipped));
  }
  CHECK_FALSE(seal_open(recipient, ByteView(sealed).first(sealed.size() - 1)));
  CHECK_FALSE(seal_open(recipient, ByteView(sealed).first(47)));
  CHECK_FALSE(seal_open(recipient, {}));
  Bytes longer = sealed;
  longer.push_back(0);
  CHECK_FALSE(seal_open(recipient, longer));
}

TEST_CASE("seal to a low-order public key throws invalid_argument") {
  X25519PublicKey zero;  // the all-zero point has order 1
  CHECK_THROWS_AS(seal(zero, as_bytes("x")), std::invalid_argument);
}

// RFC 7748 section 6.1 private keys; the public keys and shared secret were computed with
// OpenSSL 3.0: DER-wrap each scalar (302e020100300506032b656e04220420 || k), then
// `openssl pkey -pubout -outform DER | tail -c 32` and `openssl pkeyutl -derive`.
TEST_CASE("X25519 agrees with OpenSSL on the RFC 7748 keys") {
  auto alice = X25519KeyPair::from_secret(secret_from_hex<X25519SecretKey>(
      "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  auto bob = X25519KeyPair::from_secret(secret_from_hex<X25519SecretKey>(
      "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  CHECK(hex_of(alice.public_key.bytes) ==
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  CHECK(hex_of(bob.public_key.bytes) ==
        "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  auto ab = x25519(alice.secret_key, bob.public_key);
  auto ba = x25519(bob.secret_key, alice.public_key);
  REQUIRE(ab);
  REQUIRE(ba);
  CHECK(hex_of(*ab) == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  CHECK(*ab == *ba);
}

TEST_CASE("X25519 generate gives a matching public key") {
  auto pair = X25519KeyPair::generate();
  auto again = X25519KeyPair::from_secret(pair.secret_key);
  CHECK(again.public_key == pair.public_key);
  CHECK(again.secret_key == pair.secret_key);
}

// Wycheproof XDH. Rule applied to every case, whatever its label: if the expected shared
// secret is all zero (a low-order public point), x25519 must return nullopt (libsodium
// refuses it, and so must we: a zero secret is no secret); otherwise it must return exactly
// the expected bytes.
//   "valid": none has a zero result, so each must match.
//   "acceptable": twist points and non-canonical encodings, where RFC 7748 defines the
//   output (reduce mod p, ignore the top bit), so we require the exact output; and the
//   low-order points with a zero result, which we require to be refused.
//   "invalid": none in this suite; one would have to be refused or differ.
TEST_CASE("Wycheproof x25519_test.json") {
  const auto doc = load_json("wycheproof/x25519_test.json");
  int matched = 0, refused_zero = 0, acceptable = 0, invalid = 0;
  const std::string zero(64, '0');
  for (const auto& group : doc.at("testGroups")) {
    REQUIRE(group.at("curve").get<std::string>() == "curve25519");
    for (const auto& t : group.at("tests")) {
      CAPTURE(t.at("tcId").get<int>());
      const std::string result = t.at("result").get<std::string>();
      const std::string want = t.at("shared").get<std::string>();
      auto point = x25519_public_key_from(unhex(t.at("public").get<std::string>()));
      REQUIRE(point);
      auto scalar = secret_from_hex<X25519SecretKey>(t.at("private").get<std::string>());
      auto got = x25519(scalar, *point);
      if (result == "acceptable") ++acceptable;
      if (result == "invalid") {
        ++invalid;
        CHECK((!got || hex_of(*got) != want));
        continue;
      }
      REQUIRE((result == "valid" || result == "acceptable"));
      if (want == zero) {
        CHECK_FALSE(got);
        ++refused_zero;
      } else {
        REQUIRE(got);
        CHECK(hex_of(*got) == want);
        ++matched;
      }
    }
  }
  CHECK(matched > 0);
  CHECK(refused_zero > 0);
  CHECK(acceptable > 0);
  CHECK(matched + refused_zero + invalid == doc.at("numberOfTests").get<int>());
  MESSAGE("x25519 wycheproof: " << matched << " matched, " << refused_zero << " low-order refused, "
                                << acceptable << " of them acceptable");
}
