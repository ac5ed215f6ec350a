#include "protocol/canonical_json.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <stdexcept>
#include <utility>
#include <vector>

#include "protocol/canonical_scan.hpp"

namespace relay::protocol {

namespace {

using nlohmann::json;

// An input iterator over the text that records how many bytes nlohmann's lexer has pulled.
// SAX callbacks carry no position in nlohmann 3.11, so this is how errors found by our own
// handler (duplicate key, depth, number) get a byte offset. The lexer reads at most one byte
// past the token it reports, so the offset is exact or one past the offending token.
class CountingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator(const char* at, const char* begin, std::size_t* consumed)
      : at_(at), begin_(begin), consumed_(consumed) {}
  reference operator*() const { return *at_; }
  CountingIterator& operator++() {
    ++at_;
    *consumed_ = static_cast<std::size_t>(at_ - begin_);
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const CountingIterator& other) const { return at_ == other.at_; }

 private:
  const char* at_;
  const char* begin_;
  std::size_t* consumed_;
};

// The bytes JSON requires escaped: C0 controls, '"' and '\\'.
constexpr std::array<bool, 256> kNeedsEscape = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = true;
  t['"'] = t['\\'] = true;
  return t;
}();

bool needs_escape(char c) {
  return kNeedsEscape[static_cast<unsigned char>(c)];
}

// The offset of the first byte of s at or after `at` that needs an escape, or s.size().
// Eight bytes at a time: a byte is flagged when it is below 0x20 or equals '"' or '\\'
// (bytes from 0x80 up are never flagged). Each test flags its first match exactly; a borrow
// can only flag bytes above it, so the lowest flag of the three is the first such byte.
std::size_t next_escape(std::string_view s, std::size_t at) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
  if constexpr (std::endian::native == std::endian::little) {
    for (; at + 8 <= s.size(); at += 8) {
      std::uint64_t x;
      std::memcpy(&x, s.data() + at, 8);
      const std::uint64_t quote = x ^ (kOnes * '"');
      const std::uint64_t backslash = x ^ (kOnes * '\\');
      const std::uint64_t flags =
          ((x - kOnes * 0x20) | (quote - kOnes) | (backslash - kOnes)) & ~x & kHighs;
      if (flags != 0) {
        // ~x is shared: a quote or backslash byte has its top bit clear, as x^c does.
        return at + static_cast<std::size_t>(std::countr_zero(flags)) / 8;
      }
    }
  }
  while (at < s.size() && !needs_escape(s[at])) ++at;
  return at;
}

void append_escaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Most strings need no escape at all: copy each run up to the next byte that does at once,
  // not byte by byte (replies and signed payloads are mostly plain text).
  for (std::size_t at = 0; at < s.size(); ++at) {
    const std::size_t end = next_escape(s, at);
    out.append(s.data() + at, end - at);
    if (end == s.size()) return;
    at = end;
    const char c = s[at];
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:  // another C0 control
        out += "\\u00";
        out += kHex[byte >> 4];
        out += kHex[byte & 0x0f];
    }
  }
}

std::string quoted_for_message(std::string_view s) {
  std::string out = "\"";
  if (s.size() <= 64) {
    append_escaped(out, s);
  } else {
    out += "...";
  }
  out += '"';
  return out;
}

std::string at_offset(std::size_t offset) {
  return " at byte offset " + std::to_string(offset);
}

JsonParseResult failure(JsonErrorCode code, std::size_t offset, std::string message) {
  JsonParseResult result;
  result.error = JsonError{code, offset, std::move(message)};
  return result;
}

// Builds the value from SAX events like nlohmann's json_sax_dom_parser, plus the strict rules.
// Returning false from any callback stops the parse; error_ then says why.
class StrictHandler final : public nlohmann::json_sax<json> {
 public:
  StrictHandler(std::size_t max_depth, const std::size_t* consumed)
      : max_depth_(max_depth), consumed_(consumed) {}

