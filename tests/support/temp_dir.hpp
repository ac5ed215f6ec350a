#pragma once
// Temporary directories for tests, under the build tree's temp area (make_temp_dir).
#include <filesystem>
#include <string>
#include <system_error>

#include "support/vectors.hpp"

namespace relay::test {

// A fresh empty directory, removed (with everything in it) when the TempDir goes out of scope,
// however the test ends. Not copyable: one owner removes it.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "test") : path(make_temp_dir(prefix)) {}
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// A fresh directory that lives until the test executable exits (for paths handed to static
// fixtures that outlive one test case). Not thread-safe: call it from test threads only.
std::filesystem::path temp_dir_until_exit(const std::string& prefix);

}  // namespace relay::test
