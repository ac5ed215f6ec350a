#pragma once
// Maps (method, path pattern) to a handler. Patterns are '/'-separated literal segments
// and "{name}" captures, e.g. "/api/v1/members/{id}". Unknown paths answer 404, a known
// path with another method 405; both with JSON error bodies.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "node/http/message.hpp"

namespace relay::node::http {

using Params = std::map<std::string, std::string>;
using RouteHandler = std::function<Response(const Request&, const Params&)>;

class Router {
 public:
  void add(std::string method, const std::string& pattern, RouteHandler handler);
  Response handle(const Request& request) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    RouteHandler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace relay::node::http