  bool null() override { return put(nullptr); }
  bool boolean(bool value) override { return put(value); }
  bool number_integer(number_integer_t value) override { return put(value); }
  bool number_unsigned(number_unsigned_t value) override { return put(value); }
  bool number_float(number_float_t /*value*/, const string_t& raw) override {
    // nlohmann hands us as a float every number with a fraction or an exponent, and every
    // integer outside int64/uint64: the raw token tells the two apart.
    const bool has_fraction_or_exponent = raw.find_first_of(".eE") != string_t::npos;
    if (has_fraction_or_exponent) {
      return fail(JsonErrorCode::number_not_integer, "number " + raw + " is not an integer");
    }
    return fail(JsonErrorCode::number_out_of_range, "integer " + raw + " does not fit in 64 bits");
  }
  bool string(string_t& value) override { return put(std::move(value)); }
  bool binary(binary_t& /*value*/) override {
    return fail(JsonErrorCode::syntax, "binary values are not JSON");
  }

  bool start_object(std::size_t /*elements*/) override { return open(json::value_t::object); }
  bool key(string_t& name) override {
    auto& object = stack_.back()->get_ref<json::object_t&>();
    // try_emplace leaves name untouched when the key is already present.
    auto [slot, inserted] = object.try_emplace(std::move(name), nullptr);
    if (!inserted) {
      return fail(JsonErrorCode::duplicate_key, "duplicate object key " + quoted_for_message(name));
    }
    member_ = &slot->second;
    return true;
  }
  bool end_object() override {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t /*elements*/) override { return open(json::value_t::array); }
  bool end_array() override {
    stack_.pop_back();
    return true;
  }

  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::detail::exception& ex) override {
    // nlohmann counts the end of input as one more character read.
    position = std::min(position, *consumed_);
    std::string what = ex.what();
    if (auto close = what.find("] "); what.starts_with("[json.exception.") && close != what.npos) {
      what.erase(0, close + 2);
    }
    JsonErrorCode code = JsonErrorCode::syntax;
    if (ex.id == 406) {  // out_of_range.406: a number too large even for a double
      code = last_token.find_first_of(".eE") != std::string::npos
                 ? JsonErrorCode::number_not_integer
                 : JsonErrorCode::number_out_of_range;
    } else if (what.find("surrogate") != std::string::npos) {
      code = JsonErrorCode::invalid_utf8;  // a \uD800-style escape without its pair
    }
    error_ = JsonError{code, position, "invalid JSON" + at_offset(position) + ": " + what};
    return false;
  }

  json& result() { return root_; }
  const std::optional<JsonError>& error() const { return error_; }

 private:
  template <typename Value>
  json* place(Value&& value) {
    if (stack_.empty()) {
      root_ = json(std::forward<Value>(value));
      return &root_;
    }
    json& parent = *stack_.back();
    if (parent.is_array()) {
      auto& array = parent.get_ref<json::array_t&>();
      array.emplace_back(std::forward<Value>(value));
      return &array.back();
    }
    *member_ = json(std::forward<Value>(value));
    return member_;
  }

  template <typename Value>
  bool put(Value&& value) {
    place(std::forward<Value>(value));
    return true;
  }

  bool open(json::value_t kind) {
    if (stack_.size() >= max_depth_) {
      return fail(JsonErrorCode::too_deep,
                  "nesting deeper than " + std::to_string(max_depth_) + " levels");
    }
    // Pointers into a parent array stay valid: a parent gains no element while a child is
    // still open.
    stack_.push_back(place(kind));
    return true;
  }

  bool fail(JsonErrorCode code, std::string what) {
    const std::size_t offset = *consumed_;
    error_ = JsonError{code, offset, what + at_offset(offset)};
    return false;
  }

  std::size_t max_depth_;
  const std::size_t* consumed_;
  json root_;
  std::vector<json*> stack_;
  json* member_ = nullptr;
  std::optional<JsonError> error_;
};

