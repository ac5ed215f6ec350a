#include "node/common/text.hpp"

#include <ctime>

#include "protocol/canonical_json.hpp"

namespace relay::node::common {

std::optional<std::string> clean_text(std::string_view text, std::size_t max_chars) {
  if (!protocol::is_valid_utf8(text)) return std::nullopt;
  auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return std::nullopt;
  auto end = text.find_last_not_of(" \t\r\n");
  text = text.substr(begin, end - begin + 1);
  std::size_t chars = 0;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return std::nullopt;
    if ((c & 0xC0) != 0x80) ++chars;
  }
  if (chars == 0 || chars > max_chars) return std::nullopt;
  return std::string(text);
}

std::string iso_time(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace relay::node::common
