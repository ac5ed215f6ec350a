#include "node/api/routes.hpp"

#include "node/api/errors.hpp"

namespace relay::node::api {

void Routes::add(std::string method, const std::string& pattern, Role role, Handler handler) {
  router_.add(std::move(method), pattern,
              [access = &access_, role, handler = std::move(handler)](const Request& request,
                                                                      const Params& params) {
                auto caller = access->check(role, request.bearer_token());
                if (!caller) return reply(error_for(caller.error()));
                return handler(request, params, caller.value());
              });
}

}  // namespace relay::node::api