// canonical: canonical_dump's rules. as_dump: value.dump()'s bytes and exceptions; what
// canonical JSON cannot hold (a float, a binary value, a string that is not UTF-8) is handed
// to dump() itself.
enum class Dialect { canonical, as_dump };

void dump_into(const json& value, std::string& out, Dialect dialect) {
  switch (value.type()) {
    case json::value_t::null:
      out += "null";
      return;
    case json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: {
      std::array<char, 24> digits{};
      const auto end = value.is_number_unsigned()
                           ? std::to_chars(digits.data(), digits.data() + digits.size(),
                                           value.get<std::uint64_t>())
                           : std::to_chars(digits.data(), digits.data() + digits.size(),
                                           value.get<std::int64_t>());
      out.append(digits.data(), end.ptr);
      return;
    }
    case json::value_t::string: {
      const auto& s = value.get_ref<const json::string_t&>();
      if (find_invalid_utf8(s)) {
        if (dialect == Dialect::as_dump) return void(out += value.dump());
        throw std::invalid_argument("canonical_dump: string is not UTF-8");
      }
      out += '"';
      append_escaped(out, s);
      out += '"';
      return;
    }
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& element : value.get_ref<const json::array_t&>()) {
        if (!first) out += ',';
        first = false;
        dump_into(element, out, dialect);
      }
      out += ']';
      return;
    }
    case json::value_t::object: {
      // nlohmann::json's object_t is a std::map<std::string, ...>; std::string compares with
      // char_traits<char>, which the standard defines as unsigned-char (byte) order. So map
      // order is UTF-8 byte order and keys are unique by construction.
      out += '{';
      bool first = true;
      for (const auto& [name, member] : value.get_ref<const json::object_t&>()) {
        if (!first) out += ',';
        first = false;
        if (!find_invalid_utf8(name)) {
          out += '"';
          append_escaped(out, name);
          out += "\":";
        } else if (dialect == Dialect::as_dump) {
          out += json(name).dump();
          out += ':';
        } else {
          throw std::invalid_argument("canonical_dump: key is not UTF-8");
        }
        dump_into(member, out, dialect);
      }
      out += '}';
      return;
    }
    case json::value_t::number_float:
      if (dialect == Dialect::as_dump) return void(out += value.dump());
      throw std::invalid_argument("canonical_dump: floating-point numbers are not canonical");
    case json::value_t::binary:
      if (dialect == Dialect::as_dump) return void(out += value.dump());
      throw std::invalid_argument("canonical_dump: binary values are not JSON");
    case json::value_t::discarded:
      if (dialect == Dialect::as_dump) return void(out += value.dump());
      throw std::invalid_argument("canonical_dump: discarded value");
  }
  throw std::invalid_argument("canonical_dump: unknown value type");
}

}  // namespace

std::size_t first_json_escape(std::string_view text) {
  return next_escape(text, 0);
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  append_escaped(out, text);
  out += '"';
}

std::string_view to_string(JsonErrorCode code) {
  switch (code) {
    case JsonErrorCode::syntax:
      return "syntax";
    case JsonErrorCode::byte_order_mark:
      return "byte_order_mark";
    case JsonErrorCode::invalid_utf8:
      return "invalid_utf8";
    case JsonErrorCode::duplicate_key:
      return "duplicate_key";
    case JsonErrorCode::too_deep:
      return "too_deep";
    case JsonErrorCode::number_not_integer:
      return "number_not_integer";
    case JsonErrorCode::number_out_of_range:
      return "number_out_of_range";
    case JsonErrorCode::not_canonical:
      return "not_canonical";
  }
  return "unknown";
}

