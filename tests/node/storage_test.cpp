// node/storage: Environment, transactions and cursors on real LMDB files.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "node/storage/environment.hpp"
#include "node/storage/file_tail.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace relay::node::storage;

namespace {

using relay::test::TempDir;

using Entry = Cursor::Entry;

}  // namespace

TEST_SUITE_BEGIN("storage");

TEST_CASE("storage: put, get, del and count") {
  TempDir dir;
  auto env = Environment::open(dir.path / "env");
  Database db = env.database("things");
  CHECK(db.valid());
  CHECK_FALSE(Database{}.valid());
  {
    auto txn = env.begin_write();
    CHECK(txn.put(db, "a", "1"));
    CHECK(txn.put(db, "b", "2"));
    CHECK(txn.put(db, "a", "one"));    // overwrite
    CHECK(txn.get(db, "a") == "one");  // a txn sees its own writes
    CHECK_FALSE(txn.put_new(db, "a", "uno"));
    CHECK(txn.get(db, "a") == "one");
    CHECK(txn.put_new(db, "c", std::string("\0\xff", 2)));
    CHECK_FALSE(txn.put(db, "b", "two", PutFlag::no_overwrite));
    txn.commit();
    CHECK_FALSE(txn.active());
    CHECK_THROWS_AS(txn.commit(), std::logic_error);
  }
  {
    auto txn = env.begin_read();
    CHECK(txn.get(db, "a") == "one");
    CHECK(txn.get(db, "b") == "2");
    CHECK(txn.get(db, "c") == std::string("\0\xff", 2));
    CHECK(txn.get(db, "zz") == std::nullopt);
    // view(): the same bytes, read in place.
    CHECK(txn.view(db, "a") == "one");
    CHECK(txn.view(db, "c") == std::string_view("\0\xff", 2));
    CHECK(txn.view(db, "zz") == std::nullopt);
    CHECK(txn.contains(db, "b"));
    CHECK_FALSE(txn.contains(db, "zz"));
    CHECK(txn.count(db) == 3);
  }
  {
    auto txn = env.begin_write();
    CHECK(txn.del(db, "b"));
    CHECK_FALSE(txn.del(db, "b"));
    CHECK_FALSE(txn.del(db, "nope"));
    txn.commit();
  }
  auto txn = env.begin_read();
  CHECK(txn.get(db, "b") == std::nullopt);
  CHECK(txn.count(db) == 2);
}

TEST_CASE("storage: cursor walks in key order and seeks") {
  TempDir dir;
  auto env = Environment::open(dir.path);
  Database db = env.database("ordered");
  {
    auto txn = env.begin_write();
    for (const char* k : {"b", "d", "a", "c", "ca"}) txn.put(db, k, std::string("v") + k);
    txn.commit();
  }
  auto txn = env.begin_read();
  auto cursor = txn.cursor(db);
  CHECK(cursor.current() == std::nullopt);  // not positioned yet
  CHECK(cursor.first() == Entry{"a", "va"});
  CHECK(cursor.next() == Entry{"b", "vb"});
  CHECK(cursor.next() == Entry{"c", "vc"});
  CHECK(cursor.next() == Entry{"ca", "vca"});
  CHECK(cursor.current() == Entry{"ca", "vca"});
  CHECK(cursor.next() == Entry{"d", "vd"});
  CHECK(cursor.next() == std::nullopt);
  CHECK(cursor.last() == Entry{"d", "vd"});
  CHECK(cursor.prev() == Entry{"ca", "vca"});
  CHECK(cursor.seek("bb") == Entry{"c", "vc"});
  CHECK(cursor.seek("c") == Entry{"c", "vc"});
  CHECK(cursor.seek("") == Entry{"a", "va"});
  CHECK(cursor.seek("e") == std::nullopt);
  CHECK(cursor.find("ca") == Entry{"ca", "vca"});
  CHECK(cursor.find("cb") == std::nullopt);

  // Keys compare bytewise: "\x80" sorts after "z", and a prefix before its extensions.
  auto w = env.begin_write();
  w.put(db, "\x80", "high");
  auto wc = w.cursor(db);
  CHECK(wc.last() == Entry{"\x80", "high"});
  w.commit();  // closes wc: a cursor never outlives its txn
  CHECK_THROWS_AS(wc.next(), std::logic_error);
}

