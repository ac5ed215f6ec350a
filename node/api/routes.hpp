#pragma once
// The API's route table with roles: every route names the role its caller must have, the
// table checks it (one place; 401/403 bodies from errors.hpp) and hands the handler the
// authenticated Caller. Handlers never check tokens themselves. An address that keeps
// presenting wrong credentials is refused with 429 for a while (services/credential_guard.hpp).
//
//   routes.add("GET", "/api/v1/credits", Role::member, credits);
//   Response credits(const Request&, const Params&, const Caller& caller);  // caller.the_member()
//
// Threads: built once before the server starts, then only read (handle() from HTTP threads).
#include <functional>
#include <string>

#include "node/http/message.hpp"
#include "node/http/router.hpp"
#include "node/services/access.hpp"
#include "node/services/credential_guard.hpp"

namespace relay::node::api {

using http::Params;
using http::Request;
using http::Response;
using services::Caller;
using services::Role;

using Handler = std::function<Response(const Request&, const Params&, const Caller&)>;

class Routes {
 public:
  Routes(http::Router& router, const services::Access& access, services::CredentialGuard& guard)
      : router_(router), access_(access), guard_(guard) {}

  // Registers `handler` for (method, pattern), reached only by callers that pass `role`.
  void add(std::string method, const std::string& pattern, Role role, Handler handler);

 private:
  http::Router& router_;
  const services::Access& access_;
  services::CredentialGuard& guard_;
};

}  // namespace relay::node::api
