#include "crypto/secret.hpp"

#include <sodium.h>

namespace relay::crypto {

// These two do not call ensure_initialised(): neither sodium_memzero nor sodium_memcmp
// needs sodium_init, and both run inside noexcept destructors and moves of Secret<N>,
// where an initialisation failure could only terminate the process.

void secure_zero(void* data, std::size_t size) {
  if (size != 0) sodium_memzero(data, size);
}

bool constant_time_equal(const void* a, const void* b, std::size_t size) {
  if (size == 0) return true;
  return sodium_memcmp(a, b, size) == 0;
}

}  // namespace relay::crypto