TEST_CASE("storage: prefix and range scans") {
  TempDir dir;
  auto env = Environment::open(dir.path);
  Database db = env.database("scan");
  {
    auto txn = env.begin_write();
    for (const char* k : {"m/1", "m/2", "m/3", "ma", "l/9", "n/1"}) txn.put(db, k, k);
    txn.commit();
  }
  auto txn = env.begin_read();
  std::vector<std::string> seen;
  CHECK(txn.for_each_prefix(db, "m/", [&](std::string_view k, std::string_view v) {
    CHECK(k == v);
    seen.emplace_back(k);
  }) == 3);
  CHECK(seen == std::vector<std::string>{"m/1", "m/2", "m/3"});

  seen.clear();  // stopping early
  CHECK(txn.for_each_prefix(db, "m", [&](std::string_view k, std::string_view) {
    seen.emplace_back(k);
    return seen.size() < 2;
  }) == 2);
  CHECK(seen == std::vector<std::string>{"m/1", "m/2"});

  CHECK(txn.for_each_prefix(db, "zz", [](std::string_view, std::string_view) {}) == 0);
  CHECK(txn.for_each_prefix(db, "", [](std::string_view, std::string_view) {}) == 6);

  seen.clear();  // [first, end)
  txn.for_each_range(db, "m/2", "n/1",
                     [&](std::string_view k, std::string_view) { seen.emplace_back(k); });
  CHECK(seen == std::vector<std::string>{"m/2", "m/3", "ma"});
  seen.clear();  // empty end: to the last key
  txn.for_each_range(db, "ma", "",
                     [&](std::string_view k, std::string_view) { seen.emplace_back(k); });
  CHECK(seen == std::vector<std::string>{"ma", "n/1"});
  txn.abort();

  auto w = env.begin_write();
  CHECK(w.del_prefix(db, "m/") == 3);
  CHECK(w.count(db) == 3);
  CHECK_THROWS_AS(w.del_prefix(db, ""), std::invalid_argument);
  w.clear(db);
  CHECK(w.count(db) == 0);
  w.commit();
}

TEST_CASE("storage: reverse prefix scans, last key first") {
  TempDir dir;
  auto env = Environment::open(dir.path);
  Database db = env.database("scan");
  {
    auto txn = env.begin_write();
    for (const char* k : {"a", "m/1", "m/2", "m/3", "ma",
                          "m\xff\xff"
                          "1",
                          "m\xff\xff"
                          "2",
                          "\xff\xff"})
      txn.put(db, k, k);
    txn.commit();
  }
  auto txn = env.begin_read();
  auto reverse = [&](std::string_view prefix, std::size_t stop_after = 100) {
    std::vector<std::string> seen;
    const auto visited =
        txn.for_each_prefix_reverse(db, prefix, [&](std::string_view k, std::string_view v) {
          CHECK(k == v);
          seen.emplace_back(k);
          return seen.size() < stop_after;
        });
    CHECK(visited == seen.size());
    return seen;
  };
  using Keys = std::vector<std::string>;
  CHECK(reverse("m/") == Keys{"m/3", "m/2", "m/1"});
  CHECK(reverse("m/", 2) == Keys{"m/3", "m/2"});  // stopping early
  CHECK(reverse("m/2") == Keys{"m/2"});
  // A prefix ending in 0xff bytes, and one that is all 0xff: the keys after it are the end.
  CHECK(reverse("m\xff\xff") == Keys{"m\xff\xff"
                                     "2",
                                     "m\xff\xff"
                                     "1"});
  CHECK(reverse("\xff") == Keys{"\xff\xff"});
  CHECK(reverse("m").size() == 6);
  CHECK(reverse("") == Keys{"\xff\xff",
                            "m\xff\xff"
                            "2",
                            "m\xff\xff"
                            "1",
                            "ma", "m/3", "m/2", "m/1", "a"});
  CHECK(reverse("b").empty());   // between keys
  CHECK(reverse("0").empty());   // before every key
  CHECK(reverse("zz").empty());  // after every key but the 0xff ones
  txn.abort();
  auto empty = env.database("empty");
  auto read = env.begin_read();
  CHECK(read.for_each_prefix_reverse(empty, "m", [](std::string_view, std::string_view) {}) == 0);
}

