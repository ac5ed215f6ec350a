#include "node/common/text.hpp"

#include <algorithm>
#include <ctime>
#include <vector>

#include "protocol/canonical_json.hpp"

namespace relay::node::common {

namespace {

struct CodePoint {
  char32_t value;
  std::size_t offset;  // of its first byte
  std::size_t size;    // in bytes
};

// The code points of valid UTF-8 (checked by the caller).
std::vector<CodePoint> decode(std::string_view text) {
  std::vector<CodePoint> out;
  for (std::size_t i = 0; i < text.size();) {
    auto b = static_cast<unsigned char>(text[i]);
    std::size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t c = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    for (std::size_t k = 1; k < n; ++k)
      c = (c << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    out.push_back({c, i, n});
    i += n;
  }
  return out;
}

bool is_control(char32_t c) {
  return c < 0x20 || (c >= 0x7F && c <= 0x9F);
}

}  // namespace

bool is_blank(char32_t c) {
  switch (c) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
    case 0x180E:
    case 0x200B:
    case 0x2060:
    case 0xFEFF:  // invisible, not spaces by category
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

bool is_bidi_control(char32_t c) {
  return c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
         (c >= 0x2066 && c <= 0x2069);
}

namespace {

// clean_text's rules over n code points, point(i) giving the i-th as a CodePoint.
template <class Point>
std::optional<std::string> clean_points(std::string_view text, std::size_t n, Point point,
                                        std::size_t max_chars) {
  std::size_t first = 0;
  std::size_t last = n;
  while (first < last && is_blank(point(first).value)) ++first;
  while (last > first && is_blank(point(last - 1).value)) --last;
  if (first == last || last - first > max_chars) return std::nullopt;
  for (std::size_t i = first; i < last; ++i) {
    auto c = point(i).value;
    // Line ends and tabs inside are controls too: names and titles are one line.
    if (is_control(c) || is_bidi_control(c)) return std::nullopt;
  }
  auto begin = point(first).offset;
  auto end = point(last - 1).offset + point(last - 1).size;
  return std::string(text.substr(begin, end - begin));
}

}  // namespace

std::optional<std::string> clean_text(std::string_view text, std::size_t max_chars) {
  // ASCII (every address, most names): each byte is a code point, so the bytes are read as
  // they are, not decoded into a vector first (most of an address's normalisation, callgrind).
  if (std::all_of(text.begin(), text.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    return clean_points(
        text, text.size(),
        [&](std::size_t i) {
          return CodePoint{static_cast<char32_t>(text[i]), i, 1};
        },
        max_chars);
  }
  if (!protocol::is_valid_utf8(text)) return std::nullopt;
  auto points = decode(text);
  return clean_points(
      text, points.size(), [&](std::size_t i) { return points[i]; }, max_chars);
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
