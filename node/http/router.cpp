#include "node/http/router.hpp"

#include <algorithm>
#include <chrono>

namespace relay::node::http {

namespace {
// The segments after the leading '/' ("" between two slashes, or after a trailing one). A
// request's are views into its path: splitting it allocated a string per segment.
template <class Segment>
std::vector<Segment> split_path(std::string_view path) {
  std::vector<Segment> out;
  out.reserve(8);
  std::size_t start = 1;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    out.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool is_capture(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Captures are filled only once every literal segment matched: a route that fails on a later
// literal would have allocated its captures for nothing.
bool match(const std::vector<std::string>& pattern, const std::vector<std::string_view>& path,
           Params& params) {
  if (pattern.size() != path.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const auto& p = pattern[i];
    if (is_capture(p) ? path[i].empty() : p != path[i]) return false;
  }
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const auto& p = pattern[i];
    if (is_capture(p)) params[p.substr(1, p.size() - 2)] = path[i];
  }
  return true;
}
}  // namespace

void Router::add(std::string method, const std::string& pattern, RouteHandler handler) {
  auto segments = split_path<std::string>(pattern);
  if (std::none_of(segments.begin(), segments.end(), is_capture)) {
    const std::vector<std::string_view> path(segments.begin(), segments.end());
    const bool taken = std::any_of(routes_.begin(), routes_.end(), [&](const Route& earlier) {
      Params ignored;
      return earlier.method == method && match(earlier.segments, path, ignored);
    });
    if (!taken) exact_[pattern].push_back(routes_.size());
  }
  if (by_length_.size() <= segments.size()) by_length_.resize(segments.size() + 1);
  by_length_[segments.size()].push_back(routes_.size());
  routes_.push_back({std::move(method), pattern, std::move(segments), std::move(handler)});
}

Response Router::handle(const Request& request) const {
  const auto start = std::chrono::steady_clock::now();
  std::string_view pattern = "(unmatched)";  // or a route's, which lives as long as this
  try {
    auto response = dispatch(request, pattern);
    if (response.later) {
      // Counted when the reply is ready, with its status and the time spent waiting.
      response.later->wrap([metrics = metrics_, method = request.method,
                            pattern = std::string(pattern),
                            start](const std::function<Response()>& inner) {
        try {
          auto r = inner();
          metrics->record(method, pattern, r.status, std::chrono::steady_clock::now() - start);
          return r;
        } catch (...) {
          metrics->record(method, pattern, 500, std::chrono::steady_clock::now() - start);
          throw;
        }
      });
      return response;
    }
    metrics_->record(request.method, pattern, response.status,
                     std::chrono::steady_clock::now() - start);
    return response;
  } catch (...) {
    metrics_->record(request.method, pattern, 500, std::chrono::steady_clock::now() - start);
    throw;
  }
}

Response Router::dispatch(const Request& request, std::string_view& pattern) const {
  if (auto exact = exact_.find(request.path); exact != exact_.end()) {
    for (auto i : exact->second) {
      const auto& route = routes_[i];
      if (route.method != request.method) continue;
      pattern = route.pattern;
      return route.handler(request, Params{});
    }
  }
  // Another method (405 or a later route's), or a path with captures: in order, among the
  // routes with as many segments (no other can match).
  auto path = split_path<std::string_view>(request.path);
  if (path.size() >= by_length_.size()) return error_response(404, "not_found", "no such resource");
  bool path_known = false;
  for (auto i : by_length_[path.size()]) {
    const auto& route = routes_[i];
    Params params;
    if (!match(route.segments, path, params)) continue;
    path_known = true;
    pattern = route.pattern;
    if (route.method == request.method) return route.handler(request, params);
  }
  if (path_known) return error_response(405, "method_not_allowed", "method not allowed here");
  return error_response(404, "not_found", "no such resource");
}

}  // namespace relay::node::http
