#pragma once
// Settlement periods: calendar months or days in Japan Standard Time (UTC+9, no daylight
// saving), labelled "YYYY-MM" or "YYYY-MM-DD". Pure functions.
//
// Threads: any.
#include <cstdint>
#include <string>

#include "config/node_config.hpp"

namespace relay::node::settlement {

struct Period {
  std::string label;
  std::int64_t start_ms = 0;  // inclusive (Unix ms)
  std::int64_t end_ms = 0;    // exclusive
};

// The month or day (kind monthly or daily; off counts as monthly) that contains ms.
Period period_containing(std::int64_t ms, config::SettlementPeriod kind);
// The last complete period before the one that contains ms.
Period last_complete_period(std::int64_t ms, config::SettlementPeriod kind);

}  // namespace relay::node::settlement
