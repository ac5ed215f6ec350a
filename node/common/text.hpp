#pragma once
// Free text from members, the operator, candidates and peers (names, titles, roles): what
// every room accepts, checked the same way.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relay::node::common {

// Valid UTF-8 with no control characters (C0, DEL, C1) and no bidirectional controls
// (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069: they make a name display as another
// one), trimmed of blank code points at both ends, then 1..max_chars code points; nullopt if
// not. Blank is every Unicode white space (U+3000 ideographic space, NBSP, the U+2000 range,
// line ends) and the invisible U+200B, U+2060 and U+FEFF, so text of blanks alone is refused;
// blanks inside the text (山田　太郎) are kept.
std::optional<std::string> clean_text(std::string_view text, std::size_t max_chars);

// Whether code point `c` is blank in the sense of clean_text.
bool is_blank(char32_t c);
// Whether code point `c` is a bidirectional formatting control.
bool is_bidi_control(char32_t c);

// ISO 8601 UTC ("2026-12-02T04:29:05Z") for pages and exports.
std::string iso_time(std::int64_t ms);

}  // namespace relay::node::common
