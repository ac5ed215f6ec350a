#include "node/api/common.hpp"

#include "node/storage/txn.hpp"
#include "protocol/canonical_json.hpp"
#include "node/common/text.hpp"

namespace relay::node::api {

Authorised<bool> require_admin(Node& node, const Request& request) {
  auto token = request.bearer_token();
  if (!token) return http::error_response(401, "unauthorised", "an operator token is required");
  if (!node.is_admin(*token)) return http::error_response(403, "forbidden", "not an operator token");
  return true;
}

Authorised<bool> require_auditor(Node& node, const Request& request) {
  auto token = request.bearer_token();
  if (!token) return http::error_response(401, "unauthorised", "an auditor token is required");
  if (!node.is_auditor(*token) && !node.is_admin(*token))
    return http::error_response(403, "forbidden", "not an auditor token");
  return true;
}

Authorised<members::Member> require_member(Node& node, const Request& request) {
  auto token = request.bearer_token();
  if (!token) return http::error_response(401, "unauthorised", "a member API key is required");
  auto txn = node.env().begin_read();
  auto member = node.members().authenticate(txn, *token);
  if (!member) return http::error_response(401, "unauthorised", "unknown API key");
  if (!member->active) return http::error_response(403, "member_suspended", "this member is suspended");
  return *member;
}

std::variant<nlohmann::json, Response> json_object_body(const Request& request) {
  auto type = request.header("content-type");
  if (!type || type->substr(0, 16) != "application/json")
    return http::error_response(415, "unsupported_media_type", "Content-Type must be application/json");
  auto parsed = protocol::parse_strict(request.body);
  if (!parsed)
    return http::error_response(400, "bad_json", "invalid JSON: " + std::string(protocol::to_string(parsed.error.code)) +
                                                     " at byte " + std::to_string(parsed.error.offset));
  if (!parsed.value->is_object()) return http::error_response(400, "bad_json", "the body must be a JSON object");
  return std::move(*parsed.value);
}

FieldResult string_field(const nlohmann::json& body, const std::string& name, bool required,
                         std::size_t max_chars) {
  FieldResult r;
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) r.error = http::error_response(400, "missing_field", name + ": required");
    return r;
  }
  if (!it->is_string()) {
    r.error = http::error_response(400, "bad_field", name + ": must be a string");
    return r;
  }
  auto cleaned = common::clean_text(it->get_ref<const std::string&>(), max_chars);
  if (!cleaned) {
    r.error = http::error_response(400, "bad_field",
                                   name + ": must be 1.." + std::to_string(max_chars) +
                                       " characters of text without control characters");
    return r;
  }
  r.value = std::move(cleaned);
  return r;
}

std::optional<Response> only_fields(const nlohmann::json& body, std::initializer_list<const char*> allowed) {
  for (const auto& [key, value] : body.items()) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || key == a;
    if (!ok) return http::error_response(400, "unknown_field", key + ": not a known field");
  }
  return std::nullopt;
}

NumberParam number_param(const Request& request, const std::string& name) {
  NumberParam p;
  auto it = request.query.find(name);
  if (it == request.query.end()) return p;
  const auto& text = it->second;
  std::uint64_t v = 0;
  bool ok = !text.empty() && text.size() <= 19;
  for (char c : text) {
    if (c < '0' || c > '9') ok = false;
    else v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (!ok) p.error = http::error_response(400, "bad_parameter", name + ": must be a non-negative integer");
  else p.value = v;
  return p;
}

http::Router build_router(Node& node) {
  http::Router router;
  router.add("GET", "/healthz", [&node](const Request&, const http::Params&) {
    auto txn = node.env().begin_read();
    return http::json_response(200, {{"status", "ok"}, {"node", node.config().node.name},
                                     {"ledger_size", node.ledger().size(txn)}});
  });
  add_operator_routes(router, node);
  add_member_routes(router, node);
  add_candidate_pages(router, node);
  add_audit_routes(router, node);
  add_federation_routes(router, node);
  add_witness_routes(router, node);
  add_handoff_routes(router, node);
  return router;
}

}  // namespace relay::node::api
