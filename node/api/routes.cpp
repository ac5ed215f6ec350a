#include "node/api/routes.hpp"

#include "node/api/errors.hpp"

namespace relay::node::api {

namespace {

bool needs_credential(Role role) {
  return role == Role::member || role == Role::operator_ || role == Role::auditor ||
         role == Role::member_or_operator;
}

// A credential that was presented and is none this node issued: a missing one, or a member's
// key on an operator route, is not a guess.
bool guessed(const services::Access& access, services::AccessError e,
             std::optional<std::string_view> token) {
  using E = services::AccessError;
  if (!token || (e != E::unknown_member_key && e != E::not_operator && e != E::not_auditor))
    return false;
  return !access.is_known(*token);
}

// Pages people open in a browser (answered in HTML), as opposed to the JSON API.
bool is_candidate_page(const std::string& pattern) {
  return pattern == "/" || pattern == "/r" || pattern.starts_with("/r/") ||
         pattern == "/favicon.ico";
}

// Loopback clients are this machine's own tools, or a proxy that does not report its clients
// (http.behind_proxy unset): counting them as one address would throttle everyone behind it
// at once, so the per-address limit leaves them out.
bool is_loopback(std::string_view address) {
  return address.starts_with("127.") || address == "::1" || address.starts_with("::ffff:127.");
}

bool changes_state(const std::string& method) {
  return method != "GET" && method != "HEAD";
}

}  // namespace

std::optional<std::string_view> cookie_value(const Request& request, std::string_view name) {
  auto value = request.header("cookie");
  if (!value) return std::nullopt;
  std::string_view rest = *value;
  while (!rest.empty()) {
    auto end = rest.find(';');
    auto pair = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
  }
  return std::nullopt;
}

std::optional<std::string> csrf_presented(const Request& request) {
  if (auto h = request.header("x-csrf-token")) return std::string(*h);
  auto type = request.header("content-type");
  if (type && type->starts_with("application/x-www-form-urlencoded"))
    if (auto form = http::parse_form(request.body); form && form->contains("csrf"))
      return form->at("csrf");
  return std::nullopt;
}

namespace {

Response limited(std::chrono::seconds wait) {
  auto r = http::error_response(429, "rate_limited", "too many requests; retry later");
  r.headers["Retry-After"] = std::to_string(wait.count());
  return r;
}

}  // namespace

void Routes::add(std::string method, const std::string& pattern, Role role, Handler handler) {
  LimitedPage page;
  if (is_candidate_page(pattern)) page = limited_page_;
  router_.add(std::move(method), pattern,
              [access = &access_, guard = &guard_, limits = &limits_, sessions = &sessions_,
               page = std::move(page), role,
               handler = std::move(handler)](const Request& request, const Params& params) {
                if (auto wait = is_loopback(request.remote_address)
                                    ? std::nullopt
                                    : limits->per_ip.take(request.remote_address)) {
                  if (page) {
                    auto r = page(request, *wait);
                    r.headers["Retry-After"] = std::to_string(wait->count());
                    return r;
                  }
                  return limited(*wait);
                }
                if (needs_credential(role)) {
                  if (auto wait = guard->refused_for(request.remote_address)) {
                    auto r = http::error_response(
                        429, "too_many_attempts",
                        "too many wrong credentials from this address; retry later");
                    r.headers["Retry-After"] = std::to_string(wait->count());
                    return r;
                  }
                }
                auto token = request.bearer_token();
                std::optional<console::ActiveSession> session;
                if (!token && needs_credential(role)) {
                  if (auto id = cookie_value(request, console::kCookie)) {
                    session = sessions->find(*id);
                    if (!session) return reply(error_for(console::SessionError::no_session));
                    auto csrf = changes_state(request.method) ? csrf_presented(request)
                                                              : std::optional<std::string>{};
                    if (changes_state(request.method) &&
                        (!csrf || !console::Sessions::csrf_matches(*session, *csrf)))
                      return reply(error_for(console::SessionError::csrf_missing));
                    token = session->credential;
                  }
                }
                auto caller = access->check(role, token);
                if (!caller) {
                  if (!session && guessed(*access, caller.error(), token))
                    guard->failed(request.remote_address);
                  return reply(error_for(caller.error()));
                }
                if (caller.value().role == Role::member) {
                  if (auto wait = limits->per_member.take(caller.value().the_member().id))
                    return limited(*wait);
                }
                return handler(request, params, caller.value());
              });
}

}  // namespace relay::node::api
