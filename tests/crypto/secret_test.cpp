#include "crypto/secret.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <concepts>
#include <type_traits>

#include "crypto/aead.hpp"
#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "crypto/random.hpp"

using namespace relay::crypto;

namespace {

template <class S>
bool all_zero(const S& s) {
  return std::all_of(s.data(), s.data() + S::size(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace

static_assert(!std::is_copy_constructible_v<Secret<32>>);
static_assert(!std::is_copy_assignable_v<Secret<32>>);
static_assert(std::is_nothrow_move_constructible_v<Secret<32>>);
static_assert(std::is_nothrow_move_assignable_v<Secret<32>>);

// Keys of different uses are different types: none converts to, is built from or is assigned
// from another, so a data key passed where a MAC key is expected does not compile.
template <class A, class B>
constexpr bool interchangeable =
    std::is_convertible_v<A, B> || std::is_constructible_v<B, A> ||
    std::is_constructible_v<B, const A&> || std::is_assignable_v<B&, A> ||
    std::is_convertible_v<const A&, const B&>;
static_assert(!interchangeable<AeadKey, MacKey>);
static_assert(!interchangeable<MacKey, AeadKey>);
static_assert(!interchangeable<Ed25519Seed, X25519SecretKey>);
static_assert(!interchangeable<X25519SecretKey, Ed25519Seed>);
static_assert(!interchangeable<Ed25519Seed, AeadKey>);
static_assert(!interchangeable<X25519SecretKey, MacKey>);
static_assert(!interchangeable<Secret<32>, AeadKey>);
static_assert(!interchangeable<AeadKey, Secret<32>>);
static_assert(!std::equality_comparable_with<AeadKey, MacKey>);
static_assert(std::equality_comparable<AeadKey>);
// The functions taking a key accept only that key (the call sites, not just the types).
template <class Key>
constexpr bool decrypts_with = requires(const Key& k, ByteView v) {
  aead_decrypt(k, v, v);
};
template <class Key>
constexpr bool macs_with = requires(const Key& k, ByteView v) {
  blake2b_keyed(k, v);
};
static_assert(decrypts_with<AeadKey> && !decrypts_with<MacKey> && !decrypts_with<Secret<32>>);
static_assert(macs_with<MacKey> && !macs_with<AeadKey> && !macs_with<X25519SecretKey>);
// Tagged secrets keep the guarantees of Secret.
static_assert(!std::is_copy_constructible_v<AeadKey> && !std::is_copy_assignable_v<MacKey>);
static_assert(std::is_nothrow_move_constructible_v<Ed25519Seed>);
static_assert(MacKey::size() == 32 && Ed25519SecretKey::size() == 64);

TEST_CASE("a default Secret is zero") {
  Secret<32> s;
  CHECK(all_zero(s));
}

TEST_CASE("moving a Secret zeroes the source") {
  Secret<32> a = random_secret<Secret<32>>();
  REQUIRE_FALSE(all_zero(a));  // 2^-256 chance of a false failure
  Secret<32> copy = a.clone();

  Secret<32> b(std::move(a));
  CHECK(all_zero(a));  // NOLINT(bugprone-use-after-move): the point of the test
  CHECK(b == copy);

  Secret<32> c;
  c = std::move(b);
  CHECK(all_zero(b));  // NOLINT(bugprone-use-after-move)
  CHECK(c == copy);

  Secret<32>& alias = c;
  c = std::move(alias);  // self-move keeps the value
  CHECK(c == copy);
}

TEST_CASE("clone is equal and independent") {
  Secret<32> a = random_secret<Secret<32>>();
  Secret<32> b = a.clone();
  CHECK(a == b);
  CHECK(std::equal(a.data(), a.data() + 32, b.data()));
  b.data()[0] ^= 1;
  CHECK_FALSE(a == b);
}

TEST_CASE("Secret from a span copies the bytes") {
  std::array<std::uint8_t, 4> raw{1, 2, 3, 4};
  Secret<4> s(std::span<const std::uint8_t, 4>(raw.data(), 4));
  CHECK(s.view()[0] == 1);
  CHECK(s.view()[3] == 4);
  CHECK(Secret<4>::size() == 4);
}

TEST_CASE("constant_time_equal and secure_zero") {
  std::array<std::uint8_t, 8> a{1, 2, 3, 4, 5, 6, 7, 8};
  std::array<std::uint8_t, 8> b = a;
  CHECK(constant_time_equal(a.data(), b.data(), a.size()));
  b[7] = 0;
  CHECK_FALSE(constant_time_equal(a.data(), b.data(), a.size()));
  CHECK(constant_time_equal(a.data(), b.data(), 0));
  secure_zero(a.data(), a.size());
  CHECK(std::all_of(a.begin(), a.end(), [](std::uint8_t x) { return x == 0; }));
}

TEST_CASE("random secrets differ") {
  CHECK_FALSE(random_secret<Secret<32>>() == random_secret<Secret<32>>());
}
