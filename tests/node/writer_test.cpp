// node/storage: the Writer (group commit, isolation of requests, map growth, crash safety).
#include "node/storage/writer.hpp"

#include <doctest/doctest.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <future>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "node/storage/environment.hpp"
#include "node/storage/error.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace relay::node::storage;
using namespace std::chrono_literals;

namespace {

using relay::test::TempDir;

std::string key_for(int thread, int i) {
  return "t" + std::to_string(thread) + "/" + std::to_string(i);
}

// Holds the writer thread inside one request until released, so that the requests submitted
// meanwhile are known to land together in the next batch.
struct Blocker {
  std::promise<void> started;
  std::promise<void> release;
  std::future<int> done;

  explicit Blocker(Writer& writer) {
    done = writer.submit([this, released = release.get_future().share()](WriteTxn&) {
      started.set_value();
      released.wait();
      return 0;
    });
    started.get_future().wait();
  }
};

// A writer on a fresh environment, held inside a Blocker: what the test submits next lands in
// one batch once it calls release().
struct HeldWriter {
  TempDir dir;
  Environment env;
  Database db;
  Writer writer;
  std::optional<Blocker> blocker;

  explicit HeldWriter(const char* db_name)
      : env(Environment::open(dir.path)), db(env.database(db_name)), writer(env) {
    blocker.emplace(writer);
  }
  void release() {
    blocker->release.set_value();
    CHECK(blocker->done.get() == 0);
  }
};

}  // namespace

TEST_SUITE_BEGIN("storage");

TEST_CASE("storage writer: group commit of 8 threads x 200 requests") {
  TempDir dir;
  auto env = Environment::open(dir.path);
  Database db = env.database("grouped");
  Writer writer(env);

  SUBCASE("futures collected, then awaited") {
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        std::vector<std::future<int>> futures;
        for (int i = 0; i < 200; ++i) {
          futures.push_back(writer.submit([db, t, i](WriteTxn& txn) {
            txn.put(db, key_for(t, i), std::to_string(i));
            return i;
          }));
        }
        for (int i = 0; i < 200; ++i) {
          if (futures[i].get() != i) ++wrong;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    CHECK(wrong == 0);
  }
  SUBCASE("each thread waits for every request") {
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 200; ++i) {
          writer.submit_wait(
              [db, t, i](WriteTxn& txn) { txn.put(db, key_for(t, i), std::to_string(i)); });
        }
      });
    }
    for (auto& thread : threads) thread.join();
  }

  WriterStats stats = writer.stats();
  CHECK(stats.requests_committed == 1600);
  CHECK(stats.requests_rolled_back == 0);
  CHECK(stats.batches_failed == 0);
  CHECK(stats.batches_committed >= 1);
  CHECK(stats.batches_committed < stats.requests_committed);  // grouping happened
  MESSAGE("1600 requests in " << stats.batches_committed << " commits");

  auto txn = env.begin_read();
  CHECK(txn.count(db) == 1600);
  for (int t = 0; t < 8; ++t) CHECK(txn.get(db, key_for(t, 199)) == "199");
}

TEST_CASE("storage writer: a throwing request does not affect the others in its batch") {
  HeldWriter held("isolated");
  auto& [dir, env, db, writer, blocker] = held;

  std::atomic<int> a_runs{0};
  auto a = writer.submit([db, &a_runs](WriteTxn& txn) {
    ++a_runs;
    txn.put(db, "a", "from a");
    return 1;
  });
  auto b = writer.submit([db](WriteTxn& txn) -> int {
    txn.put(db, "b", "from b");
    txn.put(db, "a", "clobbered by b");
    throw std::runtime_error("b failed");
  });
  auto c = writer.submit([db](WriteTxn& txn) {
    auto seen = txn.get(db, "a");  // sees a's write, not b's
    txn.put(db, "c", seen.value_or("nothing"));
    return 3;
  });
  CHECK(a.wait_for(50ms) == std::future_status::timeout);  // not acknowledged yet
  held.release();

  CHECK(a.get() == 1);
  CHECK_THROWS_WITH_AS(b.get(), "b failed", std::runtime_error);
  CHECK(c.get() == 3);

  WriterStats stats = writer.stats();
  CHECK(stats.batches_committed == 2);  // the blocker's batch, then a, b and c together
  CHECK(stats.requests_committed == 3);
  CHECK(stats.requests_rolled_back == 1);
  // b's writes could not be dropped from the batch's txn: the batch ran again, a child each.
  CHECK(stats.batches_rerun == 1);
  CHECK(a_runs == 2);

  auto txn = env.begin_read();
  CHECK(txn.get(db, "a") == "from a");
  CHECK_FALSE(txn.contains(db, "b"));
  CHECK(txn.get(db, "c") == "from a");
}

