#include "crypto/secret.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <type_traits>

#include "crypto/keys.hpp"
#include "crypto/random.hpp"

using namespace relay::crypto;

namespace {

template <std::size_t N>
bool all_zero(const Secret<N>& s) {
  return std::all_of(s.data(), s.data() + N, [](std::uint8_t b) { return b == 0; });
}

}  // namespace

static_assert(!std::is_copy_constructible_v<Secret<32>>);
static_assert(!std::is_copy_assignable_v<Secret<32>>);
static_assert(std::is_nothrow_move_constructible_v<Secret<32>>);
static_assert(std::is_nothrow_move_assignable_v<Secret<32>>);

TEST_CASE("a default Secret is zero") {
  Secret<32> s;
  CHECK(all_zero(s));
}

TEST_CASE("moving a Secret zeroes the source") {
  Secret<32> a = random_secret<32>();
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
  Secret<32> a = random_secret<32>();
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
  CHECK_FALSE(random_secret<32>() == random_secret<32>());
}
