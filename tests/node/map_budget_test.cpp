// node/storage: releasing the map's pages (Environment::release_mapped_pages, MapBudget) on a
// real LMDB environment: the process's resident file pages fall, and every read, in a
// transaction begun before or after, still sees its data.
#include "node/storage/map_budget.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "node/storage/environment.hpp"
#include "support/temp_dir.hpp"

using namespace relay::node::storage;
using relay::test::TempDir;

namespace {

constexpr int kValues = 4096;
constexpr std::size_t kValueBytes = 4000;  // one overflow page each: 16 MiB in all

std::string key_of(int i) {
  char key[16];
  std::snprintf(key, sizeof key, "k%06d", i);
  return key;
}

std::string value_of(int i, char salt = 'a') {
  return std::string(kValueBytes, static_cast<char>(salt + i % 26)) + std::to_string(i);
}

// Reads every value through txn; true if all are as written with salt.
template <class Txn>
bool all_read_back(const Txn& txn, Database db, char salt = 'a') {
  for (int i = 0; i < kValues; ++i) {
    auto v = txn.get(db, key_of(i));
    if (!v || *v != value_of(i, salt)) return false;
  }
  return true;
}

// A fresh environment holding kValues values written with salt 'a'.
struct Filled {
  TempDir dir;
  Environment env = Environment::open(dir.path / "env");
  Database db = env.database("values");
  Filled() {
    auto txn = env.begin_write();
    for (int i = 0; i < kValues; ++i) txn.put(db, key_of(i), value_of(i));
    txn.commit();
  }
};

std::size_t resident() {
  auto bytes = resident_bytes();
  REQUIRE(bytes.has_value());
  return bytes->file;
}

}  // namespace

TEST_SUITE_BEGIN("storage");

TEST_CASE("map budget: released pages leave RSS, and every read still sees its data") {
  Filled filled;
  auto& env = filled.env;
  const Database db = filled.db;
  auto held = env.begin_read();  // a snapshot open across every release below
  REQUIRE(all_read_back(held, db));
  std::size_t touched = resident();

  env.release_mapped_pages();
  std::size_t released = resident();
  CHECK(released + (12u << 20) < touched);  // most of the 16 MiB read left

  CHECK(all_read_back(held, db));  // mapped again on demand, same bytes
  CHECK(resident() + (4u << 20) > touched);
  {
    auto txn = env.begin_write();  // a write after the release: new pages, same map
    for (int i = 0; i < kValues; i += 2) txn.put(db, key_of(i), value_of(i, 'A'));
    txn.commit();
  }
  env.release_mapped_pages();
  CHECK(all_read_back(held, db));  // the old snapshot keeps its own pages
  auto fresh = env.begin_read();
  for (int i = 0; i < kValues; ++i) {
    CHECK(fresh.get(db, key_of(i)) == value_of(i, i % 2 == 0 ? 'A' : 'a'));
  }
}

TEST_CASE("map budget: check() releases only past its limit") {
  Filled filled;
  auto& env = filled.env;
  const Database db = filled.db;
  auto txn = env.begin_read();
  REQUIRE(all_read_back(txn, db));
  std::size_t touched = resident();

  MapBudget roomy(env, touched + (256u << 20));
  CHECK_FALSE(roomy.check());
  CHECK(roomy.releases() == 0);
  CHECK(resident() + (4u << 20) > touched);

  MapBudget tight(env, 1);
  CHECK(tight.check());
  CHECK(tight.releases() == 1);
  CHECK(resident() + (12u << 20) < touched);
  CHECK(all_read_back(txn, db));
}

TEST_CASE("map budget: a total limit counts the node's own memory too") {
  // At 10M entries and 1M candidates the node's own memory was 147 MiB (the pool index of 1M
  // profiles is 128 MiB), and the 128 MiB of mapped pages on top made VmHWM 275-289 MiB.
  constexpr std::size_t MiB = std::size_t{1} << 20;
  const auto floor = MapBudget::kFloorBytes;
  // The map limit alone, as before.
  CHECK(MapBudget::over({.total = 300 * MiB, .file = 129 * MiB}, 128 * MiB, 0));
  CHECK_FALSE(MapBudget::over({.total = 300 * MiB, .file = 100 * MiB}, 128 * MiB, 0));
  // VmRSS past the total limit releases, while more than the floor is file-backed.
  CHECK(MapBudget::over({.total = 181 * MiB, .file = 40 * MiB}, 128 * MiB, 180 * MiB));
  CHECK_FALSE(MapBudget::over({.total = 179 * MiB, .file = 40 * MiB}, 128 * MiB, 180 * MiB));
  CHECK_FALSE(MapBudget::over({.total = 500 * MiB, .file = floor}, 128 * MiB, 180 * MiB));
  CHECK_FALSE(MapBudget::over({.total = 500 * MiB, .file = 100 * MiB}, 0, 0));  // both off

  // Checked against this process: reading 32 MiB of values (two environments) maps them,
  // past the floor; a total limit above VmRSS keeps them, one under it releases them.
  Filled filled, more;
  auto txn = filled.env.begin_read();
  auto more_txn = more.env.begin_read();
  REQUIRE(all_read_back(txn, filled.db));
  REQUIRE(all_read_back(more_txn, more.db));
  const auto now = resident_bytes();
  REQUIRE(now);
  REQUIRE(now->file > floor);
  MapBudget roomy(filled.env, 0, now->total + 256 * MiB);
  CHECK_FALSE(roomy.check());
  MapBudget tight(filled.env, 0, now->total / 2);
  CHECK(tight.check());
  CHECK(resident() + 12 * MiB < now->file);  // the first environment's 16 MiB left
  CHECK(all_read_back(txn, filled.db));
}

