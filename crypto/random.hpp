#pragma once
// Secure randomness (libsodium randombytes, small draws through a per-thread pool: random.cpp)
// and random tokens for URLs and API keys.
#include <cstddef>
#include <string>

#include "crypto/bytes.hpp"

namespace relay::crypto {

// Initialises libsodium once; every entry point of this library calls it. Throws
// std::runtime_error if libsodium cannot initialise.
void ensure_initialised();

Bytes random_bytes(std::size_t n);
void random_fill(std::uint8_t* out, std::size_t n);
// base64url of n random bytes (default 32 -> 43 characters): capability tokens, API keys.
std::string random_token(std::size_t n = 32);

}  // namespace relay::crypto
