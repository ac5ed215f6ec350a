#pragma once
// The API's route table with roles: every route names the role its caller must have, the
// table checks it (one place; 401/403 bodies from errors.hpp) and hands the handler the
// authenticated Caller. Handlers never check tokens themselves. An address that keeps
// presenting wrong credentials is refused with 429 for a while (services/credential_guard.hpp).
// Rate limits (services/request_limits.hpp) apply before any handler: per client address on
// every route (loopback clients excepted: this machine's tools, or a proxy that does not
// report its clients), per member on member routes; past one, the API answers 429 with Retry-After
// and a JSON body, a candidate page (HTML under /, /r/) the page `RouteLimits::page` makes.
// A browser signed in to the console (node/console/sessions.hpp) presents its session cookie
// instead of a Bearer token: the table checks the session's credential exactly as it would the
// token, and refuses a state-changing request (anything but GET/HEAD) whose X-CSRF-Token header
// (or `csrf` form field) is not the session's (403, nothing changes). A Bearer token wins over
// a cookie; only Bearer requests count as guesses.
//
//   routes.add("GET", "/api/v1/credits", Role::member, credits);
//   Response credits(const Request&, const Params&, const Caller& caller);  // caller.the_member()
//
// Threads: built once before the server starts, then only read (handle() from HTTP threads).
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "node/console/sessions.hpp"
#include "node/http/message.hpp"
#include "node/http/router.hpp"
#include "node/services/access.hpp"
#include "node/services/credential_guard.hpp"
#include "node/services/request_limits.hpp"

namespace relay::node::api {

using http::Params;
using http::Request;
using http::Response;
using services::Caller;
using services::Role;

using Handler = std::function<Response(const Request&, const Params&, const Caller&)>;

// The reply to a person past a limit on a candidate page, given how long to wait.
using LimitedPage = std::function<Response(const Request&, std::chrono::seconds)>;

// The value of the cookie `name` in the request's Cookie header, if present.
std::optional<std::string_view> cookie_value(const Request& request, std::string_view name);

// The CSRF token a request presents: the X-CSRF-Token header, or the `csrf` field of a form.
std::optional<std::string> csrf_presented(const Request& request);

class Routes {
 public:
  Routes(http::Router& router, const services::Access& access, services::CredentialGuard& guard,
         services::RequestLimits& limits, console::Sessions& sessions, LimitedPage limited_page)
      : router_(router),
        access_(access),
        guard_(guard),
        limits_(limits),
        sessions_(sessions),
        limited_page_(std::move(limited_page)) {}

  // Registers `handler` for (method, pattern), reached only by callers that pass `role`.
  void add(std::string method, const std::string& pattern, Role role, Handler handler);

 private:
  http::Router& router_;
  const services::Access& access_;
  services::CredentialGuard& guard_;
  services::RequestLimits& limits_;
  console::Sessions& sessions_;
  LimitedPage limited_page_;
};

}  // namespace relay::node::api
