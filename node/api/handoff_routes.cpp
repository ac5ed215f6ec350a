// Member API for the candidate pool and handoffs across nodes (member API key):
//   GET  /api/v1/pool?job_category=&prefecture=&skill=&age_band=&experience_band=
//        anonymised profiles a member may ask for: this node's candidates who consented to
//        circulate in the region, and the profiles peers circulate to us.
//   POST /api/v1/handoffs {"node", "ref"}   ask a peer for one of its candidates
//   GET  /api/v1/handoffs[/{id}]            the member's own handoffs (another member's: 404);
//        once delivered, the detail carries the candidate's personal data and profile.
//   POST /api/v1/handoffs/{id}/hire         the member reports hiring the delivered candidate:
//        the received data then no longer expires (404 unless it is the member's delivered
//        handoff).
#include "config/reference.hpp"
#include "node/api/common.hpp"
#include "node/federation/pool_search.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::api {

namespace {

constexpr std::size_t kMaxPoolHits = 500;

// A filter value from the query: absent or empty -> nullopt; otherwise it must pass `valid`.
struct Filter {
  std::optional<std::string> value;
  std::optional<Response> error;
};

template <class Valid>
Filter filter(const Request& request, const std::string& name, Valid valid) {
  Filter f;
  auto it = request.query.find(name);
  if (it == request.query.end() || it->second.empty()) return f;
  auto v = valid(it->second);
  if (!v)
    f.error = http::error_response(400, "bad_parameter", name + ": not a known value");
  else
    f.value = std::move(*v);
  return f;
}

std::string request_error_text(federation::RequestError e) {
  switch (e) {
    case federation::RequestError::not_a_peer:
      return "node: not an active peer of this node";
    case federation::RequestError::not_in_pool:
      return "ref: no such profile from that node in the pool";
    default:
      return "";
  }
}

nlohmann::json handoff_detail(Node& node, const storage::Txn& txn, const federation::Handoff& h) {
  auto j = h.to_member_json();
  if (auto data = node.handoffs().delivered(txn, h)) {
    j["personal"] = data->personal.to_json();
    j["profile"] = data->profile.to_json();
  }
  return j;
}

}  // namespace

void add_handoff_routes(http::Router& router, Node& node) {
  router.add("GET", "/api/v1/pool", [&node](const Request& request, const http::Params&) {
    auto auth = require_member(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    const auto& ref = node.reference();
    auto coded = [](auto finder) {
      return [finder](const std::string& v) -> std::optional<std::string> {
        if (!finder(v)) return std::nullopt;
        return v;
      };
    };
    auto category = filter(request, "job_category",
                           coded([&](const std::string& v) { return ref.find_job_category(v); }));
    auto prefecture = filter(request, "prefecture",
                             coded([&](const std::string& v) { return ref.find_prefecture(v); }));
    auto age = filter(request, "age_band",
                      coded([&](const std::string& v) { return ref.find_age_band(v); }));
    auto experience =
        filter(request, "experience_band",
               coded([&](const std::string& v) { return ref.find_experience_band(v); }));
    auto skill =
        filter(request, "skill", [](const std::string& v) { return config::normalise_skill(v); });
    for (auto* f : {&category, &prefecture, &age, &experience, &skill})
      if (f->error) return *f->error;
    federation::PoolQuery query{category.value, prefecture.value, skill.value, age.value,
                                experience.value};
    auto txn = node.env().begin_read();
    auto result =
        federation::search_pool(txn, node.profiles(), node.candidates(), node.config().node.name,
                                node.config().node.region, query, kMaxPoolHits);
    nlohmann::json hits = nlohmann::json::array();
    for (const auto& hit : result.hits) hits.push_back(hit.to_json());
    return http::json_response(200, {{"profiles", hits}, {"truncated", result.truncated}});
  });

  router.add("POST", "/api/v1/handoffs", [&node](const Request& request, const http::Params&) {
    auto auth = require_member(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    const auto& member = std::get<members::Member>(auth);
    auto body = json_object_body(request);
    if (auto* bad = std::get_if<Response>(&body)) return *bad;
    auto& json = std::get<nlohmann::json>(body);
    if (auto bad = only_fields(json, {"node", "ref"})) return *bad;
    auto peer = string_field(json, "node", true, 64);
    if (peer.error) return *peer.error;
    auto ref = string_field(json, "ref", true, 32);
    if (ref.error) return *ref.error;
    if (*peer.value == node.config().node.name)
      return http::error_response(400, "bad_field",
                                  "node: handoffs are from peer nodes, not this one");
    auto result = node.writer().submit_wait([&](storage::WriteTxn& txn) {
      return node.handoffs().request(txn, member, *peer.value, *ref.value);
    });
    if (result.error != federation::RequestError::none)
      return http::error_response(404, "not_found", request_error_text(result.error));
    if (result.created) node.federation().notify();
    return http::json_response(result.created ? 201 : 200, result.handoff->to_member_json());
  });

  router.add("GET", "/api/v1/handoffs", [&node](const Request& request, const http::Params&) {
    auto auth = require_member(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    const auto& member = std::get<members::Member>(auth);
    auto txn = node.env().begin_read();
    nlohmann::json list = nlohmann::json::array();
    for (const auto& h : node.handoffs().for_member(txn, member.id))
      list.push_back(h.to_member_json());
    return http::json_response(200, {{"handoffs", list}});
  });

  router.add("GET", "/api/v1/handoffs/{id}",
             [&node](const Request& request, const http::Params& params) {
               auto auth = require_member(node, request);
               if (auto* denied = std::get_if<Response>(&auth)) return *denied;
               const auto& member = std::get<members::Member>(auth);
               auto txn = node.env().begin_read();
               auto h = node.handoffs().find(txn, params.at("id"));
               if (!h || h->member != member.id)
                 return http::error_response(404, "not_found", "no such handoff");
               auto response = http::json_response(200, handoff_detail(node, txn, *h));
               response.headers["Cache-Control"] = "no-store";
               return response;
             });

  router.add("POST", "/api/v1/handoffs/{id}/hire",
             [&node](const Request& request, const http::Params& params) {
               auto auth = require_member(node, request);
               if (auto* denied = std::get_if<Response>(&auth)) return *denied;
               const auto& member = std::get<members::Member>(auth);
               const auto& id = params.at("id");
               bool reported = node.writer().submit_wait([&](storage::WriteTxn& txn) {
                 return node.erasures().report_hire(txn, member.id, id);
               });
               if (!reported)
                 return http::error_response(404, "not_found", "no such delivered handoff");
               auto txn = node.env().begin_read();
               auto h = node.handoffs().find(txn, id);
               auto response = http::json_response(200, h ? handoff_detail(node, txn, *h)
                                                         : nlohmann::json{{"id", id}});
               response.headers["Cache-Control"] = "no-store";
               return response;
             });
}

}  // namespace relay::node::api
