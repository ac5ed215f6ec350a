#include "node/http/route_metrics.hpp"

#include <cstdio>

namespace relay::node::http {

std::string prometheus_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void RouteMetrics::record(std::string_view method, std::string_view route, int status,
                          std::chrono::nanoseconds elapsed) {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  // Methods come from clients: only the known ones become label values (bounded series).
  static constexpr std::array<std::string_view, 7> kMethods = {"GET",  "POST",  "PUT",    "DELETE",
                                                               "HEAD", "PATCH", "OPTIONS"};
  bool known = false;
  for (auto m : kMethods) known = known || m == method;
  const SeriesView key{known ? method : "OTHER", route};
  std::lock_guard lock(mutex_);
  auto it = series_.find(key);
  if (it == series_.end()) it = series_.emplace(SeriesKey(key.first, key.second), Series{}).first;
  auto& s = it->second;
  ++s.by_status[status];
  ++s.count;
  s.sum_seconds += seconds;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++s.buckets[i];
      break;
    }
  }
}

void RouteMetrics::write_prometheus(std::string& out) const {
  std::lock_guard lock(mutex_);
  char number[64];
  out +=
      "# HELP relay_http_requests_total HTTP requests answered, by method, route pattern and "
      "status.\n# TYPE relay_http_requests_total counter\n";
  for (const auto& [key, s] : series_) {
    const auto labels = "method=\"" + prometheus_label(key.first) + "\",route=\"" +
                        prometheus_label(key.second) + "\"";
    for (const auto& [status, n] : s.by_status)
      out += "relay_http_requests_total{" + labels + ",status=\"" + std::to_string(status) +
             "\"} " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP relay_http_request_duration_seconds Time from dispatch to response, by method "
      "and route pattern.\n# TYPE relay_http_request_duration_seconds histogram\n";
  for (const auto& [key, s] : series_) {
    const auto labels = "method=\"" + prometheus_label(key.first) + "\",route=\"" +
                        prometheus_label(key.second) + "\"";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += s.buckets[i];
      std::snprintf(number, sizeof number, "%g", kBuckets[i]);
      out += "relay_http_request_duration_seconds_bucket{" + labels + ",le=\"" + number + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += "relay_http_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} " +
           std::to_string(s.count) + "\n";
    std::snprintf(number, sizeof number, "%.6f", s.sum_seconds);
    out += "relay_http_request_duration_seconds_sum{" + labels + "} " + number + "\n";
    out += "relay_http_request_duration_seconds_count{" + labels + "} " + std::to_string(s.count) +
           "\n";
  }
}

}  // namespace relay::node::http
