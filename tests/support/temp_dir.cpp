#include "support/temp_dir.hpp"

#include <unistd.h>

#include <atomic>
#include <vector>

#include "support/names.hpp"

namespace relay::test {

std::filesystem::path temp_dir_until_exit(const std::string& prefix) {
  static struct Cleanup {
    std::vector<std::filesystem::path> dirs;
    ~Cleanup() {
      for (const auto& d : dirs) {
        std::error_code ec;
        std::filesystem::remove_all(d, ec);
      }
    }
  } cleanup;
  cleanup.dirs.push_back(make_temp_dir(prefix));
  return cleanup.dirs.back();
}

std::string unique(const std::string& stem) {
  static std::atomic<int> counter{0};
  static const std::string run = std::to_string(::getpid());
  return stem + "-" + run + "-" + std::to_string(++counter);
}

}  // namespace relay::test
