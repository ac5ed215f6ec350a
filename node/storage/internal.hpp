#pragma once
// Internal to node/storage: the state behind Environment, transactions and cursors. This is
// the only header that includes <lmdb.h>; never include it from outside node/storage/.
#include <lmdb.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "node/storage/environment.hpp"
#include "node/storage/file_tail.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::storage::detail {

// Logs `what` and aborts: a programmer's bug that would otherwise corrupt memory.
[[noreturn]] void fail_check(const char* what) noexcept;

// Throws StorageError(operation, rc) unless rc is 0.
void check_rc(int rc, const std::string& operation);

inline MDB_val to_val(std::string_view bytes) noexcept {
  return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}
inline std::string_view to_view(const MDB_val& val) noexcept {
  return {static_cast<const char*>(val.mv_data), val.mv_size};
}

// Keeps mdb_env_set_mapsize away from live transactions. Each top-level transaction of this
// process holds a share (enter/leave, callable from any thread, unlike std::shared_mutex
// whose owner must unlock); exclusive() stops new shares, waits for the count to reach zero,
// and runs its function with the gate closed. Writer-preferring, but bounded by a timeout so a
// thread that holds a read txn while waiting for the Writer cannot deadlock it forever.
class MapGate {
 public:
  void enter();
  void leave() noexcept;
  // Runs fn with no transaction open; false (fn not run) if they did not end within timeout.
  bool exclusive(std::chrono::milliseconds timeout, const std::function<void()>& fn);
  std::size_t active() noexcept;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::size_t active_ = 0;
  bool closing_ = false;
};

struct EnvState {
  EnvState() = default;
  EnvState(const EnvState&) = delete;
  EnvState& operator=(const EnvState&) = delete;
  ~EnvState();  // closes the env and forgets the path (environment.cpp)

  MDB_env* env = nullptr;
  std::filesystem::path path;
  bool registered = false;  // path is in the process-wide open set
  EnvironmentOptions options;
  std::size_t stale_readers_at_open = 0;
  std::atomic<std::size_t> map_size{0};
  MapGate gate;
  // The thread holding this process's top-level write txn, if any (deadlock checks).
  std::atomic<std::thread::id> write_owner{};
  std::atomic<int> writers{0};  // attached Writer objects
  // data.mdb's tail, readied by each top-level write txn as it begins (file_tail.hpp).
  std::unique_ptr<FileTail> tail;

  // Read txns that ended, kept for the next begin_read. mdb_txn_begin allocates and zeroes a
  // table of max_dbs entries for every read txn: 9k of the 67k instructions of a GET /healthz
  // (callgrind, issue 19). One is kept as it ended (`live`, its snapshot still held) until a
  // commit: a read that begins while nothing has been committed since takes it as it is,
  // without mdb_txn_reset and mdb_txn_renew (1.2k instructions, a loop over the named
  // databases); otherwise it is reset and renewed. reset_idle_readers() lets go of the
  // snapshots after each commit of this process and before the map moves. Each keeps its
  // reader slot (MDB_NOTLS), so at most kIdleReaders wait here; the rest are aborted. Closed
  // before the env (~EnvState).
  struct IdleReader {
    MDB_txn* txn = nullptr;
    bool live = false;  // not reset: still reading the snapshot it began with
  };
  static constexpr std::size_t kIdleReaders = 16;
  std::mutex idle_mutex;
  std::vector<IdleReader> idle_readers;

  std::shared_mutex dbs_mutex;  // guards dbs
  std::map<std::string, MDB_dbi, std::less<>> dbs;
  std::mutex open_mutex;  // serialises mdb_dbi_open (LMDB requires it)
};

struct CursorState;

struct TxnState {
  MDB_txn* txn = nullptr;  // null once ended
  EnvState* env = nullptr;
  TxnState* parent = nullptr;  // for a child txn
  TxnState* child = nullptr;   // the active child, if any
  TxnState* root = nullptr;    // the top-level txn of the family (this, for a root)
  bool write = false;
  bool map_full = false;  // on the root: some txn of the family hit MDB_MAP_FULL
  bool failed = false;  // on the root: some LMDB call of the family failed (the txn may be spoilt)
  std::vector<CursorState*> cursors;  // open cursors, closed when the txn ends
  // Cursors whose owner let go while a child was active: LMDB has shadowed them into the
  // child, so they can only be closed once the child has ended (end_txn does it).
  std::vector<MDB_cursor*> deferred_close;
  // What owners hold until this (write) txn commits: WriteTxn::hold. Dropped when it ends.
  std::vector<std::pair<const void*, std::unique_ptr<Pending>>> pending;
};

struct CursorState {
  MDB_cursor* cursor = nullptr;  // null once closed
  TxnState* txn = nullptr;
};

// Resets the live idle read txns (EnvState::idle_readers), so that none holds a snapshot.
void reset_idle_readers(EnvState& env) noexcept;

// Reads the map size back from LMDB into env.map_size.
void refresh_map_size(EnvState& env) noexcept;

// Begins a top-level txn: takes a share of the map gate, then mdb_txn_begin (adopting a map
// grown by another process on MDB_MAP_RESIZED).
std::unique_ptr<TxnState> begin_root(EnvState& env, bool write);
// Ends s (committing or aborting), closing its cursors and aborting an active child first.
// Throws StorageError if the commit fails (the txn has ended anyway).
void end_txn(TxnState& s, bool commit);

}  // namespace relay::node::storage::detail
