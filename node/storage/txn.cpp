#include "node/storage/txn.hpp"

#include <stdexcept>
#include <utility>

#include "node/storage/error.hpp"
#include "node/storage/internal.hpp"

namespace relay::node::storage {

namespace detail {

namespace {

// An idle read txn on the latest snapshot, or null (none idle, or renewing failed: then it is
// discarded and the caller begins a new one). A live one whose snapshot is still the last
// committed (any process's commit changes the meta page's txnid) is used as it is.
MDB_txn* reuse_idle_reader(EnvState& env) {
  EnvState::IdleReader idle;
  {
    std::lock_guard lock(env.idle_mutex);
    if (env.idle_readers.empty()) return nullptr;
    idle = env.idle_readers.back();
    env.idle_readers.pop_back();
  }
  if (idle.live) {
    MDB_envinfo info{};
    if (mdb_env_info(env.env, &info) == MDB_SUCCESS && info.me_last_txnid == mdb_txn_id(idle.txn))
      return idle.txn;
    mdb_txn_reset(idle.txn);
  }
  if (mdb_txn_renew(idle.txn) == MDB_SUCCESS) return idle.txn;
  mdb_txn_abort(idle.txn);
  return nullptr;
}

// Ends a top-level read txn, keeping it (live) for the next one when there is room.
void end_reader(EnvState& env, MDB_txn* txn) {
  {
    std::lock_guard lock(env.idle_mutex);
    if (env.idle_readers.size() < EnvState::kIdleReaders) {
      env.idle_readers.push_back({txn, true});
      return;
    }
  }
  mdb_txn_abort(txn);
}

// LMDB's write lock is held and nothing is written yet: the moment to ready the pages the
// file grows into next (file_tail.hpp).
void ready_tail(EnvState& env) noexcept {
  MDB_envinfo info{};
  if (env.tail == nullptr || mdb_env_info(env.env, &info) != MDB_SUCCESS) return;
  env.tail->ready((static_cast<std::uint64_t>(info.me_last_pgno) + 1) * env.tail->page_size(),
                  info.me_mapsize);
}

}  // namespace

void reset_idle_readers(EnvState& env) noexcept {
  std::lock_guard lock(env.idle_mutex);
  for (auto& idle : env.idle_readers) {
    if (!idle.live) continue;
    mdb_txn_reset(idle.txn);
    idle.live = false;
  }
}

std::unique_ptr<TxnState> begin_root(EnvState& env, bool write) {
  if (write && env.write_owner.load() == std::this_thread::get_id()) {
    throw std::logic_error("storage: this thread already holds a write transaction");
  }
  auto s = std::make_unique<TxnState>();
  s->env = &env;
  s->root = s.get();
  s->write = write;
  for (int attempt = 0;; ++attempt) {
    env.gate.enter();
    if (!write && (s->txn = reuse_idle_reader(env)) != nullptr) return s;
    int rc = mdb_txn_begin(env.env, nullptr, write ? 0U : MDB_RDONLY, &s->txn);
    if (rc == MDB_SUCCESS) {
      if (write) {
        env.write_owner.store(std::this_thread::get_id());
        ready_tail(env);
      }
      return s;
    }
    s->txn = nullptr;
    env.gate.leave();
    // Another process grew the map past ours: adopt its size, with no txn of ours open.
    if (rc == MDB_MAP_RESIZED && attempt < 3 && env.gate.exclusive(env.options.resize_wait, [&env] {
          reset_idle_readers(env);  // LMDB: no txn of this process may be active
          check_rc(mdb_env_set_mapsize(env.env, 0), "mdb_env_set_mapsize(adopt)");
          refresh_map_size(env);
        })) {
      continue;
    }
    throw StorageError(write ? "mdb_txn_begin(write)" : "mdb_txn_begin(read)", rc);
  }
}

void end_txn(TxnState& s, bool commit) {
  if (s.txn == nullptr) return;
  if (s.child != nullptr) {
    if (commit) throw std::logic_error("storage: commit() while a child transaction is active");
    end_txn(*s.child, false);
  }
  // Write txns free their cursors when they end, so close ours first; children are gone, so
  // deferred (shadowed) cursors are back in this txn and can be closed too.
  for (CursorState* c : s.cursors) {
    mdb_cursor_close(c->cursor);
    c->cursor = nullptr;
    c->txn = nullptr;
  }
  s.cursors.clear();
  for (MDB_cursor* c : s.deferred_close) mdb_cursor_close(c);
  s.deferred_close.clear();

  s.pending.clear();  // written by now if committing (WriteTxn::commit); dropped otherwise

  MDB_txn* txn = std::exchange(s.txn, nullptr);
  int rc = MDB_SUCCESS;
  if (commit) {
    rc = mdb_txn_commit(txn);  // frees txn even when it fails: never abort it afterwards
  } else if (!s.write && s.parent == nullptr) {
    end_reader(*s.env, txn);
  } else {
    mdb_txn_abort(txn);
  }
  if (s.parent != nullptr) {
    s.parent->child = nullptr;
    s.parent = nullptr;
  } else {
    // Idle readers kept on the snapshot before this commit would hold its freed pages.
    if (s.write && commit && rc == MDB_SUCCESS) reset_idle_readers(*s.env);
    if (s.write) s.env->write_owner.store(std::thread::id{});
    s.env->gate.leave();
  }
  if (rc != MDB_SUCCESS) {
    if (rc == MDB_MAP_FULL) s.root->map_full = true;
    throw StorageError(s.root == &s ? "mdb_txn_commit" : "mdb_txn_commit(child)", rc);
  }
}

}  // namespace detail

namespace {

using detail::to_val;
using detail::to_view;

// The live MDB_txn of s, or std::logic_error if the txn has ended.
MDB_txn* live(const std::unique_ptr<detail::TxnState>& s) {
  if (!s || s->txn == nullptr) throw std::logic_error("storage: transaction has ended");
  return s->txn;
}

// Like check_rc, and remembers the failure (and MDB_MAP_FULL) on the family's root for the
// Writer.
void check(detail::TxnState& s, int rc, const char* operation) {
  if (rc == MDB_SUCCESS) return;
  s.root->failed = true;
  if (rc == MDB_MAP_FULL) s.root->map_full = true;
  throw StorageError(operation, rc);
}

// A cursor scoped to one function call.
class ScopedCursor {
 public:
  ScopedCursor(detail::TxnState& s, MDB_txn* txn, Database db) {
    check(s, mdb_cursor_open(txn, db.handle(), &cursor_), "mdb_cursor_open");
  }
  ScopedCursor(const ScopedCursor&) = delete;
  ScopedCursor& operator=(const ScopedCursor&) = delete;
  ~ScopedCursor() { mdb_cursor_close(cursor_); }
  MDB_cursor* get() const noexcept { return cursor_; }

