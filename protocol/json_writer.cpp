#include "protocol/json_writer.hpp"

#include <algorithm>
#include <stdexcept>

#include "protocol/canonical_json.hpp"

namespace relay::protocol {

void JsonWriter::open(char bracket) {
  separate();
  if (depth_ == 64) throw std::invalid_argument("JsonWriter: nested more than 64 deep");
  ++depth_;
  has_items_ &= ~(std::uint64_t{1} << (depth_ - 1));
  out_ += bracket;
}

void JsonWriter::close(char bracket) {
  if (depth_ == 0) throw std::invalid_argument("JsonWriter: nothing open to close");
  --depth_;
  out_ += bracket;
}

JsonWriter& JsonWriter::begin_object() {
  open('{');
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  close('}');
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  open('[');
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  close(']');
  return *this;
}

namespace {

// A short text that needs no escape goes in quoted (and with its suffix, ':' after a key) in
// one append: three appends a key was most of a list reply's cost (callgrind, 20 referrals).
bool append_plain(std::string& out, std::string_view text, std::string_view suffix) {
  char quoted[64];
  if (text.size() + 2 + suffix.size() > sizeof quoted || first_json_escape(text) != text.size())
    return false;
  quoted[0] = '"';
  // std::copy, not memcpy: an empty view may hold a null pointer, which memcpy may not be
  // given even for no bytes (UBSan).
  std::copy(text.begin(), text.end(), quoted + 1);
  quoted[text.size() + 1] = '"';
  std::copy(suffix.begin(), suffix.end(), quoted + text.size() + 2);
  out.append(quoted, text.size() + 2 + suffix.size());
  return true;
}

}  // namespace

JsonWriter& JsonWriter::key(std::string_view name) {
  separate();
  if (!append_plain(out_, name, ":")) {
    append_json_string(out_, name);
    out_ += ':';
  }
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view value) {
  separate();
  if (!append_plain(out_, value, {})) append_json_string(out_, value);
  return *this;
}

JsonWriter& JsonWriter::integer(std::int64_t value) {
  separate();
  // Two digits a step from the end, as to_chars does, without its digit count up front:
  // libstdc++ 12's to_chars was most of a reply's integer cost (callgrind, 13-digit times).
  static constexpr char kPairs[] =
      "0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243"
      "4445464748495051525354555657585960616263646566676869707172737475767778798081828384858687"
      "888990919293949596979899";
  char digits[20];  // 2^63 has 19 digits
  char* at = digits + sizeof digits;
  // The magnitude as unsigned: -INT64_MIN does not fit in int64.
  std::uint64_t n = value < 0 ? 0 - static_cast<std::uint64_t>(value) : value;
  while (n >= 100) {
    const auto pair = static_cast<unsigned>(n % 100) * 2;
    n /= 100;
    at -= 2;
    at[0] = kPairs[pair];
    at[1] = kPairs[pair + 1];
  }
  if (n >= 10) {
    at -= 2;
    at[0] = kPairs[n * 2];
    at[1] = kPairs[n * 2 + 1];
  } else {
    *--at = static_cast<char>('0' + n);
  }
  if (value < 0) out_ += '-';
  out_.append(at, digits + sizeof digits);
  return *this;
}

JsonWriter& JsonWriter::boolean(bool value) {
  separate();
  out_ += value ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  separate();
  out_ += json;
  return *this;
}

}  // namespace relay::protocol