std::optional<std::size_t> find_invalid_utf8(std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    // Eight ASCII bytes at a time: stored records and replies are mostly ASCII (base64).
    if (std::uint64_t word = 0; n - i >= 8) {
      std::memcpy(&word, bytes + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned char lead = bytes[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned char low = 0x80;  // allowed range of the first continuation byte
    unsigned char high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead == 0xe0) low = 0xa0;   // no overlong 3-byte forms
      if (lead == 0xed) high = 0x9f;  // no UTF-16 surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead == 0xf0) low = 0x90;   // no overlong 4-byte forms
      if (lead == 0xf4) high = 0x8f;  // nothing above U+10FFFF
    } else {
      return i;  // 80..C1 and F5..FF never start a character
    }
    if (n - i < length) return i;
    if (bytes[i + 1] < low || bytes[i + 1] > high) return i;
    for (std::size_t k = 2; k < length; ++k) {
      if ((bytes[i + k] & 0xc0) != 0x80) return i;
    }
    i += length;
  }
  return std::nullopt;
}

JsonParseResult parse_strict(std::string_view text, std::size_t max_depth) {
  if (text.starts_with("\xEF\xBB\xBF")) {
    return failure(JsonErrorCode::byte_order_mark, 0,
                   "invalid JSON: byte order mark" + at_offset(0));
  }
  // Checking the whole text first gives a precise offset; nlohmann would also refuse
  // ill-formed UTF-8 inside strings (and every non-ASCII byte outside them).
  if (auto bad = find_invalid_utf8(text)) {
    return failure(JsonErrorCode::invalid_utf8, *bad, "invalid UTF-8" + at_offset(*bad));
  }
  // nlohmann's lexer takes a NUL byte for the end of input, which would let "{}\0junk" through.
  // A raw NUL is never valid JSON (not whitespace, and must be escaped inside strings).
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    return failure(JsonErrorCode::syntax, nul, "invalid JSON: NUL byte" + at_offset(nul));
  }
  try {
    std::size_t consumed = 0;
    StrictHandler handler(max_depth, &consumed);
    const CountingIterator first(text.data(), text.data(), &consumed);
    const CountingIterator last(text.data() + text.size(), text.data(), &consumed);
    const bool ok = json::sax_parse(first, last, &handler, json::input_format_t::json,
                                    /*strict=*/true, /*ignore_comments=*/false);
    if (!ok || handler.error()) {
      if (handler.error()) {
        JsonParseResult result;
        result.error = *handler.error();
        return result;
      }
      return failure(JsonErrorCode::syntax, consumed, "invalid JSON" + at_offset(consumed));
    }
    JsonParseResult result;
    result.value = std::move(handler.result());
    return result;
  } catch (const json::exception& ex) {
    // Not expected (SAX mode reports errors through parse_error), but never let one escape.
    return failure(JsonErrorCode::syntax, 0, std::string("invalid JSON: ") + ex.what());
  }
}

std::string canonical_dump(const nlohmann::json& value) {
  std::string out;
  out.reserve(512);  // most records: one allocation, not a doubling chain
  dump_into(value, out, Dialect::canonical);
  return out;
}

std::string compact_dump(const nlohmann::json& value) {
  std::string out;
  out.reserve(512);
  dump_into(value, out, Dialect::as_dump);
  return out;
}

JsonParseResult parse_canonical(std::string_view text, std::size_t max_depth) {
  // Canonical input, the usual case, reads in one pass (canonical_scan.hpp); anything else
  // takes the full path below, which names the error.
  if (auto value = scan_canonical(text, max_depth)) {
    JsonParseResult result;
    result.value = std::move(value);
    return result;
  }
  JsonParseResult result = parse_strict(text, max_depth);
  if (!result) return result;
  const std::string canonical = canonical_dump(*result.value);
  if (canonical != text) {
    std::size_t offset = 0;
    while (offset < canonical.size() && offset < text.size() && canonical[offset] == text[offset]) {
      ++offset;
    }
    return failure(JsonErrorCode::not_canonical, offset,
                   "JSON is not in canonical form" + at_offset(offset));
  }
  return result;
}

}  // namespace relay::protocol
