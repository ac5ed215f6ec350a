#include "node/common/secret_file.hpp"

#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <stdexcept>

namespace relay::node::common {

std::string read_secret_file(const std::filesystem::path& path, const std::string& field) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw std::runtime_error(field + ": cannot read " + path.string());
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    throw std::runtime_error(field + ": " + path.string() +
                             " is accessible by group or others (chmod 600 it)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(field + ": cannot read " + path.string());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) throw std::runtime_error(field + ": " + path.string() + " is empty");
  return text;
}

}  // namespace relay::node::common
