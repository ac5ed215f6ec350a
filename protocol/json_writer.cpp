#include "protocol/json_writer.hpp"

#include <charconv>
#include <stdexcept>

#include "protocol/canonical_json.hpp"

namespace relay::protocol {

void JsonWriter::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ == 0) return;
  const std::uint64_t bit = std::uint64_t{1} << (depth_ - 1);
  if (has_items_ & bit) out_ += ',';
  has_items_ |= bit;
}

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

JsonWriter& JsonWriter::key(std::string_view name) {
  separate();
  append_json_string(out_, name);
  out_ += ':';
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view value) {
  separate();
  append_json_string(out_, value);
  return *this;
}

JsonWriter& JsonWriter::integer(std::int64_t value) {
  separate();
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out_.append(digits, end);
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
