#pragma once
// The fast path of parse_canonical (canonical_json.hpp): one pass over text that is already
// canonical JSON, building the value directly, instead of nlohmann's lexer followed by a
// canonical_dump to compare. Used for every signed payload read verbatim; the auditor reads a
// million ledger entries this way.
//
// It accepts only text it can prove canonical on the way: well-formed UTF-8; no whitespace;
// object keys in strictly increasing byte order (so no duplicates); strings escaped exactly
// as canonical_dump escapes them (\" \\ \b \f \n \r \t, other C0 controls as \u00xx in
// lower case, nothing else escaped); integers in plain decimal that fit int64 (negative) or
// uint64 (otherwise), no -0; nesting at most max_depth (and at most kMaxScanDepth). Such text
// is exactly what parse_strict accepts and canonical_dump gives back, and the value is the
// one parse_strict builds (unsigned for a non-negative integer, signed for a negative one).
// nullopt means "not proven canonical here", not "invalid": the caller then takes the full
// path (parse_strict, canonical_dump, compare), which names the error precisely.
//
// Thread safety: a pure function.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

namespace relay::protocol {

// Deeper text is left to the full path (whose parser keeps its own stack, not the call stack).
inline constexpr std::size_t kMaxScanDepth = 128;

std::optional<nlohmann::json> scan_canonical(std::string_view text, std::size_t max_depth);

// Any JSON text: canonical text in one scan, anything else through nlohmann's parser, which
// throws nlohmann::json::parse_error on invalid text. For the records the node's stores read
// back (written canonical), parsed on every cache miss: the scan takes about a quarter of the
// parser's time on a candidate record (issue 19).
nlohmann::json parse_json(std::string_view text);

}  // namespace relay::protocol
