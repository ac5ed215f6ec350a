#pragma once
// Maps (method, path pattern) to a handler. Patterns are '/'-separated literal segments
// and "{name}" captures, e.g. "/api/v1/members/{id}". Unknown paths answer 404, a known
// path with another method 405; both with JSON error bodies.
//
// Every dispatch is counted in metrics() (route_metrics.hpp) under the matched route's
// pattern, never the raw path (capability tokens are in paths); a handler that throws is
// counted as a 500 and the exception goes on to the server, which answers it.
//
// Threads: add() before serving; handle() from any thread.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "node/http/message.hpp"
#include "node/http/route_metrics.hpp"

namespace relay::node::http {

using Params = std::map<std::string, std::string>;
using RouteHandler = std::function<Response(const Request&, const Params&)>;

class Router {
 public:
  void add(std::string method, const std::string& pattern, RouteHandler handler);
  Response handle(const Request& request) const;
  // The request counts and latencies; the object lives as long as any copy of the Router.
  const RouteMetrics& metrics() const { return *metrics_; }

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    RouteHandler handler;
  };
  Response dispatch(const Request& request, std::string_view& pattern) const;
  std::vector<Route> routes_;
  // Routes without captures, by their path: the ones no earlier route of the same method
  // takes, so the first found for the request's method is the one the scan would find. The
  // scan cost a member request about 1.5k instructions, the pool search 3.4k (callgrind).
  std::unordered_map<std::string, std::vector<std::size_t>> exact_;
  // Every route's index, in order, by its number of segments: a path is matched only against
  // routes of its own length (a registration's POST /r/{token} scanned about 80 routes).
  std::vector<std::vector<std::size_t>> by_length_;
  std::shared_ptr<RouteMetrics> metrics_ = std::make_shared<RouteMetrics>();
};

}  // namespace relay::node::http
