// Operator API: admit, list, suspend and reinstate members (admin token).
#include "node/api/common.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::api {

namespace {
nlohmann::json member_view(Node& node, const storage::Txn& txn, const members::Member& m) {
  auto j = m.to_json();
  j["relay_link"] = node.config().node.public_url + "/r/" + m.link_token;
  j["credits"] = node.credits().account(txn, m.id).to_json();
  return j;
}

Response set_status(Node& node, const Request& request, const http::Params& params, bool active) {
  auto auth = require_admin(node, request);
  if (auto* denied = std::get_if<Response>(&auth)) return *denied;
  auto change = node.writer().submit_wait(
      [&](storage::WriteTxn& txn) { return node.members().set_active(txn, params.at("id"), active); });
  if (change == members::StatusChange::not_found)
    return http::error_response(404, "not_found", "no such member");
  auto txn = node.env().begin_read();
  return http::json_response(200, member_view(node, txn, *node.members().find(txn, params.at("id"))));
}
}  // namespace

void add_operator_routes(http::Router& router, Node& node) {
  router.add("POST", "/api/v1/members", [&node](const Request& request, const http::Params&) {
    auto auth = require_admin(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    auto body = json_object_body(request);
    if (auto* bad = std::get_if<Response>(&body)) return *bad;
    auto& json = std::get<nlohmann::json>(body);
    if (auto bad = only_fields(json, {"name"})) return *bad;
    auto name = string_field(json, "name", true, 200);
    if (name.error) return *name.error;
    auto result = node.writer().submit_wait(
        [&](storage::WriteTxn& txn) { return node.members().admit(txn, *name.value); });
    if (result.error == members::AdmitError::duplicate_name)
      return http::error_response(409, "duplicate_name", "name: a member with this name exists");
    if (!result.admitted) return http::error_response(400, "bad_field", "name: not acceptable");
    auto txn = node.env().begin_read();
    auto view = member_view(node, txn, result.admitted->member);
    view["api_key"] = result.admitted->api_key;
    view["api_key_note"] = "shown once: store it now";
    return http::json_response(201, view);
  });

  router.add("GET", "/api/v1/members", [&node](const Request& request, const http::Params&) {
    auto auth = require_admin(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    auto txn = node.env().begin_read();
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : node.members().list(txn)) list.push_back(member_view(node, txn, m));
    return http::json_response(200, {{"members", list}});
  });

  router.add("GET", "/api/v1/members/{id}", [&node](const Request& request, const http::Params& params) {
    auto auth = require_admin(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    auto txn = node.env().begin_read();
    auto m = node.members().find(txn, params.at("id"));
    if (!m) return http::error_response(404, "not_found", "no such member");
    return http::json_response(200, member_view(node, txn, *m));
  });

  router.add("POST", "/api/v1/members/{id}/suspend", [&node](const Request& request, const http::Params& params) {
    return set_status(node, request, params, false);
  });
  router.add("POST", "/api/v1/members/{id}/reinstate", [&node](const Request& request, const http::Params& params) {
    return set_status(node, request, params, true);
  });
}

}  // namespace relay::node::api
