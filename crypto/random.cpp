#include "crypto/random.hpp"

#include <pthread.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <stdexcept>

namespace relay::crypto {

namespace {

// Random bytes drawn ahead, per thread: one randombytes_buf (a getrandom system call) fills
// kPool bytes that the next draws take in turn. A registration draws seven times (ids, tokens,
// a key, nonces), and on this machine's VM a system call costs about 1.1 us (issue 19). Each
// byte is zeroed as it is handed out, so only bytes still to come stay in memory; draws of
// kPool / 2 or more go to libsodium directly. A child of fork() starts with an empty pool, so
// it never hands out the bytes its parent will.
constexpr std::size_t kPool = 256;

struct Pool {
  std::array<std::uint8_t, kPool> bytes{};
  std::size_t left = 0;  // the bytes not handed out yet: the last `left` of `bytes`
  Pool() = default;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool() { forget(); }
  void forget() noexcept {
    sodium_memzero(bytes.data(), bytes.size());
    left = 0;
  }
};

thread_local Pool pool;

// Runs in the child, on the thread that called fork(): the only thread the child has.
void forget_in_child() {
  pool.forget();
}

}  // namespace

void ensure_initialised() {
  // A function-local static is initialised exactly once, even with concurrent callers
  // (C++11 "magic statics"); sodium_init returns 1 when already initialised elsewhere.
  static const int status = sodium_init();
  if (status < 0) throw std::runtime_error("libsodium failed to initialise (sodium_init)");
  static const int registered = pthread_atfork(nullptr, nullptr, forget_in_child);
  if (registered != 0) throw std::runtime_error("random: pthread_atfork failed");
}

Bytes random_bytes(std::size_t n) {
  Bytes out(n);
  random_fill(out.data(), n);
  return out;
}

void random_fill(std::uint8_t* out, std::size_t n) {
  ensure_initialised();
  if (n == 0) return;
  if (n >= kPool / 2) {
    randombytes_buf(out, n);
    return;
  }
  if (pool.left < n) {  // what is left is too short: drawn over, never handed out
    randombytes_buf(pool.bytes.data(), kPool);
    pool.left = kPool;
  }
  std::uint8_t* next = pool.bytes.data() + (kPool - pool.left);
  std::memcpy(out, next, n);
  sodium_memzero(next, n);
  pool.left -= n;
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