TEST_CASE("storage writer: after a failed request, batches run a child per request for a while") {
  TempDir dir;
  auto env = Environment::open(dir.path);
  Database db = env.database("careful");
  Writer writer(env);
  int failures = 0;
  auto fail = [&] {
    ++failures;
    CHECK_THROWS_AS(writer.submit_wait([db, failures](WriteTxn& txn) {
      txn.put(db, "failed " + std::to_string(failures), "1");
      throw std::runtime_error("no");
    }),
                    std::runtime_error);
  };
  int kept = 0;
  auto keep = [&] {
    ++kept;
    writer.submit_wait(
        [db, kept](WriteTxn& txn) { txn.put(db, "kept " + std::to_string(kept), "1"); });
  };

  keep();
  CHECK(writer.stats().batches_rerun == 0);  // no failure: the batch's txn, no children
  fail();
  CHECK(writer.stats().batches_rerun == 1);
  // A run of failures: each careful batch that sees one stays careful, so none runs twice.
  for (int i = 0; i < 2 * Writer::kCarefulBatches; ++i) fail();
  CHECK(writer.stats().batches_rerun == 1);
  for (int i = 0; i < Writer::kCarefulBatches; ++i) keep();
  fail();  // careful no longer: tried in the batch's txn, then again
  CHECK(writer.stats().batches_rerun == 2);

  auto txn = env.begin_read();
  CHECK(txn.count(db) == static_cast<std::size_t>(kept));
  for (int i = 1; i <= failures; ++i) CHECK_FALSE(txn.contains(db, "failed " + std::to_string(i)));
  CHECK(writer.stats().requests_rolled_back == static_cast<std::uint64_t>(failures));
}

TEST_CASE("storage writer: an LMDB error a request caught does not reach the batch's commit") {
  // LMDB may spoil a txn on an error (MDB_TXN_ERROR) even if the request goes on: so the batch
  // runs again with a child each, and the request's writes are kept if its child commits.
  HeldWriter held("caught");
  auto& [dir, env, db, writer, blocker] = held;
  auto before = writer.submit([db](WriteTxn& txn) { txn.put(db, "before", "1"); });
  auto caught = writer.submit([db](WriteTxn& txn) {
    txn.put(db, "mine", "1");
    try {
      txn.put(db, std::string(4096, 'k'), "too long a key");  // MDB_BAD_VALSIZE
    } catch (const StorageError&) {
      return std::string("caught");
    }
    return std::string("not refused");
  });
  auto after = writer.submit([db](WriteTxn& txn) { txn.put(db, "after", "1"); });
  held.release();
  before.get();
  CHECK(caught.get() == "caught");
  after.get();
  CHECK(writer.stats().batches_rerun == 1);
  auto txn = env.begin_read();
  CHECK(txn.contains(db, "before"));
  CHECK(txn.contains(db, "mine"));
  CHECK(txn.contains(db, "after"));
}

TEST_CASE("storage writer: Rollback discards a request's writes and returns its value") {
  TempDir dir;
  auto env = Environment::open(dir.path);
  Database db = env.database("credits");
  Writer writer(env);
  enum class Spend { spent, insufficient };

  auto outcome = writer.submit_wait([db](WriteTxn& txn) {
    txn.put(db, "debit", "1");
    if (!txn.contains(db, "balance")) throw Rollback<Spend>{Spend::insufficient};
    return Spend::spent;
  });
  CHECK(outcome == Spend::insufficient);

  writer.submit_wait([db](WriteTxn& txn) {
    txn.put(db, "void", "1");
    throw Rollback<void>{};
  });

  // Validate first, write after: an expected failure is simply a returned value.
  auto validated = writer.submit_wait([db](WriteTxn& txn) {
    if (!txn.contains(db, "balance")) return Spend::insufficient;
    txn.put(db, "debit", "1");
    return Spend::spent;
  });
  CHECK(validated == Spend::insufficient);

  auto txn = env.begin_read();
  CHECK(txn.count(db) == 0);
  CHECK(writer.stats().requests_rolled_back == 2);
}