 private:
  MDB_cursor* cursor_ = nullptr;
};

}  // namespace

// ---- Txn ----

Txn::Txn(std::unique_ptr<detail::TxnState> state) noexcept : state_(std::move(state)) {}

Txn::Txn(Txn&& other) noexcept = default;

Txn& Txn::operator=(Txn&& other) noexcept {
  if (this != &other) {
    abort();
    state_ = std::move(other.state_);
  }
  return *this;
}

Txn::~Txn() {
  abort();
}

bool Txn::active() const noexcept {
  return state_ && state_->txn != nullptr;
}

bool Txn::read_only() const noexcept {
  return state_ && !state_->write;
}

void Txn::abort() noexcept {
  if (!active()) return;
  try {
    detail::end_txn(*state_, false);
  } catch (...) {
    detail::fail_check("aborting a transaction threw");  // cannot happen: abort reports nothing
  }
}

Pending* Txn::pending(const void* owner) const noexcept {
  if (!state_) return nullptr;
  for (auto& [holder, p] : state_->pending)
    if (holder == owner) return p.get();
  return nullptr;
}

std::optional<std::string> Txn::get(Database db, std::string_view key) const {
  if (auto v = view(db, key)) return std::string(*v);
  return std::nullopt;
}

std::optional<std::string_view> Txn::view(Database db, std::string_view key) const {
  MDB_txn* txn = live(state_);
  MDB_val k = to_val(key);
  MDB_val v{};
  int rc = mdb_get(txn, db.handle(), &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check(*state_, rc, "mdb_get");
  return to_view(v);
}

bool Txn::contains(Database db, std::string_view key) const {
  MDB_txn* txn = live(state_);
  MDB_val k = to_val(key);
  MDB_val v{};
  int rc = mdb_get(txn, db.handle(), &k, &v);
  if (rc == MDB_NOTFOUND) return false;
  check(*state_, rc, "mdb_get");
  return true;
}

std::size_t Txn::count(Database db) const {
  MDB_txn* txn = live(state_);
  MDB_stat stat{};
  check(*state_, mdb_stat(txn, db.handle(), &stat), "mdb_stat");
  return stat.ms_entries;
}

Cursor Txn::cursor(Database db) const {
  MDB_txn* txn = live(state_);
  auto cs = std::make_unique<detail::CursorState>();
  // Reserve first so that nothing can throw once the cursor is open (see Cursor's close).
  state_->cursors.reserve(state_->cursors.size() + 1);
  state_->deferred_close.reserve(state_->deferred_close.size() + state_->cursors.size() + 1);
  check(*state_, mdb_cursor_open(txn, db.handle(), &cs->cursor), "mdb_cursor_open");
  cs->txn = state_.get();
  state_->cursors.push_back(cs.get());
  return Cursor(std::move(cs));
}

std::size_t Txn::scan(Database db, std::string_view from, std::string_view prefix,
                      std::string_view end, Visitor visitor, void* fn) const {
  MDB_txn* txn = live(state_);
  ScopedCursor cursor(*state_, txn, db);
  MDB_val k = to_val(from);
  MDB_val v{};
  int rc = mdb_cursor_get(cursor.get(), &k, &v, from.empty() ? MDB_FIRST : MDB_SET_RANGE);
  std::size_t visited = 0;
  while (rc == MDB_SUCCESS) {
    std::string_view key = to_view(k);
    if (!prefix.empty() && !key.starts_with(prefix)) break;
    if (!end.empty() && key >= end) break;
    ++visited;
    if (!visitor(fn, key, to_view(v))) break;
    rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
  }
  if (rc != MDB_NOTFOUND) check(*state_, rc, "mdb_cursor_get(scan)");
  return visited;
}

std::size_t Txn::scan_reverse(Database db, std::string_view prefix, Visitor visitor,
                              void* fn) const {
  MDB_txn* txn = live(state_);
  ScopedCursor cursor(*state_, txn, db);
  // The first key past every key with the prefix: the prefix without its trailing 0xff bytes,
  // its last byte one higher. None (all 0xff, or no prefix): start from the last key.
  std::string past(prefix);
  while (!past.empty() && static_cast<unsigned char>(past.back()) == 0xff) past.pop_back();
  if (!past.empty()) past.back() = static_cast<char>(static_cast<unsigned char>(past.back()) + 1);
  MDB_val k = to_val(past);
  MDB_val v{};
  int rc = past.empty() ? mdb_cursor_get(cursor.get(), &k, &v, MDB_LAST)
                        : mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
  if (rc == MDB_SUCCESS && !past.empty()) {
    rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_PREV);
  } else if (rc == MDB_NOTFOUND && !past.empty()) {
    rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_LAST);  // nothing sorts after the prefix
  }
  std::size_t visited = 0;
  while (rc == MDB_SUCCESS) {
    std::string_view key = to_view(k);
    if (!key.starts_with(prefix)) break;
    ++visited;
    if (!visitor(fn, key, to_view(v))) break;
    rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_PREV);
  }
  if (rc != MDB_NOTFOUND) check(*state_, rc, "mdb_cursor_get(scan_reverse)");
  return visited;
}

