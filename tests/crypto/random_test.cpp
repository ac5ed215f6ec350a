#include "crypto/random.hpp"

#include <doctest/doctest.h>

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