TEST_CASE("storage writer: the map grows under a stream of writes and concurrent reads") {
  TempDir dir;
  const std::string value(3000, 'v');
  std::size_t grown = 0;
  {
    auto env = Environment::open(dir.path, {.map_size_bytes = 64 * 1024});
    const std::size_t initial = env.map_size();
    CHECK(initial == 64 * 1024);
    Database db = env.database("big");
    Writer writer(env);

    std::atomic<bool> done{false};
    std::atomic<long> reads{0};
    std::atomic<long> bad_reads{0};
    std::thread reader([&] {
      while (!done.load()) {
        auto txn = env.begin_read();
        if (auto v = txn.get(db, "k0"); v && v->size() != 3000) ++bad_reads;
        ++reads;
      }
    });
    std::vector<std::future<void>> futures;
    for (int i = 0; i < 2000; ++i) {  // ~6 MB
      futures.push_back(writer.submit(
          [db, i, &value](WriteTxn& txn) { txn.put(db, "k" + std::to_string(i), value); }));
    }
    for (auto& f : futures) f.get();
    done = true;
    reader.join();

    WriterStats stats = writer.stats();
    CHECK(stats.requests_committed == 2000);
    CHECK(stats.batches_failed == 0);
    CHECK(stats.map_resizes >= 5);
    CHECK(env.map_size() > 6'000'000);
    CHECK(reads > 0);
    CHECK(bad_reads == 0);
    grown = env.map_size();
  }
  // Reopened with the same small setting, the grown map is kept.
  auto env = Environment::open(dir.path, {.map_size_bytes = 64 * 1024});
  CHECK(env.map_size() == grown);
  Database db = env.database("big");
  auto txn = env.begin_read();
  CHECK(txn.count(db) == 2000);
  CHECK(txn.get(db, "k1999") == value);
}

TEST_CASE("storage writer: a long-lived reader holds up map growth, then lets it happen") {
  TempDir dir;
  auto env = Environment::open(dir.path, {.map_size_bytes = 64 * 1024, .resize_wait = 200ms});
  Database db = env.database("held");
  Writer writer(env);
  auto big_write = [db](WriteTxn& txn) {
    for (int i = 0; i < 300; ++i) txn.put(db, "k" + std::to_string(i), std::string(4000, 'x'));
  };

  auto pinned = env.begin_read();
  auto refused = writer.submit(big_write);
  try {
    refused.get();
    FAIL("expected the map to stay full while a reader is open");
  } catch (const StorageError& e) {
    CHECK(e.map_full());
  }
  CHECK(writer.stats().batches_failed == 1);
  pinned.abort();

  writer.submit_wait(big_write);
  CHECK(env.begin_read().count(db) == 300);
}

TEST_CASE("storage writer: stop() drains the queue; later submits fail") {
  HeldWriter held("drain");
  auto& [dir, env, db, writer, blocker] = held;
  std::vector<std::future<void>> queued;
  for (int i = 0; i < 100; ++i) {
    queued.push_back(writer.submit(
        [db, i](WriteTxn& txn) { txn.put(db, std::to_string(i), "queued before stop"); }));
  }
  std::thread stopper([&] { writer.stop(); });
  std::this_thread::sleep_for(20ms);
  blocker->release.set_value();
  stopper.join();
  for (auto& f : queued) CHECK_NOTHROW(f.get());
  CHECK(env.begin_read().count(db) == 100);

  auto late = writer.submit([](WriteTxn&) { return 1; });
  try {
    late.get();
    FAIL("expected a refusal");
  } catch (const StorageError& e) {
    CHECK(e.code() == ECANCELED);
  }
  writer.stop();  // idempotent
}

TEST_CASE("storage writer: a request that waits for the writer is refused, not deadlocked") {
  TempDir dir;
  auto env = Environment::open(dir.path);
  Writer writer(env);
  auto nested = writer.submit([&writer](WriteTxn&) { writer.submit_wait([](WriteTxn&) {}); });
  CHECK_THROWS_AS(nested.get(), std::logic_error);
  auto stopping = writer.submit([&writer](WriteTxn&) { writer.stop(); });
  CHECK_THROWS_AS(stopping.get(), std::logic_error);
  auto opening = writer.submit([&env](WriteTxn&) { env.database("late"); });
  CHECK_THROWS_AS(opening.get(), std::logic_error);
}

// ---- crash safety ----