// ---- ReadTxn ----

ReadTxn::ReadTxn(std::unique_ptr<detail::TxnState> state) noexcept : Txn(std::move(state)) {}

// ---- WriteTxn ----

WriteTxn::WriteTxn(std::unique_ptr<detail::TxnState> state) noexcept : Txn(std::move(state)) {}

bool WriteTxn::put(Database db, std::string_view key, std::string_view value, PutFlag flag) {
  MDB_txn* txn = live(state_);
  unsigned flags = 0;
  if (flag == PutFlag::no_overwrite) flags = MDB_NOOVERWRITE;
  if (flag == PutFlag::append) flags = MDB_APPEND;
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  int rc = mdb_put(txn, db.handle(), &k, &v, flags);
  if (rc == MDB_KEYEXIST && flag == PutFlag::no_overwrite) return false;
  check(*state_, rc, flag == PutFlag::append ? "mdb_put(append)" : "mdb_put");
  return true;
}

bool WriteTxn::put_new(Database db, std::string_view key, std::string_view value) {
  return put(db, key, value, PutFlag::no_overwrite);
}

bool WriteTxn::del(Database db, std::string_view key) {
  MDB_txn* txn = live(state_);
  MDB_val k = to_val(key);
  int rc = mdb_del(txn, db.handle(), &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  check(*state_, rc, "mdb_del");
  return true;
}

std::size_t WriteTxn::del_prefix(Database db, std::string_view prefix) {
  if (prefix.empty()) throw std::invalid_argument("storage: del_prefix needs a non-empty prefix");
  MDB_txn* txn = live(state_);
  ScopedCursor cursor(*state_, txn, db);
  std::size_t deleted = 0;
  for (;;) {
    // Re-seek after each delete rather than trusting the cursor position LMDB leaves behind.
    MDB_val k = to_val(prefix);
    MDB_val v{};
    int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND) break;
    check(*state_, rc, "mdb_cursor_get(del_prefix)");
    if (!to_view(k).starts_with(prefix)) break;
    check(*state_, mdb_cursor_del(cursor.get(), 0), "mdb_cursor_del");
    ++deleted;
  }
  return deleted;
}

