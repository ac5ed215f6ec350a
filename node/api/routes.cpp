#include "node/api/routes.hpp"

#include "node/api/errors.hpp"

namespace relay::node::api {

namespace {

bool needs_credential(Role role) {
  return role == Role::member || role == Role::operator_ || role == Role::auditor;
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

}  // namespace

void Routes::add(std::string method, const std::string& pattern, Role role, Handler handler) {
  router_.add(std::move(method), pattern,
              [access = &access_, guard = &guard_, role, handler = std::move(handler)](
                  const Request& request, const Params& params) {
                if (needs_credential(role)) {
                  if (auto wait = guard->refused_for(request.remote_address)) {
                    auto r = http::error_response(
                        429, "too_many_attempts",
                        "too many wrong credentials from this address; retry later");
                    r.headers["Retry-After"] = std::to_string(wait->count());
                    return r;
                  }
                }
                auto caller = access->check(role, request.bearer_token());
                if (!caller) {
                  if (guessed(*access, caller.error(), request.bearer_token()))
                    guard->failed(request.remote_address);
                  return reply(error_for(caller.error()));
                }
                return handler(request, params, caller.value());
              });
}

}  // namespace relay::node::api
