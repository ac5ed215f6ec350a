#pragma once
// Environment: the node's one LMDB environment (a directory holding data.mdb and lock.mdb).
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "node/storage/database.hpp"
#include "node/storage/error.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::storage {

namespace detail {
struct EnvState;
}  // namespace detail

// Settings for Environment::open.
struct EnvironmentOptions {
  // Smallest size of the memory map (a map grown earlier, stored in the file, is kept). Only
  // address space: the file grows as pages are used. The Writer doubles it when a batch
  // fills it (see max_map_size_bytes).
  std::size_t map_size_bytes = std::size_t{1} << 30;
  // Most named databases the environment can hold (mdb_env_set_maxdbs).
  unsigned max_dbs = 128;
  // Most read transactions open at once (reader slots, mdb_env_set_maxreaders).
  unsigned max_readers = 126;
  // The map never grows past this; a batch that needs more fails with MDB_MAP_FULL.
  std::size_t max_map_size_bytes = std::size_t{1} << 40;
  // How long map growth waits for this process's open transactions to end before giving up
  // (the batch then fails with MDB_MAP_FULL instead of blocking forever).
  std::chrono::milliseconds resize_wait{10000};
};

// Owns the MDB_env: move-only, closed on destruction.
//
// Invariants: opened with MDB_NOTLS (a read txn may move between threads) and full durability
// (no MDB_NOSYNC, MDB_NOMETASYNC, MDB_WRITEMAP): a committed write txn has been fsynced. At
// most one Environment per directory per process (LMDB's locks are per process; opening the
// same files twice would drop them): a second open() throws std::logic_error.
//
// Map growth: every transaction of this process holds a share of a "map gate" for its life;
// resize_map() closes the gate to new transactions, waits (up to resize_wait) for the open ones
// to end, then remaps. So no read can ever see the old mapping disappear under it.
//
// Threads: every method may be called from any thread, concurrently, except that the
// Environment must not be moved or destroyed while transactions, cursors or a Writer use it
// (destroying it with a transaction open aborts the process: that is a bug).
class Environment {
 public:
  using Options = EnvironmentOptions;

  // Creates dir (mode 0700) if missing, opens or creates the environment in it, and clears
  // reader slots left by dead processes (mdb_reader_check; the count is logged and kept in
  // stale_readers_at_open()). Throws StorageError if the directory or LMDB refuses.
  static Environment open(const std::filesystem::path& dir, Options options = {});

  Environment(Environment&& other) noexcept;
  Environment& operator=(Environment&& other) noexcept;
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
  ~Environment();

  // The named database `name` (non-empty), created if missing. Opened once, in its own short
  // write txn, then cached by name. Open every database at start-up: a read txn that began
  // before a database was first opened cannot use it. Throws std::logic_error if called on a
  // thread that holds a write txn (it would wait for itself).
  Database database(const std::string& name);

  // Begins a read-only snapshot.
  ReadTxn begin_read();
  // Begins a top-level write transaction, waiting for any other one to end. The running node
  // writes through its Writer instead; this is for set-up, tools and tests. Throws
  // std::logic_error if this thread already holds a write txn (it would wait for itself).
  WriteTxn begin_write();

  // Hot backup: writes a consistent copy of the environment to dir/data.mdb while reads and
  // writes go on (mdb_env_copy2). dir is created (0700) if missing and must not already hold
  // a data.mdb. With compact, free pages are omitted and pages renumbered; erased records'
  // old bytes may still sit in free pages of a plain copy. Blocks map growth while it runs.
  void copy_to(const std::filesystem::path& dir, bool compact = true);

  // The current size of the memory map in bytes.
  std::size_t map_size() const noexcept;
  // Remaps to `bytes` (never below the data already in use). Waits up to resize_wait for this
  // process's open transactions to end; throws StorageError (MDB_MAP_FULL) if they do not.
  // Must not be called by a thread that holds a transaction.
  void resize_map(std::size_t bytes);

  // Drops this process's mappings of the map's pages (madvise MADV_DONTNEED). Every page a
  // read touched stays mapped, and counted in VmRSS, until then. The map is read-only and
  // shared (LMDB writes with pwrite), so nothing is lost: the pages stay in the page cache and
  // the next read that needs one maps it again (a minor fault). Open transactions are
  // unaffected. Waits while the map is being resized.
  void release_mapped_pages();

  // Clears reader slots of dead processes now (mdb_reader_check); returns how many.
  std::size_t check_stale_readers();
  // How many stale reader slots open() cleared (left by a process killed mid-read).
  std::size_t stale_readers_at_open() const noexcept;

  // The largest key LMDB accepts, in bytes.
  std::size_t max_key_size() const noexcept;
  // The directory the environment lives in (canonical).
  const std::filesystem::path& path() const noexcept;
  // The options it was opened with.
  const Options& options() const noexcept;

 private:
  friend class Writer;
  explicit Environment(std::unique_ptr<detail::EnvState> state) noexcept;
  std::unique_ptr<detail::EnvState> state_;
};

}  // namespace relay::node::storage