TEST_CASE("storage: an uncommitted write txn aborts; readers see snapshots") {
  TempDir dir;
  auto env = Environment::open(dir.path);
  Database db = env.database("t");
  {
    auto txn = env.begin_write();
    txn.put(db, "kept", "1");
    txn.commit();
  }
  {
    auto txn = env.begin_write();
    txn.put(db, "lost", "1");
    txn.del(db, "kept");
    // destroyed without commit()
  }
  {
    auto txn = env.begin_write();
    txn.put(db, "lost2", "1");
    txn.abort();
    CHECK_FALSE(txn.active());
    CHECK_THROWS_AS(txn.put(db, "x", "y"), std::logic_error);
  }
  auto before = env.begin_read();
  {
    auto txn = env.begin_write();
    txn.put(db, "later", "1");
    txn.commit();
  }
  CHECK(before.get(db, "kept") == "1");
  CHECK_FALSE(before.contains(db, "lost"));
  CHECK_FALSE(before.contains(db, "lost2"));
  CHECK_FALSE(before.contains(db, "later"));  // a snapshot: the later commit is not visible
  auto after = env.begin_read();
  CHECK(after.contains(db, "later"));
}

// Ended read txns are reset and renewed for the next ones (mdb_txn_renew, issue 19): each
// must still see the snapshot of its own start, however many are open, on any thread, and
// none may hold a reader slot once the environment is closed.
TEST_CASE("storage: reused read txns see their own snapshots; no slot outlives the env") {
  TempDir dir;
  {
    auto env = Environment::open(dir.path / "node");
    Database db = env.database("t");
    auto write = [&](int v) {
      auto txn = env.begin_write();
      txn.put(db, "k", std::to_string(v));
      txn.commit();
    };
    write(0);
    std::vector<ReadTxn> held;  // more than are ever kept idle
    for (int v = 1; v <= 40; ++v) {
      {
        auto txn = env.begin_read();
        CHECK(txn.get(db, "k") == std::to_string(v - 1));
      }
      held.push_back(env.begin_read());
      write(v);
      auto txn = env.begin_read();
      CHECK(txn.get(db, "k") == std::to_string(v));
    }
    for (std::size_t i = 0; i < held.size(); ++i) CHECK(held[i].get(db, "k") == std::to_string(i));
    held.clear();  // all ended: some kept for reuse, the rest aborted
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 8; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < 200; ++i)
          if (env.begin_read().get(db, "k") != "40") ++wrong;
      });
    for (auto& t : threads) t.join();
    CHECK(wrong == 0);
    write(41);
    CHECK(env.begin_read().get(db, "k") == "41");
  }
  auto env = Environment::open(dir.path / "node");
  CHECK(env.stale_readers_at_open() == 0);
  Database db = env.database("t");
  CHECK(env.begin_read().get(db, "k") == "41");
}

