#pragma once
// Canonical JSON: the one JSON dialect for everything this project signs and everything it
// receives from the network. The rules are written out in protocol/README.md ("Canonical
// JSON"); in short:
//   parsing  - RFC 8259 JSON, plus: no duplicate object keys at any depth, valid UTF-8 only
//              (no lone surrogate escapes), no byte order mark, nothing after the value, no NUL
//              byte, nesting at most max_depth, and numbers must be integers that fit in int64 or
//              uint64 (no fraction, no exponent, no bigger integer). There is no "floats
//              tolerated" mode anywhere.
//   dumping  - object keys sorted by UTF-8 byte order, no whitespace, strings as UTF-8 with
//              only the escapes JSON requires (\" \\ \b \f \n \r \t, other C0 controls as
//              \u00xx lower-case), integers in plain decimal.
// canonical_dump(parse_strict(x)) is a fixed point: dumping, parsing and dumping again gives
// the same bytes.
//
// Thread safety: every function is pure and may be called from any thread.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace relay::protocol {

// Why parse_strict refused an input. Expected outcomes of untrusted input, never thrown.
enum class JsonErrorCode : std::uint8_t {
  syntax,               // not RFC 8259 JSON (includes trailing garbage, empty input)
  byte_order_mark,      // input starts with EF BB BF
  invalid_utf8,         // ill-formed UTF-8, or a \u escape that is a lone surrogate
  duplicate_key,        // an object names the same key twice
  too_deep,             // arrays/objects nested deeper than max_depth
  number_not_integer,   // a fraction or an exponent (1.0, 1e2)
  number_out_of_range,  // an integer outside [-2^63, 2^64 - 1]
  not_canonical         // parse_canonical only: valid, but not in canonical form
};

// Short stable name of a code ("duplicate_key"), for logs and API error bodies.
std::string_view to_string(JsonErrorCode code);

struct JsonError {
  JsonErrorCode code = JsonErrorCode::syntax;
  std::size_t offset = 0;  // byte offset in the input where the problem was detected
  std::string message;     // human-readable, names the offset
};

// Either a value or the reason there is none.
struct JsonParseResult {
  std::optional<nlohmann::json> value;  // set on success
  JsonError error;                      // meaningful only when !value
  explicit operator bool() const { return value.has_value(); }
};

inline constexpr std::size_t kDefaultMaxJsonDepth = 64;

// Parses untrusted JSON under the strict rules above. Never throws (except std::bad_alloc).
// Depth counts containers: "[]" has depth 1, "[[]]" depth 2, a scalar depth 0.
JsonParseResult parse_strict(std::string_view text, std::size_t max_depth = kDefaultMaxJsonDepth);

// Serialises a value canonically. A value that canonical JSON cannot hold is a programmer
// error and throws std::invalid_argument: a floating-point number, a binary value, a
// discarded value, or a string (or key) that is not valid UTF-8.
std::string canonical_dump(const nlohmann::json& value);

// value.dump(): the same bytes and the same exceptions, at canonical_dump's cost (dump()
// escapes strings byte by byte: it was the largest single cost of a registration, whose
// records are dumped on every save).
std::string compact_dump(const nlohmann::json& value);

// Appends text as a JSON string, quoted and escaped as canonical_dump writes strings (which is
// also how nlohmann's dump() writes valid UTF-8). For replies written without building a JSON
// tree; text must be valid UTF-8.
void append_json_string(std::string& out, std::string_view text);
// The offset of the first byte of text that a JSON string must escape (a C0 control, '"' or
// '\\'), or text.size() when there is none.
std::size_t first_json_escape(std::string_view text);

// Offset of the first byte that is not part of well-formed UTF-8 (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or nullopt if all of text is well formed.
std::optional<std::size_t> find_invalid_utf8(std::string_view text);
inline bool is_valid_utf8(std::string_view text) {
  return !find_invalid_utf8(text);
}

// parse_strict, and additionally refuses (JsonErrorCode::not_canonical) any input whose bytes
// differ from canonical_dump of the parsed value. For inputs that must already be in canonical
// form, such as a signed payload carried verbatim.
JsonParseResult parse_canonical(std::string_view text,
                                std::size_t max_depth = kDefaultMaxJsonDepth);

}  // namespace relay::protocol
