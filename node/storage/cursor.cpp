#include "node/storage/cursor.hpp"

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "node/storage/error.hpp"
#include "node/storage/internal.hpp"

namespace relay::node::storage {

namespace {

// Closes cs now, or hands it to its txn if LMDB has shadowed it into an active child.
void close(detail::CursorState& cs) noexcept {
  if (cs.cursor == nullptr) return;
  detail::TxnState& txn = *cs.txn;
  txn.cursors.erase(std::find(txn.cursors.begin(), txn.cursors.end(), &cs));
  if (txn.child != nullptr) {
    txn.deferred_close.push_back(cs.cursor);  // capacity reserved in Txn::cursor: cannot throw
  } else {
    mdb_cursor_close(cs.cursor);
  }
  cs.cursor = nullptr;
  cs.txn = nullptr;
}

}  // namespace

Cursor::Cursor(std::unique_ptr<detail::CursorState> state) noexcept : state_(std::move(state)) {}

Cursor::Cursor(Cursor&& other) noexcept = default;

Cursor& Cursor::operator=(Cursor&& other) noexcept {
  if (this != &other) {
    if (state_) close(*state_);
    state_ = std::move(other.state_);
  }
  return *this;
}

Cursor::~Cursor() {
  if (state_) close(*state_);
}

std::optional<Cursor::Entry> Cursor::first() {
  return position(MDB_FIRST, {});
}

std::optional<Cursor::Entry> Cursor::last() {
  return position(MDB_LAST, {});
}

std::optional<Cursor::Entry> Cursor::next() {
  return position(MDB_NEXT, {});
}

std::optional<Cursor::Entry> Cursor::prev() {
  return position(MDB_PREV, {});
}

std::optional<Cursor::Entry> Cursor::seek(std::string_view key) {
  // LMDB has no empty keys, and refuses to seek to one: every key is >= "".
  return key.empty() ? first() : position(MDB_SET_RANGE, key);
}

std::optional<Cursor::Entry> Cursor::find(std::string_view key) {
  if (key.empty()) return std::nullopt;
  return position(MDB_SET_KEY, key);
}

std::optional<Cursor::Entry> Cursor::current() {
  return position(MDB_GET_CURRENT, {});
}

std::optional<Cursor::Entry> Cursor::position(int op, std::string_view key) {
  if (!state_ || state_->cursor == nullptr) {
    throw std::logic_error("storage: cursor used after its transaction ended");
  }
  if (state_->txn->child != nullptr) {
    throw std::logic_error("storage: cursor used while a child transaction is active");
  }
  MDB_val k = detail::to_val(key);
  MDB_val v{};
  int rc = mdb_cursor_get(state_->cursor, &k, &v, static_cast<MDB_cursor_op>(op));
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc == EINVAL && op == MDB_GET_CURRENT) return std::nullopt;  // not positioned yet
  if (rc != MDB_SUCCESS && state_->txn->root != nullptr) state_->txn->root->failed = true;
  detail::check_rc(rc, "mdb_cursor_get");
  return Entry{std::string(detail::to_view(k)), std::string(detail::to_view(v))};
}

}  // namespace relay::node::storage