TEST_CASE("storage: a kept read txn is used again only while nothing has been committed") {
  TempDir dir;
  auto env = Environment::open(dir.path / "node");
  Database db = env.database("t");
  {
    auto txn = env.begin_write();
    txn.put(db, "k", "mine");
    txn.commit();
  }
  CHECK(env.begin_read().get(db, "k") == "mine");  // ends kept, on that snapshot
  CHECK(env.begin_read().get(db, "k") == "mine");  // taken as it is

  // Another process commits: the kept snapshot is stale, and the next read sees the commit.
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int code = 1;
    try {
      auto other = Environment::open(dir.path / "node");
      Database t = other.database("t");
      auto txn = other.begin_write();
      txn.put(t, "k", "theirs");
      txn.commit();
      code = 0;
    } catch (...) {
    }
    ::_exit(code);
  }
  REQUIRE(pid > 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK(env.begin_read().get(db, "k") == "theirs");

  // This process's commits let go of the kept snapshots: with no read in between, 400 commits
  // that each replace a 100 KB value reuse the pages the one before freed. (A snapshot held
  // through them would keep every old value: 40 MB more file.)
  CHECK(env.begin_read().get(db, "k") == "theirs");
  const auto before = fs::file_size(dir.path / "node" / "data.mdb");
  for (int i = 0; i < 400; ++i) {
    auto txn = env.begin_write();
    txn.put(db, "big", std::string(100 * 1024, static_cast<char>('a' + i % 26)));
    txn.commit();
  }
  CHECK(fs::file_size(dir.path / "node" / "data.mdb") < before + 20 * 1024 * 1024);
  CHECK(env.begin_read().get(db, "big") ==
        std::string(100 * 1024, static_cast<char>('a' + 399 % 26)));
}

TEST_CASE("storage: a read txn may move to another thread (MDB_NOTLS)") {
  TempDir dir;
  auto env = Environment::open(dir.path);
  Database db = env.database("t");
  {
    auto txn = env.begin_write();
    txn.put(db, "k", "v");
    txn.commit();
  }
  auto txn = env.begin_read();
  std::optional<std::string> got;
  std::thread([&] {
    ReadTxn moved = std::move(txn);
    got = moved.get(db, "k");
  }).join();
  CHECK(got == "v");
  CHECK_FALSE(txn.active());
}

TEST_CASE("storage: child txns commit into, or abort out of, their parent") {
  TempDir dir;
  auto env = Environment::open(dir.path);
  Database db = env.database("t");
  auto txn = env.begin_write();
  txn.put(db, "parent", "1");
  {
    auto child = txn.child();
    CHECK(child.get(db, "parent") == "1");
    child.put(db, "kept", "1");
    CHECK_THROWS_AS(txn.get(db, "parent"), StorageError);  // parent blocked while child lives
    child.commit();
  }
  {
    auto child = txn.child();
    child.put(db, "dropped", "1");
    child.del(db, "parent");
  }  // aborted
  {
    auto child = txn.child();
    auto grandchild = child.child();
    grandchild.put(db, "grand", "1");
    grandchild.commit();
    child.commit();
  }
  auto orphan = txn.child();
  orphan.put(db, "orphan", "1");
  txn.abort();  // aborting the parent aborts the child too
  CHECK_FALSE(orphan.active());

  txn = env.begin_write();
  {
    auto child = txn.child();
    child.put(db, "x", "1");
    CHECK_THROWS_AS(txn.commit(), std::logic_error);  // child still active
    child.commit();
  }
  txn.put(db, "parent", "1");
  {
    auto child = txn.child();
    child.put(db, "kept", "1");
    auto grandchild = child.child();
    grandchild.put(db, "grand", "1");
    grandchild.commit();
    child.commit();
  }
  {
    auto child = txn.child();
    child.put(db, "dropped", "1");
  }
  txn.commit();
  auto read = env.begin_read();
  CHECK(read.contains(db, "parent"));
  CHECK(read.contains(db, "kept"));
  CHECK(read.contains(db, "grand"));
  CHECK(read.contains(db, "x"));
  CHECK_FALSE(read.contains(db, "dropped"));
  CHECK_FALSE(read.contains(db, "orphan"));
}

namespace {

// Stores value under key when its txn writes what it holds; counts its writes.
class Held final : public Pending {
 public:
  Held(Database db, std::string key, int& writes)
      : db_(db), key_(std::move(key)), writes_(writes) {}
  void write(WriteTxn& txn) override {
    ++writes_;
    txn.put(db_, key_, "held");
  }