void WriteTxn::clear(Database db) {
  MDB_txn* txn = live(state_);
  check(*state_, mdb_drop(txn, db.handle(), 0), "mdb_drop");
}

Pending& WriteTxn::hold(const void* owner, std::unique_ptr<Pending> p) {
  live(state_);
  if (!p) throw std::invalid_argument("storage: WriteTxn::hold(nullptr)");
  for (auto& [holder, held] : state_->pending)
    if (holder == owner) return *(held = std::move(p));
  return *state_->pending.emplace_back(owner, std::move(p)).second;
}

void WriteTxn::write_pending() {
  // Taken out first: a write that fails leaves nothing held, and nothing is written twice.
  auto held = std::move(state_->pending);
  state_->pending.clear();
  for (auto& [owner, p] : held) p->write(*this);
}

WriteTxn WriteTxn::child() {
  MDB_txn* parent = live(state_);
  if (state_->child != nullptr) {
    throw std::logic_error("storage: this transaction already has an active child");
  }
  // The child reads what this txn holds from LMDB, and may abort without losing it.
  if (!state_->pending.empty()) write_pending();
  auto c = std::make_unique<detail::TxnState>();
  c->env = state_->env;
  c->parent = state_.get();
  c->root = state_->root;
  c->write = true;
  check(*state_, mdb_txn_begin(state_->env->env, parent, 0, &c->txn), "mdb_txn_begin(child)");
  state_->child = c.get();
  return WriteTxn(std::move(c));
}

void WriteTxn::commit() {
  live(state_);
  if (!state_->pending.empty()) {
    try {
      write_pending();
    } catch (...) {
      detail::end_txn(*state_, false);  // as a failed commit: nothing written, the txn ended
      throw;
    }
  }
  detail::end_txn(*state_, true);
}

bool WriteTxn::map_full_seen() const noexcept {
  return state_ && state_->root != nullptr && state_->root->map_full;
}

bool WriteTxn::failure_seen() const noexcept {
  return state_ && state_->root != nullptr && state_->root->failed;
}

}  // namespace relay::node::storage
