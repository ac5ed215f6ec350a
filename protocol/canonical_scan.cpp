#include "protocol/canonical_scan.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>

#include "protocol/canonical_json.hpp"

namespace relay::protocol {

namespace {

using nlohmann::json;

// Lower-case hex digit's value, or -1 (canonical_dump writes lower case only).
int hex_lower(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// A recursive descent over [p_, end_). Every function returns false as soon as the text is
// not canonical (or not understood): the caller then discards everything built.
class Scanner {
 public:
  Scanner(std::string_view text, std::size_t max_depth)
      : p_(text.data()), end_(text.data() + text.size()), max_depth_(max_depth) {}

  bool document(json& out) { return value(out, 0) && p_ == end_; }

 private:
  bool value(json& out, std::size_t depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{':
        return object(out, depth + 1);
      case '[':
        return array(out, depth + 1);
      case '"': {
        std::string s;
        if (!string(s)) return false;
        out = std::move(s);
        return true;
      }
      case 't':
        return literal("true", out, json(true));
      case 'f':
        return literal("false", out, json(false));
      case 'n':
        return literal("null", out, json(nullptr));
      default:
        return number(out);
    }
  }

  bool literal(std::string_view word, json& out, json value) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word)
      return false;
    p_ += word.size();
    out = std::move(value);
    return true;
  }

  bool object(json& out, std::size_t depth) {
    if (depth > max_depth_ || depth > kMaxScanDepth) return false;
    ++p_;  // '{'
    out = json::object();
    auto& members = out.get_ref<json::object_t&>();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    for (;;) {
      std::string key;
      if (p_ == end_ || *p_ != '"' || !string(key)) return false;
      // Strictly increasing in the map's own order: canonical_dump writes the members in that
      // order, and no key can repeat.
      if (!members.empty() && !members.key_comp()(members.rbegin()->first, key)) return false;
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      auto slot = members.emplace_hint(members.end(), std::move(key), nullptr);
      if (!value(slot->second, depth)) return false;
      if (p_ == end_) return false;
      if (*p_ == '}') {
        ++p_;
        return true;
      }
      if (*p_ != ',') return false;
      ++p_;
    }
  }

  bool array(json& out, std::size_t depth) {
    if (depth > max_depth_ || depth > kMaxScanDepth) return false;
    ++p_;  // '['
    out = json::array();
    auto& elements = out.get_ref<json::array_t&>();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      elements.emplace_back();
      if (!value(elements.back(), depth)) return false;
      if (p_ == end_) return false;
      if (*p_ == ']') {
        ++p_;
        return true;
      }
      if (*p_ != ',') return false;
      ++p_;
    }
  }

  // At the opening quote. The text's UTF-8 was checked whole beforehand, and a quote or a
  // backslash never occurs inside a multi-byte character.
  bool string(std::string& out) {
    ++p_;
    const char* run = p_;  // start of the bytes not yet copied
    for (;;) {
      if (p_ == end_) return false;
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out.append(run, p_);
        ++p_;
        return true;
      }
      if (c < 0x20) return false;  // a control character must be escaped
      if (c != '\\') {
        ++p_;
        continue;
      }
      out.append(run, p_);
      if (end_ - p_ < 2) return false;
      char decoded = 0;
      std::size_t length = 2;
      switch (p_[1]) {
        case '"':
          decoded = '"';
          break;
        case '\\':
          decoded = '\\';
          break;
        case 'b':
          decoded = '\b';
          break;
        case 'f':
          decoded = '\f';
          break;
        case 'n':
          decoded = '\n';
          break;
        case 'r':
          decoded = '\r';
          break;
        case 't':
          decoded = '\t';
          break;
        case 'u': {
          // Only \u00xx, lower case, for a control character without a short escape.
          if (end_ - p_ < 6 || p_[2] != '0' || p_[3] != '0') return false;
          const int high = hex_lower(p_[4]);
          const int low = hex_lower(p_[5]);
          if (high < 0 || high > 1 || low < 0) return false;
          const int code = high * 16 + low;
          if (code == '\b' || code == '\f' || code == '\n' || code == '\r' || code == '\t')
            return false;
          decoded = static_cast<char>(code);
          length = 6;
          break;
        }
        default:  // "\/" and anything else canonical_dump never writes
          return false;
      }
      out += decoded;
      p_ += length;
      run = p_;
    }
  }

  // -?(0|[1-9][0-9]*), no -0; what follows (a fraction, an exponent, another digit after a
  // leading 0) is not a separator, so the caller refuses it.
  bool number(json& out) {
    const char* start = p_;
    const bool negative = *p_ == '-';
    if (negative) ++p_;
    if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
    if (*p_ == '0') {
      ++p_;
      if (negative) return false;
    } else {
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (negative) {
      std::int64_t v = 0;
      const auto [ptr, ec] = std::from_chars(start, p_, v);
      if (ec != std::errc() || ptr != p_) return false;
      out = v;
    } else {
      std::uint64_t v = 0;
      const auto [ptr, ec] = std::from_chars(start, p_, v);
      if (ec != std::errc() || ptr != p_) return false;
      out = v;
    }
    return true;
  }

  const char* p_;
  const char* end_;
  std::size_t max_depth_;
};

}  // namespace

std::optional<nlohmann::json> scan_canonical(std::string_view text, std::size_t max_depth) {
  if (find_invalid_utf8(text)) return std::nullopt;
  json out;
  if (!Scanner(text, max_depth).document(out)) return std::nullopt;
  return out;
}

nlohmann::json parse_json(std::string_view text) {
  if (auto scanned = scan_canonical(text, kMaxScanDepth)) return std::move(*scanned);
  return json::parse(text);
}

}  // namespace relay::protocol