 private:
  Database db_;
  std::string key_;
  int& writes_;
};

}  // namespace

TEST_CASE("storage: what a write txn holds is written once: at commit, before a child, or never") {
  TempDir dir;
  auto env = Environment::open(dir.path);
  Database db = env.database("t");
  int writes = 0;
  const int owner = 0, other = 0;
  {
    auto txn = env.begin_write();
    CHECK(txn.pending(&owner) == nullptr);
    txn.hold(&owner, std::make_unique<Held>(db, "replaced", writes));
    auto& held = txn.hold(&owner, std::make_unique<Held>(db, "a", writes));  // one per owner
    CHECK(txn.pending(&owner) == &held);
    CHECK(txn.pending(&other) == nullptr);
    CHECK_FALSE(txn.contains(db, "a"));  // held, not written yet
    txn.commit();
    CHECK(writes == 1);
    CHECK(txn.pending(&owner) == nullptr);
  }
  {
    auto txn = env.begin_write();
    txn.hold(&owner, std::make_unique<Held>(db, "aborted", writes));
  }  // aborted
  CHECK(writes == 1);
  {
    auto txn = env.begin_write();
    txn.hold(&owner, std::make_unique<Held>(db, "parent", writes));
    {
      auto child = txn.child();  // the parent's is written first, into the parent
      CHECK(writes == 2);
      CHECK(child.get(db, "parent") == "held");
      CHECK(child.pending(&owner) == nullptr);
      child.hold(&owner, std::make_unique<Held>(db, "dropped child", writes));
    }  // the child aborts, and what it held with it
    CHECK(writes == 2);
    {
      auto child = txn.child();
      child.hold(&owner, std::make_unique<Held>(db, "kept child", writes));
      child.commit();
    }
    CHECK(writes == 3);
    CHECK(txn.get(db, "kept child") == "held");
    txn.commit();
    CHECK(writes == 3);  // nothing written twice
  }
  {
    auto txn = env.begin_write();
    txn.put(db, "beside a failed write", "1");
    txn.hold(&owner, std::make_unique<Held>(db, std::string(env.max_key_size() + 1, 'k'), writes));
    CHECK_THROWS_AS(txn.commit(), StorageError);  // a write that fails fails the commit
    CHECK_FALSE(txn.active());
  }
  auto read = env.begin_read();
  CHECK(read.pending(&owner) == nullptr);
  CHECK(read.get(db, "a") == "held");
  CHECK(read.contains(db, "parent"));
  CHECK(read.contains(db, "kept child"));
  CHECK_FALSE(read.contains(db, "replaced"));
  CHECK_FALSE(read.contains(db, "aborted"));
  CHECK_FALSE(read.contains(db, "dropped child"));
  CHECK_FALSE(read.contains(db, "beside a failed write"));
  CHECK(read.count(db) == 3);
}

TEST_CASE("storage: a parent's cursor survives a child txn") {
  TempDir dir;
  auto env = Environment::open(dir.path);
  Database db = env.database("t");
  auto txn = env.begin_write();
  txn.put(db, "a", "1");
  txn.put(db, "b", "2");
  std::optional<Cursor> cursor = txn.cursor(db);
  CHECK(cursor->first() == Entry{"a", "1"});
  {
    auto child = txn.child();
    child.put(db, "c", "3");
    CHECK_THROWS_AS(cursor->next(), std::logic_error);  // parent is blocked
    cursor.reset();  // let go while the child is active: closed when safe
    child.commit();
  }
  auto again = txn.cursor(db);
  CHECK(again.last() == Entry{"c", "3"});
  txn.commit();
}