namespace {

std::string value_for(const std::string& key) {
  return "value of " + key;
}

EnvironmentOptions crash_options() {
  return {.map_size_bytes = std::size_t{1} << 30};
}

// The child: writes through a Writer from 4 threads and reports each key on `fd` only after
// its future resolved, until it is killed. Never returns.
[[noreturn]] void write_until_killed(const fs::path& path, int fd, int round) {
  try {
    auto env = Environment::open(path, crash_options());
    Database db = env.database("acked");
    auto pinned = env.begin_read();  // still open at the kill: a stale reader slot
    Writer writer(env);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          std::string key = "r" + std::to_string(round) + "/" + key_for(t, i);
          writer.submit([db, key](WriteTxn& txn) { txn.put(db, key, value_for(key)); }).get();
          std::string line = key + "\n";  // < PIPE_BUF: written atomically
          if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
            ::_exit(4);
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crash child: %s\n", e.what());
    ::_exit(3);
  }
  ::_exit(0);
}

// Opens the environment in a fresh process and exits with the number of stale reader slots
// its start-up check cleared.
[[noreturn]] void count_stale_readers_at_open(const fs::path& path) {
  try {
    auto env = Environment::open(path, crash_options());
    ::_exit(static_cast<int>(std::min<std::size_t>(env.stale_readers_at_open(), 100)));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "reader-check child: %s\n", e.what());
    ::_exit(101);
  }
}

// Forks and runs fn (which never returns) in the child; returns the child's pid.
template <class Fn>
pid_t spawn(Fn fn) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) fn();
  return pid;
}

}  // namespace

TEST_CASE("storage writer: nothing acknowledged is lost when the process is killed (SIGKILL)") {
  TempDir dir;
  const fs::path path = dir.path / "env";
  std::set<std::string> acked;
  std::mt19937 rng{std::random_device{}()};

  for (int round = 0; round < 3; ++round) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t writer_pid = spawn([&] {
      ::close(fds[0]);
      write_until_killed(path, fds[1], round);
    });
    REQUIRE(writer_pid > 0);
    ::close(fds[1]);
    // This process keeps the environment open across the kill, as a backup or export process
    // would. (The first process to open an environment resets its reader table, so stale
    // slots only survive while another process has it open.)
    auto env = Environment::open(path, crash_options());

    // Read acknowledgements; kill the writer at a random moment once it is writing.
    const auto kill_after = std::chrono::milliseconds(10 + rng() % 300);
    std::optional<std::chrono::steady_clock::time_point> first_ack;
    bool killed = false;
    std::size_t acked_this_round = 0;
    std::string pending;
    char chunk[4096];
    for (;;) {
      ssize_t n = ::read(fds[0], chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // EOF: the child is gone
      pending.append(chunk, static_cast<std::size_t>(n));
      for (std::size_t end; (end = pending.find('\n')) != std::string::npos;) {
        acked.insert(pending.substr(0, end));
        pending.erase(0, end + 1);
        ++acked_this_round;
      }
      if (!first_ack && acked_this_round > 0) first_ack = std::chrono::steady_clock::now();
      if (!killed && acked_this_round >= 10 &&
          std::chrono::steady_clock::now() - *first_ack >= kill_after) {
        REQUIRE(::kill(writer_pid, SIGKILL) == 0);
        killed = true;
      }
    }
    ::close(fds[0]);
    int status = 0;
    REQUIRE(::waitpid(writer_pid, &status, 0) == writer_pid);
    REQUIRE(killed);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    CHECK(pending.empty());  // acknowledgements are whole lines
    MESSAGE("round " << round << ": killed after " << acked_this_round << " acks ("
                     << kill_after.count() << " ms)");

    // A process starting now clears the dead writer's reader slot at open.
    pid_t checker_pid = spawn([&] { count_stale_readers_at_open(path); });
    REQUIRE(checker_pid > 0);
    REQUIRE(::waitpid(checker_pid, &status, 0) == checker_pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) >= 1);
    CHECK(WEXITSTATUS(status) <= 100);
    CHECK(env.check_stale_readers() == 0);  // already cleared

    Database db = env.database("acked");
    std::size_t missing = 0;
    {
      auto txn = env.begin_read();
      for (const auto& key : acked) {
        if (txn.get(db, key) != value_for(key)) ++missing;
      }
    }
    CHECK(missing == 0);
    // The write lock the writer may have died holding is recovered: writes go through.
    Writer writer(env);
    writer.submit_wait(
        [db, round](WriteTxn& txn) { txn.put(db, "after-round-" + std::to_string(round), "ok"); });
  }

  // And after a clean restart, every acknowledged write is still there.
  auto env = Environment::open(path, crash_options());
  CHECK(env.stale_readers_at_open() == 0);
  Database db = env.database("acked");
  auto txn = env.begin_read();
  std::size_t missing = 0;
  for (const auto& key : acked) missing += txn.get(db, key) == value_for(key) ? 0 : 1;
  CHECK(missing == 0);
  CHECK(txn.get(db, "after-round-2") == "ok");
  MESSAGE(acked.size() << " acknowledged writes checked");
}

TEST_SUITE_END();
