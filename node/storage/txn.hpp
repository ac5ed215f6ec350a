#pragma once
// Transactions: ReadTxn (a consistent snapshot) and WriteTxn (the only way to change data).
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "node/storage/cursor.hpp"
#include "node/storage/database.hpp"

namespace relay::node::storage {

class Environment;
class Writer;
class WriteTxn;

namespace detail {
struct TxnState;
}  // namespace detail

// How WriteTxn::put treats an existing key.
enum class PutFlag {
  overwrite,     // replace any existing value
  no_overwrite,  // leave an existing value alone and return false (MDB_NOOVERWRITE)
  append,        // key sorts after every existing key: a fast bulk load (MDB_APPEND)
};

// Changes a write txn holds in memory and writes once, just before it commits (WriteTxn::hold):
// a value that many requests of one Writer batch change, such as a month's statistics
// counters, is then stored once per batch instead of once per change. Its owner reads it back
// through Txn::pending while the txn lasts, and merges it into any scan of what it holds.
class Pending {
 public:
  virtual ~Pending() = default;
  // Writes the changes into txn, the txn that held them. Called once: when txn commits, or
  // before it begins a child (so the child reads them from LMDB). A txn that aborts drops
  // them unwritten, and so does a child's abort drop what the child held.
  virtual void write(WriteTxn& txn) = 0;
};

// What ReadTxn and WriteTxn share: the read operations. Pass `const Txn&` to helpers that only
// read, so they serve HTTP reads and Writer requests alike.
//
// Values are copied out (std::string), so they outlive the transaction. A txn that ends without
// commit() is aborted: nothing it wrote becomes visible. Keys are 1..max_key_size() bytes
// (511 by default); an empty or longer key throws StorageError (MDB_BAD_VALSIZE).
//
// Threads: a transaction is used by one thread at a time. A ReadTxn may move to another thread
// (the environment is opened with MDB_NOTLS); a WriteTxn must end on the thread that began it.
class Txn {
 public:
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  // False once the transaction has been committed or aborted (or moved from).
  bool active() const noexcept;
  // True for a ReadTxn: what it reads is committed, never an append a batch may roll back.
  bool read_only() const noexcept;
  // Ends the transaction, discarding any writes. Does nothing if it has already ended.
  void abort() noexcept;

  // The value stored under key, or std::nullopt.
  std::optional<std::string> get(Database db, std::string_view key) const;
  // As get(), the bytes in the map itself: valid until the txn ends or anything is written in
  // it, to any database (LMDB's rule for mdb_get). For a look-up that only compares or parses
  // the value (a member's record on every API request).
  std::optional<std::string_view> view(Database db, std::string_view key) const;
  // True if key is present.
  bool contains(Database db, std::string_view key) const;
  // The number of entries in db (mdb_stat).
  std::size_t count(Database db) const;
  // A cursor over db, unpositioned.
  Cursor cursor(Database db) const;
  // What owner holds in this txn (WriteTxn::hold), or nullptr: always in a ReadTxn, and in a
  // txn that has ended.
  Pending* pending(const void* owner) const noexcept;

  // Calls fn(key, value) for each entry whose key starts with prefix, in key order; fn returns
  // void, or bool where false stops the scan. The string_views point into the map and are
  // valid only during the call; do not write to this txn from inside fn. Returns the number
  // of entries visited.
  template <class Fn>
  std::size_t for_each_prefix(Database db, std::string_view prefix, Fn&& fn) const {
    return scan(db, prefix, prefix, {}, &visit<Fn>, erase(fn));
  }
  // As for_each_prefix, from the last key that starts with prefix back to the first: the
  // newest first where keys end in a time.
  template <class Fn>
  std::size_t for_each_prefix_reverse(Database db, std::string_view prefix, Fn&& fn) const {
    return scan_reverse(db, prefix, &visit<Fn>, erase(fn));
  }
  // As for_each_prefix, over the keys k with first <= k < end. An empty `end` means "to the
  // last key" (LMDB has no empty keys).
  template <class Fn>
  std::size_t for_each_range(Database db, std::string_view first, std::string_view end,
                             Fn&& fn) const {
    return scan(db, first, {}, end, &visit<Fn>, erase(fn));
  }

 protected:
  explicit Txn(std::unique_ptr<detail::TxnState> state) noexcept;
  Txn(Txn&& other) noexcept;
  Txn& operator=(Txn&& other) noexcept;
  ~Txn();

