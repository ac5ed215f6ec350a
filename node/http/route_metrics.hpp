#pragma once
// RouteMetrics: what the Router counts of every request it dispatches, by method and route
// *pattern* ("/r/m/{token}", never the raw path: capability tokens are in paths), written in
// the Prometheus text format (version 0.0.4):
//   relay_http_requests_total{method,route,status}       counter
//   relay_http_request_duration_seconds{method,route}    histogram (buckets 5 ms .. 10 s)
// A path no route matches is counted as route="(unmatched)".
//
// Threads: record() from every HTTP thread and write_prometheus() from any: one mutex.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace relay::node::http {

class RouteMetrics {
 public:
  static constexpr std::array<double, 11> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5,   1.0,  2.5,   5.0,  10.0};

  void record(std::string_view method, std::string_view route, int status,
              std::chrono::nanoseconds elapsed);
  // Appends the families above (HELP, TYPE and one line per series) to out.
  void write_prometheus(std::string& out) const;

 private:
  struct Series {
    std::map<int, std::uint64_t> by_status;
    std::array<std::uint64_t, kBuckets.size()> buckets{};  // non-cumulative; summed on output
    std::uint64_t count = 0;
    double sum_seconds = 0;
  };
  // (method, route), found by views: record() builds no string for a series it already has.
  using SeriesKey = std::pair<std::string, std::string>;
  using SeriesView = std::pair<std::string_view, std::string_view>;
  struct KeyOrder {
    using is_transparent = void;
    static SeriesView view(const auto& k) { return {k.first, k.second}; }
    bool operator()(const auto& a, const auto& b) const { return view(a) < view(b); }
  };
  mutable std::mutex mutex_;
  std::map<SeriesKey, Series, KeyOrder> series_;
};

// A Prometheus label value, escaped (backslash, double quote, newline).
std::string prometheus_label(std::string_view value);

}  // namespace relay::node::http
