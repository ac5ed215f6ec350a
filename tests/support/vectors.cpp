#include "support/vectors.hpp"

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace relay::test {

std::filesystem::path vectors_dir() {
  if (const char* env = std::getenv("RELAY_VECTORS_DIR"); env && *env) return env;
  return RELAY_VECTORS_DEFAULT;
}

std::filesystem::path binary_dir() {
  return RELAY_BINARY_DIR;
}

std::filesystem::path source_dir() {
  return RELAY_SOURCE_DIR;
}

int slowdown() {
  return RELAY_TEST_SLOWDOWN;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

nlohmann::json load_json(const std::string& relative) {
  return nlohmann::json::parse(read_file(vectors_dir() / relative));
}

std::filesystem::path make_temp_dir(const std::string& prefix) {
  static std::mt19937_64 rng{std::random_device{}()};
  auto base = binary_dir() / "test-tmp";
  std::filesystem::create_directories(base);
  for (;;) {
    auto dir = base / (prefix + "-" + std::to_string(rng() % 1000000000ULL));
    if (std::filesystem::create_directory(dir)) return dir;
  }
}

}  // namespace relay::test
