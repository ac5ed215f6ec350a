#pragma once
// JsonWriter: JSON text written straight into a string, for replies that list many objects.
// Building an nlohmann tree of a few hundred objects, dumping it and freeing it was most of
// such a reply's cost (perf, GET /api/v1/pool and /api/v1/referrals); writing the text costs a
// small fraction of that.
//
// The text is compact (no whitespace) and strings are escaped as canonical_dump() and
// nlohmann's dump() escape valid UTF-8, so an object whose keys are written in byte order
// comes out byte for byte as dump() of the same tree (the tests compare the two). The writer
// does not sort or check keys: the caller writes them in order, once each.
//
// Thread safety: a plain value over the caller's string.
#include <cstdint>
#include <string>
#include <string_view>

namespace relay::protocol {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  // An object member's name; the next call writes its value.
  JsonWriter& key(std::string_view name);

  JsonWriter& string(std::string_view value);  // valid UTF-8
  JsonWriter& integer(std::int64_t value);
  JsonWriter& boolean(bool value);
  // A value already serialised as JSON (a stored object, say), written as it is.
  JsonWriter& raw(std::string_view json);

  // key(name) and the value, for the common case. (The const char* overload keeps a literal
  // from converting to bool; an int argument is ambiguous: pass std::int64_t.)
  JsonWriter& field(std::string_view name, std::string_view value) {
    return key(name).string(value);
  }
  JsonWriter& field(std::string_view name, const char* value) { return key(name).string(value); }
  JsonWriter& field(std::string_view name, std::int64_t value) { return key(name).integer(value); }
  JsonWriter& field(std::string_view name, bool value) { return key(name).boolean(value); }

 private:
  // The comma before a value or a key, unless it is the first (inline: one call per key and
  // value, and most replies are many small values).
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (depth_ == 0) return;
    const std::uint64_t bit = std::uint64_t{1} << (depth_ - 1);
    if (has_items_ & bit) out_ += ',';
    has_items_ |= bit;
  }
  void open(char bracket);
  void close(char bracket);

  std::string& out_;
  // One bit per open container (up to 64 deep): set once it has an item.
  std::uint64_t has_items_ = 0;
  unsigned depth_ = 0;
  bool after_key_ = false;
};

}  // namespace relay::protocol