TEST_CASE("storage: data survive closing and reopening the environment") {
  TempDir dir;
  {
    auto env = Environment::open(dir.path / "node");
    Database db = env.database("members");
    auto txn = env.begin_write();
    for (int i = 0; i < 1000; ++i) txn.put(db, "m" + std::to_string(i), std::to_string(i * i));
    txn.commit();
  }
  CHECK((fs::status(dir.path / "node").permissions() & fs::perms::all) == fs::perms::owner_all);
  auto env = Environment::open(dir.path / "node");
  CHECK(env.stale_readers_at_open() == 0);
  Database db = env.database("members");
  auto txn = env.begin_read();
  CHECK(txn.count(db) == 1000);
  CHECK(txn.get(db, "m999") == std::to_string(999 * 999));
}

TEST_CASE("storage: named databases are separate") {
  TempDir dir;
  auto env = Environment::open(dir.path);
  Database a = env.database("a");
  Database b = env.database("b");
  CHECK(a != b);
  CHECK(env.database("a") == a);  // cached
  CHECK_THROWS_AS(env.database(""), std::invalid_argument);
  {
    auto txn = env.begin_write();
    txn.put(a, "k", "in a");
    txn.put(b, "k", "in b");
    txn.put(b, "only-b", "1");
    txn.commit();
  }
  auto txn = env.begin_read();
  CHECK(txn.get(a, "k") == "in a");
  CHECK(txn.get(b, "k") == "in b");
  CHECK_FALSE(txn.contains(a, "only-b"));
  CHECK(txn.count(a) == 1);
  CHECK(txn.count(b) == 2);
}

TEST_CASE("storage: databases open concurrently from many threads") {
  TempDir dir;
  auto env = Environment::open(dir.path);
  std::vector<std::thread> threads;
  std::vector<Database> handles(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] { handles[t] = env.database("db" + std::to_string(t % 3)); });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < 8; ++t) CHECK(handles[t] == env.database("db" + std::to_string(t % 3)));
}

TEST_CASE("storage: errors name the operation and carry the LMDB code") {
  TempDir dir;
  auto env = Environment::open(dir.path, {.max_dbs = 2});
  Database db = env.database("one");
  env.database("two");
  try {
    env.database("three");
    FAIL("expected MDB_DBS_FULL");
  } catch (const StorageError& e) {
    CHECK(e.code() == -30791);  // MDB_DBS_FULL
    CHECK(std::string(e.what()).find("mdb_dbi_open(three)") != std::string::npos);
  }
  auto txn = env.begin_write();
  std::string long_key(env.max_key_size() + 1, 'k');
  try {
    txn.put(db, long_key, "v");
    FAIL("expected MDB_BAD_VALSIZE");
  } catch (const StorageError& e) {
    CHECK(e.operation() == "mdb_put");
    CHECK_FALSE(e.map_full());
  }
  CHECK_THROWS_AS(txn.get(Database{}, "k"), StorageError);
  CHECK_THROWS_AS(env.begin_write(), std::logic_error);  // this thread already writes
  CHECK_THROWS_AS(env.database("four"), std::logic_error);
}

TEST_CASE("storage: opening the same environment twice in one process is refused") {
  TempDir dir;
  auto env = Environment::open(dir.path);
  CHECK_THROWS_AS(Environment::open(dir.path / "." / ""), std::logic_error);
  Environment moved = std::move(env);
  CHECK(moved.path() == fs::canonical(dir.path));
}

TEST_CASE("storage: hot backup with copy_to") {
  TempDir dir;
  auto env = Environment::open(dir.path / "live");
  Database db = env.database("ledger");
  {
    auto txn = env.begin_write();
    for (int i = 0; i < 5000; ++i) txn.put(db, "e" + std::to_string(i), std::string(100, 'x'));
    txn.commit();
  }
  {
    auto txn = env.begin_write();
    CHECK(txn.del_prefix(db, "e1") == 1111);
    txn.commit();
  }
  auto reader = env.begin_read();  // a reader during the copy is fine
  env.copy_to(dir.path / "backup");
  env.copy_to(dir.path / "plain", false);
  CHECK_THROWS_AS(env.copy_to(dir.path / "backup"), StorageError);  // never overwrites
  reader.abort();
  CHECK(fs::file_size(dir.path / "backup" / "data.mdb") <
        fs::file_size(dir.path / "plain" / "data.mdb"));

  auto copy = Environment::open(dir.path / "backup");
  Database copied = copy.database("ledger");  // open databases before reading
  auto txn = copy.begin_read();
  CHECK(txn.count(copied) == 5000 - 1111);
  CHECK(txn.get(copied, "e4999") == std::string(100, 'x'));
}