TEST_CASE("map budget: its own thread releases the pages once reads pass the limit") {
  Filled filled;
  auto& env = filled.env;
  const Database db = filled.db;
  env.release_mapped_pages();
  const std::size_t baseline = resident();
  MapBudget budget(env, baseline + (4u << 20));
  budget.start();
  budget.start();  // idempotent
  auto txn = env.begin_read();
  REQUIRE(all_read_back(txn, db));  // maps 16 MiB, four times the room left
  // The thread may have released in the middle of the reads (pages mapped after that stay
  // until its next check): wait for the one after the last read, up to 5 s.
  for (int i = 0; i < 500 && resident() >= baseline + (8u << 20); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  budget.stop();
  budget.stop();  // idempotent
  CHECK(budget.releases() >= 1);
  CHECK(resident() < baseline + (8u << 20));
  CHECK(all_read_back(txn, db));
}

TEST_CASE("map budget: releases while other threads read and write lose nothing") {
  Filled filled;
  auto& env = filled.env;
  const Database db = filled.db;
  std::atomic<bool> done{false};
  std::atomic<int> bad_reads{0}, reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      auto txn = env.begin_read();
      // A snapshot sees either every rewritten value or none: rewrites come in one txn.
      auto first = txn.get(db, key_of(0));
      char salt = first && *first == value_of(0, 'Q') ? 'Q' : 'a';
      if (!all_read_back(txn, db, salt)) bad_reads.fetch_add(1);
      reads.fetch_add(1);
    }
  });
  MapBudget budget(env, 1);
  for (int round = 0; round < 40; ++round) {
    budget.check();
    if (round == 20) {
      auto txn = env.begin_write();
      for (int i = 0; i < kValues; ++i) txn.put(db, key_of(i), value_of(i, 'Q'));
      txn.commit();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  while (reads.load() < 3) std::this_thread::yield();
  done.store(true);
  reader.join();
  CHECK(bad_reads.load() == 0);
  CHECK(budget.releases() == 40);
  auto txn = env.begin_read();
  CHECK(all_read_back(txn, db, 'Q'));
}

TEST_SUITE_END();

TEST_CASE("map budget: the next check comes before the headroom could be mapped") {
  constexpr std::size_t MiB = std::size_t{1} << 20;
  using std::chrono::milliseconds;
  const double fastest = MapBudget::kFastestGrowthBytesPerMs;
  // Far from both limits (the node under intake: 60 MiB mapped of 128, 100 MiB of 180 in
  // all): the longest wait, where it used to be 2 ms from half a limit.
  CHECK(MapBudget::next_wait({.total = 100 * MiB, .file = 60 * MiB}, 128 * MiB, 180 * MiB, 0) ==
        MapBudget::kLongestWait);
  // The nearer limit decides: 13 MiB under the total limit at 1.3 GB/s is about 10 ms.
  auto near_total =
      MapBudget::next_wait({.total = 167 * MiB, .file = 60 * MiB}, 128 * MiB, 180 * MiB, 0);
  CHECK(near_total >= milliseconds(9));
  CHECK(near_total <= milliseconds(11));
  // Faster growth than the fastest seen before shortens it in proportion.
  CHECK(MapBudget::next_wait({.total = 167 * MiB, .file = 60 * MiB}, 128 * MiB, 180 * MiB,
                             2 * fastest) < near_total);
  // At or past a limit, and with almost no room, the shortest.
  CHECK(MapBudget::next_wait({.total = 100 * MiB, .file = 129 * MiB}, 128 * MiB, 180 * MiB, 0) ==
        MapBudget::kShortestWait);
  CHECK(MapBudget::next_wait({.total = 179 * MiB, .file = 60 * MiB}, 128 * MiB, 180 * MiB, 0) ==
        MapBudget::kShortestWait);
  // A limit that is off leaves the other to decide; both off, the longest.
  CHECK(MapBudget::next_wait({.total = 500 * MiB, .file = 127 * MiB}, 128 * MiB, 0, 0) ==
        MapBudget::kShortestWait);
  CHECK(MapBudget::next_wait({.total = 500 * MiB, .file = 500 * MiB}, 0, 0, 1e12) ==
        MapBudget::kLongestWait);
}
