#include "crypto/random.hpp"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <set>
#include <thread>
#include <vector>

#include "crypto/keys.hpp"
#include "crypto/sign.hpp"

using namespace relay::crypto;

TEST_CASE("ensure_initialised is idempotent") {
  CHECK_NOTHROW(ensure_initialised());
  CHECK_NOTHROW(ensure_initialised());
}

TEST_CASE("random_bytes sizes and variety") {
  CHECK(random_bytes(0).empty());
  CHECK(random_bytes(1).size() == 1);
  CHECK(random_bytes(1000).size() == 1000);
  CHECK(random_bytes(32) != random_bytes(32));
  std::array<std::uint8_t, 16> a{}, b{};
  random_fill(a.data(), a.size());
  random_fill(b.data(), b.size());
  CHECK(a != b);
  random_fill(nullptr, 0);
}

TEST_CASE("small draws come from a per-thread pool: all distinct, across refills and sizes") {
  // 4000 draws of 1..40 bytes run through the 256-byte pool many times over, with a remainder
  // too short for the next draw at most refills; 16-byte draws must never repeat.
  std::set<std::array<std::uint8_t, 16>> seen;
  std::size_t draws = 0;
  for (std::size_t i = 0; i < 4000; ++i) {
    const std::size_t n = 1 + i % 40;
    auto bytes = random_bytes(n);
    REQUIRE(bytes.size() == n);
    if (n == 16) {
      std::array<std::uint8_t, 16> a{};
      std::copy(bytes.begin(), bytes.end(), a.begin());
      seen.insert(a);
      ++draws;
    }
  }
  CHECK(seen.size() == draws);
  // Not all zero: a pool handed out after being zeroed would give zeros.
  std::size_t zero_draws = 0;
  for (int i = 0; i < 200; ++i) {
    auto b = random_bytes(16);
    zero_draws += std::all_of(b.begin(), b.end(), [](std::uint8_t x) { return x == 0; });
  }
  CHECK(zero_draws == 0);
}

TEST_CASE("a child of fork() does not hand out the bytes its parent will") {
  random_bytes(8);  // the pool now holds bytes drawn ahead
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto bytes = random_bytes(32);
    const bool written = write(fds[1], bytes.data(), bytes.size()) == 32;
    _exit(written ? 0 : 1);
  }
  close(fds[1]);
  std::array<std::uint8_t, 32> from_child{};
  std::size_t got = 0;
  while (got < from_child.size()) {
    auto n = read(fds[0], from_child.data() + got, from_child.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE(got == 32);
  auto mine = random_bytes(32);
  CHECK(!std::equal(mine.begin(), mine.end(), from_child.begin()));
}

TEST_CASE("random_token is unpadded base64url of n bytes") {
  const std::string t = random_token();
  CHECK(t.size() == 43);
  auto raw = from_base64url(t);
  REQUIRE(raw);
  CHECK(raw->size() == 32);
  CHECK(random_token(16).size() == 22);
  CHECK(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
        std::string::npos);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(random_token());
  CHECK(seen.size() == 100);
}

TEST_CASE("entry points may be called from many threads at once") {
  std::vector<std::thread> threads;
  std::array<bool, 8> ok{};
  for (std::size_t i = 0; i < ok.size(); ++i) {
    threads.emplace_back([&ok, i] {
      bool good = true;
      for (int n = 0; n < 50; ++n) {
        auto pair = Ed25519KeyPair::generate();
        const std::string token = random_token();
        good = good &&
               verify(pair.public_key, as_bytes(token), sign(pair.secret_key, as_bytes(token)));
      }
      ok[i] = good;
    });
  }
  for (auto& t : threads) t.join();
  for (bool b : ok) CHECK(b);
}
