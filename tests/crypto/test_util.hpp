#pragma once
// Helpers shared by the crypto tests: hex literals and secrets from hex.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <string_view>

#include "crypto/bytes.hpp"
#include "crypto/secret.hpp"

namespace relay::test {

// Decodes hex that the test itself supplies; a typo there is a broken test, so throw.
inline crypto::Bytes unhex(std::string_view text) {
  auto bytes = crypto::from_hex(text);
  if (!bytes) throw std::invalid_argument("bad hex in test data: " + std::string(text));
  return *bytes;
}

// S is the secret type, e.g. secret_from_hex<crypto::MacKey>("0001...").
template <class S>
S secret_from_hex(std::string_view text) {
  constexpr std::size_t n = S::size();
  auto bytes = unhex(text);
  if (bytes.size() != n) throw std::invalid_argument("wrong secret size in test data");
  return S(std::span<const std::uint8_t, n>(bytes.data(), n));
}

template <std::size_t N>
std::string hex_of(const std::array<std::uint8_t, N>& a) {
  return crypto::to_hex(a);
}

}  // namespace relay::test