TEST_SUITE_END();

TEST_CASE("storage: FileTail readies the pages past the data, never shrinks the file") {
  TempDir dir;
  const fs::path file = dir.path / "data.mdb";
  const std::string data(3 * 4096, 'd');
  {
    std::ofstream out(file, std::ios::binary);
    out << data;
  }
  FileTail tail(file, 4096);
  CHECK(tail.ready_end() == 0);
  tail.ready(data.size(), std::uint64_t{1} << 40);
  CHECK(tail.ready_end() == data.size() + FileTail::kAhead);
  CHECK(fs::file_size(file) == data.size() + FileTail::kAhead);
  {
    std::ifstream in(file, std::ios::binary);
    std::string head(data.size(), '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    CHECK(head == data);  // the data is untouched; the rest reads as zeros
    std::string next(4096, 'x');
    in.read(next.data(), 4096);
    CHECK(next == std::string(4096, '\0'));
  }
  // More than half is still ahead of the data: nothing to do.
  tail.ready(data.size() + FileTail::kAhead / 2 - 4096, std::uint64_t{1} << 40);
  CHECK(tail.ready_end() == data.size() + FileTail::kAhead);
  // Less: the window moves on.
  const std::uint64_t grown = data.size() + FileTail::kAhead / 2 + 4096;
  tail.ready(grown, std::uint64_t{1} << 40);
  CHECK(tail.ready_end() == grown + FileTail::kAhead);
  CHECK(fs::file_size(file) == grown + FileTail::kAhead);

  // Never past the map, and never shorter than the file already is.
  FileTail other(file, 4096);
  other.ready(4096, 4096 * 10);
  CHECK(other.ready_end() == 4096 * 10);
  CHECK(fs::file_size(file) == grown + FileTail::kAhead);

  // A file it cannot open: nothing happens, nothing throws.
  FileTail missing(dir.path / "absent" / "data.mdb", 4096);
  missing.ready(0, std::uint64_t{1} << 40);
  CHECK(missing.ready_end() == 0);
  CHECK_FALSE(fs::exists(dir.path / "absent"));
}

TEST_CASE("storage: a write txn readies data.mdb's tail; LMDB, reopening and copies ignore it") {
  TempDir dir;
  std::uintmax_t copied_size = 0;
  {
    auto env = Environment::open(dir.path / "env");
    Database db = env.database("things");
    {
      auto txn = env.begin_write();
      for (int i = 0; i < 2000; ++i) txn.put(db, "k" + std::to_string(i), std::string(200, 'v'));
      txn.commit();
    }
    CHECK(fs::file_size(dir.path / "env" / "data.mdb") >= FileTail::kAhead);
    env.copy_to(dir.path / "copy", false);
    copied_size = fs::file_size(dir.path / "copy" / "data.mdb");
    CHECK(copied_size < FileTail::kAhead);  // only LMDB's pages are copied
  }
  for (auto name : {"env", "copy"}) {
    CAPTURE(name);
    auto env = Environment::open(dir.path / name);
    Database db = env.database("things");
    {
      auto txn = env.begin_write();
      CHECK(txn.count(db) == 2000);
      CHECK(txn.get(db, "k1999") == std::string(200, 'v'));
      txn.put(db, "after", "reopen");
      txn.commit();
    }
    auto txn = env.begin_read();
    CHECK(txn.get(db, "after") == "reopen");
    CHECK(txn.count(db) == 2001);
  }
  CHECK(fs::file_size(dir.path / "copy" / "data.mdb") > copied_size);  // its tail, once written
}
