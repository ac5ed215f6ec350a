#include "node/settlement/period.hpp"

#include <chrono>
#include <cstdio>

namespace relay::node::settlement {

namespace {
using namespace std::chrono;
constexpr auto kJst = hours(9);

std::int64_t ms_of(sys_days jst_midnight) {
  return duration_cast<milliseconds>((jst_midnight - kJst).time_since_epoch()).count();
}
}  // namespace

Period period_containing(std::int64_t ms, config::SettlementPeriod kind) {
  auto day = floor<days>(sys_time<milliseconds>(milliseconds(ms)) + kJst);
  year_month_day ymd{day};
  char label[16];
  if (kind == config::SettlementPeriod::daily) {
    std::snprintf(label, sizeof label, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    return {label, ms_of(day), ms_of(day + days(1))};
  }
  year_month_day first = ymd.year() / ymd.month() / 1;
  std::snprintf(label, sizeof label, "%04d-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()));
  return {label, ms_of(sys_days{first}), ms_of(sys_days{first + months(1)})};
}

Period last_complete_period(std::int64_t ms, config::SettlementPeriod kind) {
  return period_containing(period_containing(ms, kind).start_ms - 1, kind);
}

}  // namespace relay::node::settlement
