#pragma once
// Free text from members, the operator, candidates and peers (company names, titles, roles):
// what every room accepts, checked the same way.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace relay::node::common {

// Valid UTF-8, no control characters, trimmed of spaces, tabs and line ends, then
// 1..max_chars code points. nullopt if not.
std::optional<std::string> clean_text(std::string_view text, std::size_t max_chars);

// ISO 8601 UTC ("2026-12-02T04:29:05Z") for pages and exports.
std::string iso_time(std::int64_t ms);

}  // namespace relay::node::common
