#include "node/storage/error.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <system_error>

#include "node/storage/internal.hpp"

namespace relay::node::storage {

namespace {

std::string describe(const std::string& operation, int code) {
  // mdb_strerror falls back to strerror(), which is not thread-safe; use <system_error> for
  // errno values and LMDB's static table for its own codes.
  std::string reason = code < 0 ? std::string(mdb_strerror(code))
                                : std::error_code(code, std::generic_category()).message();
  return "storage: " + operation + ": " + reason + " (" + std::to_string(code) + ")";
}

}  // namespace

StorageError::StorageError(std::string operation, int code)
    : std::runtime_error(describe(operation, code)),
      operation_(std::move(operation)),
      code_(code) {}

bool StorageError::map_full() const noexcept {
  return code_ == MDB_MAP_FULL;
}

bool StorageError::txn_full() const noexcept {
  return code_ == MDB_TXN_FULL;
}

namespace detail {

void fail_check(const char* what) noexcept {
  spdlog::critical("storage: {}", what);
  spdlog::default_logger()->flush();
  std::abort();
}

void check_rc(int rc, const std::string& operation) {
  if (rc != MDB_SUCCESS) throw StorageError(operation, rc);
}

}  // namespace detail
}  // namespace relay::node::storage