  std::unique_ptr<detail::TxnState> state_;

 private:
  friend class Environment;
  using Visitor = bool (*)(void* fn, std::string_view key, std::string_view value);

  template <class Fn>
  static bool visit(void* fn, std::string_view key, std::string_view value) {
    auto& f = *static_cast<std::remove_reference_t<Fn>*>(fn);
    if constexpr (std::is_void_v<
                      std::invoke_result_t<decltype(f), std::string_view, std::string_view>>) {
      f(key, value);
      return true;
    } else {
      return static_cast<bool>(f(key, value));
    }
  }
  template <class Fn>
  static void* erase(Fn& fn) noexcept {
    return const_cast<void*>(static_cast<const void*>(&fn));
  }
  // Visits entries from `from` (the first key if empty) while they start with `prefix` (if not
  // empty) and sort before `end` (if not empty).
  std::size_t scan(Database db, std::string_view from, std::string_view prefix,
                   std::string_view end, Visitor visitor, void* fn) const;
  // Visits the entries that start with `prefix` (every entry if it is empty), last first.
  std::size_t scan_reverse(Database db, std::string_view prefix, Visitor visitor, void* fn) const;
};

// A read-only snapshot from Environment::begin_read(). It sees the data committed when it
// began, and nothing later. Holding one for long keeps old pages from being reused (the file
// grows) and delays map growth (see Environment); read, copy out, and end it.
class ReadTxn : public Txn {
 public:
  ReadTxn(ReadTxn&&) noexcept = default;
  ReadTxn& operator=(ReadTxn&&) noexcept = default;
  ~ReadTxn() = default;

 private:
  friend class Environment;
  explicit ReadTxn(std::unique_ptr<detail::TxnState> state) noexcept;
};

// A write transaction: from Environment::begin_write() (set-up, tools, tests) or handed to a
// Writer request (everything the running node changes). It sees its own writes. LMDB allows
// one write transaction per environment at a time; a second begin_write() waits for it.
class WriteTxn : public Txn {
 public:
  WriteTxn(WriteTxn&&) noexcept = default;
  WriteTxn& operator=(WriteTxn&&) noexcept = default;
  ~WriteTxn() = default;

  // Stores value under key. Returns false only with PutFlag::no_overwrite when key exists (the
  // stored value is left unchanged); true otherwise.
  bool put(Database db, std::string_view key, std::string_view value,
           PutFlag flag = PutFlag::overwrite);
  // Stores value under key unless key exists; returns false (and changes nothing) if it does.
  [[nodiscard]] bool put_new(Database db, std::string_view key, std::string_view value);
  // Deletes key; returns false if it was not there.
  bool del(Database db, std::string_view key);
  // Deletes every key starting with prefix (non-empty); returns how many.
  std::size_t del_prefix(Database db, std::string_view prefix);
  // Deletes every entry of db (the database itself stays).
  void clear(Database db);

  // Holds p for owner (one per owner: a second replaces the first, unwritten) until this txn
  // commits, which writes it first, or aborts. Returns it.
  Pending& hold(const void* owner, std::unique_ptr<Pending> p);

  // Begins a nested transaction. Until the child ends, this txn may not be used (LMDB
  // returns MDB_BAD_TXN); committing the child folds its writes into this txn, aborting it
  // discards them. Ending this txn first aborts the child.
  WriteTxn child();

  // Writes what it holds (Pending), then commits. For a top-level txn, returns after the data
  // is on disk (fsync). Throws StorageError if the commit (or a Pending's write) fails, in
  // which case nothing was written and the txn has ended (LMDB frees it: it is never aborted
  // afterwards). Throws std::logic_error if a child is still active.
  void commit();

 private:
  friend class Environment;
  friend class Writer;
  explicit WriteTxn(std::unique_ptr<detail::TxnState> state) noexcept;
  // Writes and drops everything held (Pending), in the order it was first held.
  void write_pending();
  // True if any operation in this txn's family (root and children) hit MDB_MAP_FULL.
  bool map_full_seen() const noexcept;
  // True if any LMDB call in this txn's family failed, caught or not: LMDB may have spoilt
  // the txn (MDB_TXN_ERROR), so the Writer no longer trusts its writes.
  bool failure_seen() const noexcept;
};

}  // namespace relay::node::storage
