#pragma once
// Locating and loading the public test vectors in tests/vectors (copied from the public sources,
// with their licences).
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace relay::test {

// Root of the vectors folder: $RELAY_VECTORS_DIR, else the path set by CMake.
std::filesystem::path vectors_dir();

// The build tree (where relay-node and relay-audit are) and the source tree of this checkout.
std::filesystem::path binary_dir();
std::filesystem::path source_dir();

// How many times slower than a plain build this one runs (RELAY_TEST_SLOWDOWN: 4 when
// scripts/sanitize builds it, else 1). Latency bounds in tests are multiplied by it.
int slowdown();

// Reads a whole file; throws std::runtime_error if it cannot be read.
std::string read_file(const std::filesystem::path& path);

// Parses vectors_dir()/relative as JSON.
nlohmann::json load_json(const std::string& relative);

// A fresh empty directory under the build tree's temp area, removed by the caller.
std::filesystem::path make_temp_dir(const std::string& prefix);

}  // namespace relay::test
