// Federation endpoints: /federation/v1/identity (public, self-signed), /federation/v1/messages
// (signed envelopes from peers), and the operator's peer, key and alert routes.
#include "node/api/common.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::api {

namespace {
std::string add_error_text(federation::AddError e) {
  switch (e) {
    case federation::AddError::bad_name: return "name: lower-case letters, digits, '.' and '-' only, 1..64";
    case federation::AddError::bad_url: return "url: must be http://host[:port] without a path";
    case federation::AddError::bad_fingerprint: return "fingerprint: 64 lower-case hex digits (SHA-256 of the peer's key)";
    case federation::AddError::is_self: return "name: that is this node";
    case federation::AddError::duplicate: return "name: a peer with this name exists";
    default: return "";
  }
}

Response peer_status(Node& node, const Request& request, const std::string& name, bool active) {
  auto auth = require_admin(node, request);
  if (auto* denied = std::get_if<Response>(&auth)) return *denied;
  auto found = node.writer().submit_wait(
      [&](storage::WriteTxn& txn) { return node.federation().peers().set_active(txn, name, active); });
  if (!found) return http::error_response(404, "not_found", "no such peer");
  auto txn = node.env().begin_read();
  return http::json_response(200, node.federation().peers().find(txn, name)->to_json());
}
}  // namespace

void add_federation_routes(http::Router& router, Node& node) {
  router.add("GET", "/federation/v1/identity", [&node](const Request&, const http::Params&) {
    return http::text_response(200, node.federation().identity_document(), "application/json");
  });

  router.add("POST", "/federation/v1/messages", [&node](const Request& request, const http::Params&) {
    auto received = node.federation().receive(request.body);
    if (!received.refused) node.federation().notify();
    return http::text_response(received.status, received.body, "application/json");
  });

  router.add("POST", "/api/v1/peers", [&node](const Request& request, const http::Params&) {
    auto auth = require_admin(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    auto body = json_object_body(request);
    if (auto* bad = std::get_if<Response>(&body)) return *bad;
    auto& json = std::get<nlohmann::json>(body);
    if (auto bad = only_fields(json, {"name", "url", "fingerprint"})) return *bad;
    auto name = string_field(json, "name", true, 64);
    auto url = string_field(json, "url", true, 200);
    auto fingerprint = string_field(json, "fingerprint", true, 64);
    for (auto* f : {&name, &url, &fingerprint})
      if (f->error) return *f->error;
    auto error = node.writer().submit_wait([&](storage::WriteTxn& txn) {
      return node.federation().peers().add(txn, *name.value, *url.value, *fingerprint.value);
    });
    if (error == federation::AddError::duplicate) return http::error_response(409, "duplicate", add_error_text(error));
    if (error != federation::AddError::none) return http::error_response(400, "bad_field", add_error_text(error));
    node.federation().refresh_peer(*name.value);  // best effort: keys are learnt later otherwise
    auto txn = node.env().begin_read();
    return http::json_response(201, node.federation().peers().find(txn, *name.value)->to_json());
  });

  router.add("GET", "/api/v1/peers", [&node](const Request& request, const http::Params&) {
    auto auth = require_admin(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    auto txn = node.env().begin_read();
    nlohmann::json list = nlohmann::json::array();
    for (const auto& p : node.federation().peers().list(txn)) list.push_back(p.to_json());
    return http::json_response(200, {{"peers", list}});
  });

  router.add("POST", "/api/v1/peers/{name}/suspend", [&node](const Request& request, const http::Params& params) {
    return peer_status(node, request, params.at("name"), false);
  });
  router.add("POST", "/api/v1/peers/{name}/reinstate", [&node](const Request& request, const http::Params& params) {
    return peer_status(node, request, params.at("name"), true);
  });

  router.add("POST", "/api/v1/peers/{name}/ping", [&node](const Request& request, const http::Params& params) {
    auto auth = require_admin(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    auto id = node.writer().submit_wait([&](storage::WriteTxn& txn) -> std::string {
      if (!node.federation().peers().find(txn, params.at("name"))) return {};
      return node.federation().enqueue(txn, params.at("name"), protocol::Ping{});
    });
    if (id.empty()) return http::error_response(404, "not_found", "no such peer");
    node.federation().notify();
    return http::json_response(202, {{"queued", id}});
  });

  router.add("POST", "/api/v1/keys/rotate", [&node](const Request& request, const http::Params&) {
    auto auth = require_admin(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    node.federation().rotate_keys();
    auto keys = node.keys().current();
    return http::json_response(200, {{"fingerprint", keys->signing.public_key.fingerprint()}});
  });

  router.add("GET", "/api/v1/alerts", [&node](const Request& request, const http::Params&) {
    auto auth = require_admin(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    auto txn = node.env().begin_read();
    return http::json_response(200, {{"alerts", node.federation().alerts(txn)}});
  });

  router.add("GET", "/api/v1/federation/refusals", [&node](const Request& request, const http::Params&) {
    auto auth = require_admin(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : node.federation().refusals())
      list.push_back({{"at_ms", r.at_ms}, {"from", r.from}, {"type", r.type}, {"reason", r.reason}});
    return http::json_response(200, {{"refusals", list}});
  });

  router.add("GET", "/api/v1/federation/outbox", [&node](const Request& request, const http::Params&) {
    auto auth = require_admin(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    auto txn = node.env().begin_read();
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : node.federation().outbox().all(txn)) list.push_back(e.to_json());
    return http::json_response(200, {{"outbox", list}});
  });
}

}  // namespace relay::node::api
