#include "node/common/key_encoding.hpp"

#include <stdexcept>

namespace relay::node::common {

std::string be64(std::uint64_t value) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

std::uint64_t from_be64(std::string_view bytes) {
  if (bytes.size() != 8) throw std::runtime_error("storage: corrupt 8-byte integer key");
  std::uint64_t v = 0;
  for (char c : bytes) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

}  // namespace relay::node::common
