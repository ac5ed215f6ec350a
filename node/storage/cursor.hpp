#pragma once
// Cursor: an ordered walk over one database inside a transaction.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace relay::node::storage {

namespace detail {
struct CursorState;
}  // namespace detail

// A move-only cursor obtained from Txn::cursor(db). Every positioning call returns the entry
// it lands on, copied out of the map, or std::nullopt when there is none. Keys are ordered
// bytewise (memcmp, shorter first on a tie).
//
// Lifetime: a cursor belongs to its transaction. When the transaction ends (commit, abort,
// or destruction) the cursor is closed for you; any later call throws std::logic_error.
// Threads: used only by the thread currently using its transaction.
class Cursor {
 public:
  using Entry = std::pair<std::string, std::string>;

  Cursor(Cursor&& other) noexcept;
  Cursor& operator=(Cursor&& other) noexcept;
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  ~Cursor();

  // Moves to the first entry of the database.
  std::optional<Entry> first();
  // Moves to the last entry of the database.
  std::optional<Entry> last();
  // Moves to the entry after the current one (the first entry if not yet positioned).
  std::optional<Entry> next();
  // Moves to the entry before the current one (the last entry if not yet positioned).
  std::optional<Entry> prev();
  // Moves to the first entry whose key is >= key (MDB_SET_RANGE).
  std::optional<Entry> seek(std::string_view key);
  // Moves to the entry whose key is exactly key.
  std::optional<Entry> find(std::string_view key);
  // The entry at the current position, without moving.
  std::optional<Entry> current();

 private:
  friend class Txn;
  explicit Cursor(std::unique_ptr<detail::CursorState> state) noexcept;
  std::optional<Entry> position(int op, std::string_view key);
  std::unique_ptr<detail::CursorState> state_;
};

}  // namespace relay::node::storage
