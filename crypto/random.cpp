#include "crypto/random.hpp"

#include <sodium.h>

#include <stdexcept>

namespace relay::crypto {

void ensure_initialised() {
  // A function-local static is initialised exactly once, even with concurrent callers
  // (C++11 "magic statics"); sodium_init returns 1 when already initialised elsewhere.
  static const int status = sodium_init();
  if (status < 0) throw std::runtime_error("libsodium failed to initialise (sodium_init)");
}

Bytes random_bytes(std::size_t n) {
  ensure_initialised();
  Bytes out(n);
  if (n != 0) randombytes_buf(out.data(), n);
  return out;
}

void random_fill(std::uint8_t* out, std::size_t n) {
  ensure_initialised();
  if (n != 0) randombytes_buf(out, n);
}

std::string random_token(std::size_t n) {
  ensure_initialised();
  Bytes raw = random_bytes(n);
  std::string token = to_base64url(raw);
  // The raw bytes are the token itself; do not leave them in freed heap memory.
  sodium_memzero(raw.data(), raw.size());
  return token;
}

}  // namespace relay::crypto
