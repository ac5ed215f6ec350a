#pragma once
// Periods of the statistics: calendar months in Japan Standard Time (UTC+9, no daylight
// saving), written "YYYY-MM", and "all" (every month together). Pure functions.
//
// Threads: any.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace relay::node::statistics {

inline constexpr std::string_view kAll = "all";

// The JST month of a Unix time in milliseconds, "YYYY-MM".
std::string period_of(std::int64_t ms);
// "YYYY-MM" with a month 01..12 and a year 2000..2999.
bool is_period(std::string_view period);
// The month before "YYYY-MM".
std::string previous_period(std::string_view period);
// The n months ending at (and including) `last`, oldest first.
std::vector<std::string> months_until(std::string_view last, std::size_t n);

}  // namespace relay::node::statistics
