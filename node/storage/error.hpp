#pragma once
// StorageError: the environment failing under the storage layer (disk, map full, LMDB refusing
// an operation). Expected outcomes ("not found", "key exists") are return values, never this.
#include <stdexcept>
#include <string>

namespace relay::node::storage {

// Thrown when LMDB, or the file system under it, fails an operation. what() reads
// "storage: <operation>: <reason> (<code>)". Safe to copy and to pass between threads.
class StorageError : public std::runtime_error {
 public:
  // `code` is an LMDB return code (MDB_*, negative) or an errno value (positive).
  StorageError(std::string operation, int code);

  // The LMDB or errno code, for callers that must tell failures apart.
  int code() const noexcept { return code_; }
  // The operation that failed, e.g. "mdb_txn_commit" or "mdb_put".
  const std::string& operation() const noexcept { return operation_; }
  // True if the memory map was full (MDB_MAP_FULL); the Writer grows the map and retries.
  bool map_full() const noexcept;
  // True if a transaction had too many dirty pages (MDB_TXN_FULL): a request wrote too much.
  bool txn_full() const noexcept;

 private:
  std::string operation_;
  int code_;
};

}  // namespace relay::node::storage
