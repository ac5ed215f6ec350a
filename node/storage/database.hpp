#pragma once
// Database: a handle to one named LMDB database (one per record kind) inside an Environment.
#include <compare>

namespace relay::node::storage {

// An opaque, trivially copyable handle returned by Environment::database(name). It stays valid
// for the Environment's lifetime and may be shared between threads. A default-constructed
// Database is invalid: using it in a transaction throws StorageError.
class Database {
 public:
  Database() = default;

  // False for a default-constructed handle.
  bool valid() const noexcept { return handle_ != kInvalid; }
  // LMDB's handle number (MDB_dbi); only the storage layer has a use for it.
  unsigned handle() const noexcept { return handle_; }

  friend bool operator==(Database, Database) = default;

 private:
  friend class Environment;
  static constexpr unsigned kInvalid = ~0U;
  explicit Database(unsigned handle) noexcept : handle_(handle) {}
  unsigned handle_ = kInvalid;
};

}  // namespace relay::node::storage
