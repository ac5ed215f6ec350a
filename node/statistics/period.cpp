#include "node/statistics/period.hpp"

#include <chrono>
#include <cstdio>

namespace relay::node::statistics {

namespace {
std::string format(int year, unsigned month) {
  char out[16];
  std::snprintf(out, sizeof out, "%04d-%02u", year, month);
  return out;
}
}  // namespace

std::string period_of(std::int64_t ms) {
  using namespace std::chrono;
  const sys_days day = floor<days>(sys_time<milliseconds>(milliseconds(ms) + hours(9)));
  const year_month_day ymd(day);
  return format(static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()));
}

bool is_period(std::string_view p) {
  if (p.size() != 7 || p[4] != '-' || p[0] != '2') return false;
  for (std::size_t i : {1u, 2u, 3u, 5u, 6u})
    if (p[i] < '0' || p[i] > '9') return false;
  const int month = (p[5] - '0') * 10 + (p[6] - '0');
  return month >= 1 && month <= 12;
}

std::string previous_period(std::string_view p) {
  int year = std::stoi(std::string(p.substr(0, 4)));
  int month = std::stoi(std::string(p.substr(5, 2))) - 1;
  if (month == 0) {
    month = 12;
    --year;
  }
  return format(year, static_cast<unsigned>(month));
}

std::vector<std::string> months_until(std::string_view last, std::size_t n) {
  std::vector<std::string> out(n);
  std::string p(last);
  for (std::size_t i = n; i-- > 0;) {
    out[i] = p;
    p = previous_period(p);
  }
  return out;
}

}  // namespace relay::node::statistics
