#pragma once
// What every route shares: authentication by bearer token, strict JSON bodies, and running a
// domain call through the Writer. Handlers stay thin: parse and validate, call the domain,
// format the reply.
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "node/http/message.hpp"
#include "node/http/router.hpp"
#include "node/members/member.hpp"
#include "node/node.hpp"

namespace relay::node::api {

using http::Request;
using http::Response;

// Either the authenticated caller or the error response to send.
template <class T>
using Authorised = std::variant<T, Response>;

Authorised<bool> require_admin(Node& node, const Request& request);
Authorised<bool> require_auditor(Node& node, const Request& request);  // admin also passes
// An active member by API key; 401 without a valid key, 403 if suspended.
Authorised<members::Member> require_member(Node& node, const Request& request);

// A JSON object body: Content-Type application/json, strict parse (no duplicate keys,
// integers only), an object at the top. Otherwise a 400/415 response naming the problem.
std::variant<nlohmann::json, Response> json_object_body(const Request& request);

// A string field: absent -> nullopt (or error if required); wrong type -> error naming it.
struct FieldResult {
  std::optional<std::string> value;
  std::optional<Response> error;
};
FieldResult string_field(const nlohmann::json& body, const std::string& name, bool required,
                         std::size_t max_chars);

// Refuses fields not in `allowed` (a typo should not pass silently).
std::optional<Response> only_fields(const nlohmann::json& body, std::initializer_list<const char*> allowed);

// An unsigned integer query parameter; nullopt if absent, error if malformed.
struct NumberParam {
  std::optional<std::uint64_t> value;
  std::optional<Response> error;
};
NumberParam number_param(const Request& request, const std::string& name);

// Registers the routes of each part of the API.
void add_operator_routes(http::Router& router, Node& node);
void add_member_routes(http::Router& router, Node& node);
void add_candidate_pages(http::Router& router, Node& node);
void add_audit_routes(http::Router& router, Node& node);
void add_federation_routes(http::Router& router, Node& node);
void add_witness_routes(http::Router& router, Node& node);
void add_handoff_routes(http::Router& router, Node& node);

// All of the above plus /healthz.
http::Router build_router(Node& node);

}  // namespace relay::node::api
