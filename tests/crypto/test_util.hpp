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

template <std::size_t N>
crypto::Secret<N> secret_from_hex(std::string_view text) {
  auto bytes = unhex(text);
  if (bytes.size() != N) throw std::invalid_argument("wrong secret size in test data");
  return crypto::Secret<N>(std::span<const std::uint8_t, N>(bytes.data(), N));
}

template <std::size_t N>
std::string hex_of(const std::array<std::uint8_t, N>& a) {
  return crypto::to_hex(a);
}

}  // namespace relay::test
