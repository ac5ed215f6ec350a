// Federation endpoints: /federation/v1/identity (public, self-signed), /federation/v1/messages
// (signed envelopes from peers; the inbox checks them), /federation/v1/batch (up to 50 of them
// in one request, applied in one commit: {"envelopes": [envelope text, ...]} answered
// {"replies": [{"status": 200, "envelope": reply text} | {"status": 4xx, "error": {...}}]} in
// order), and the operator's peer, key and alert routes.
#include <limits>
#include <memory>
#include <utility>

#include "node/api/common.hpp"
#include "node/api/csv.hpp"
#include "node/api/list_download.hpp"

namespace relay::node::api {

namespace {

Response identity(const Services& s) {
  return http::text_response(200, s.peering.identity_document(), "application/json");
}

Response receive(const Services& s, const Request& request) {
  auto received = s.peering.receive(request.body);
  return http::text_response(received.status, received.body, "application/json");
}

Response receive_batch(const Services& s, const Request& request) {
  auto body = json_object_body(request);
  if (!body) return reply(body.error());
  if (auto fields = only_fields(*body, {"envelopes"}); !fields) return reply(fields.error());
  auto it = body->find("envelopes");
  if (it == body->end() || !it->is_array() || it->empty() ||
      it->size() > federation::Inbox::kMaxBatch)
    return reply(bad_request("bad_field", "envelopes: 1 to 50 envelopes, each as its text"));
  std::vector<std::string> envelopes;
  for (const auto& e : *it) {
    if (!e.is_string())
      return reply(bad_request("bad_field", "envelopes: 1 to 50 envelopes, each as its text"));
    envelopes.push_back(e.get<std::string>());
  }
  auto replies = nlohmann::json::array();
  for (auto& r : s.peering.receive_batch(envelopes)) {
    if (r.status == 200)
      replies.push_back({{"status", 200}, {"envelope", std::move(r.body)}});
    else
      replies.push_back(
          {{"status", r.status}, {"error", nlohmann::json::parse(r.body).at("error")}});
  }
  return http::json_response(200, {{"replies", replies}});
}

Response add_peer(const Services& s, const Request& request) {
  auto body = json_object_body(request);
  if (!body) return reply(body.error());
  if (auto fields = only_fields(*body, {"name", "url", "fingerprint"}); !fields)
    return reply(fields.error());
  auto name = string_field(*body, "name", true, 64);
  auto url = string_field(*body, "url", true, 200);
  auto fingerprint = string_field(*body, "fingerprint", true, 64);
  for (auto* f : {&name, &url, &fingerprint})
    if (!*f) return reply(f->error());
  auto added = s.peering.add(**name, **url, **fingerprint);
  if (!added) return reply(error_for(added.error()));
  return http::json_response(201, added->to_json());
}

Response list_peers(const Services& s) {
  nlohmann::json list = nlohmann::json::array();
  auto delivery = s.peering.delivery();
  for (const auto& p : s.peering.list()) {
    auto j = p.to_json();
    j["delivery"] = delivery[p.name].to_json();
    list.push_back(std::move(j));
  }
  return http::json_response(200, {{"peers", list}});
}

Response set_active(const Services& s, const std::string& name, bool active) {
  auto peer = s.peering.set_active(name, active);
  if (!peer) return reply(error_for(peer.error()));
  return http::json_response(200, peer->to_json());
}

Response ping(const Services& s, const std::string& name) {
  auto id = s.peering.ping(name);
  if (!id) return reply(error_for(id.error()));
  return http::json_response(202, {{"queued", *id}});
}

Response rotate_keys(const Services& s) {
  return http::json_response(200, {{"fingerprint", s.peering.rotate_keys()}});
}

// An alert's kind: lower-case letters and '_' (raise() names them in code).
bool is_alert_kind(const std::string& kind) {
  return !kind.empty() && kind.size() <= 40 &&
         kind.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos;
}

// The alerts a query names, read a piece at a time from where the last piece stopped
// (list_download.hpp): alerts are kept, one for every address a mail server refused.
class AlertReading {
 public:
  AlertReading(const Services& s, federation::AlertQuery query)
      : s_(s), query_(std::move(query)), place_{query_.after, query_.limit} {}

  // The next piece's alerts added to `items`, and how many there are; nullopt if where it goes
  // on from is not an alert (of the kind asked).
  std::optional<std::uint64_t> next(std::vector<nlohmann::json>& items) {
    query_.after = place_.after;
    query_.limit = place_.next_limit();
    auto read = s_.peering.alerts(query_);
    if (!read) return std::nullopt;
    for (auto& alert : read->page.alerts) {
      place_.read(alert.at("id").get<std::string>());
      items.push_back(std::move(alert));
    }
    place_.ended(read->page.more);
    return read->total;
  }
  bool more() const { return place_.more; }

 private:
  const Services& s_;
  federation::AlertQuery query_;
  ListPlace place_;
};

// Without limit or after: every alert, oldest first (as before pages). With either: a page,
// newest first, and `next` (the `after` of the next page) while older ones follow. kind=K:
// only that kind. `total`: how many alerts there are, of every kind. ?format=csv: the same
// alerts as a download. The whole list and the download are sent as they are read.
Response alerts(const Services& s, const Request& request) {
  auto paging = page_params(request);
  if (!paging) return reply(paging.error());
  auto csv = wants_csv(request);
  if (!csv) return reply(csv.error());
  federation::AlertQuery query;
  query.limit = paging->limit;
  query.after = paging->after;
  query.newest_first = !paging->whole();
  if (auto kind = request.query.find("kind"); kind != request.query.end()) {
    if (!is_alert_kind(kind->second))
      return reply(bad_request("bad_parameter", "kind: lower-case letters and _, at most 40"));
    query.kind = kind->second;
  }
  auto refused = [&query] {
    return reply(bad_request("bad_parameter", query.kind.empty()
                                                  ? "after: not an alert"
                                                  : "after: not an alert of that kind"));
  };
  if (query.newest_first && !*csv) {  // a page: at most 1,000
    auto read = s.peering.alerts(query);
    if (!read) return refused();
    auto& alerts = read->page.alerts;
    nlohmann::json body{{"alerts", alerts}, {"total", read->total}};
    if (read->page.more && !alerts.empty()) body["next"] = alerts.back().at("id");
    return http::json_response(200, body);
  }
  return objects_as_read(std::make_shared<AlertReading>(s, query), *csv, "alerts",
                         {"id", "at_ms", "kind", "peer", "message"}, refused());
}

Response refusals(const Services& s) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : s.peering.refusals())
    list.push_back({{"at_ms", r.at_ms}, {"from", r.from}, {"type", r.type}, {"reason", r.reason}});
  return http::json_response(200, {{"refusals", list}});
}

// Without limit: every entry (as before the limit existed). With it: the first `limit`, and
// "truncated" when more follow. A peer down for days can have queued tens of thousands.
Response outbox(const Services& s, const Request& request) {
  auto limit = limit_param(request, std::numeric_limits<std::size_t>::max(), 100'000);
  if (!limit) return reply(limit.error());
  auto listing = s.peering.outbox(*limit);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : listing.entries) list.push_back(e.to_json());
  return http::json_response(200, {{"outbox", list}, {"truncated", listing.truncated}});
}

}  // namespace

void add_federation_routes(Routes& routes, const Services& s) {
  routes.add("GET", "/federation/v1/identity", Role::everyone,
             [&s](const Request&, const Params&, const Caller&) { return identity(s); });
  routes.add(
      "POST", "/federation/v1/messages", Role::peer,
      [&s](const Request& request, const Params&, const Caller&) { return receive(s, request); });
  routes.add("POST", "/federation/v1/batch", Role::peer,
             [&s](const Request& request, const Params&, const Caller&) {
               return receive_batch(s, request);
             });
  routes.add(
      "POST", "/api/v1/peers", Role::operator_,
      [&s](const Request& request, const Params&, const Caller&) { return add_peer(s, request); });
  routes.add("GET", "/api/v1/peers", Role::operator_,
             [&s](const Request&, const Params&, const Caller&) { return list_peers(s); });
  routes.add("POST", "/api/v1/peers/{name}/suspend", Role::operator_,
             [&s](const Request&, const Params& params, const Caller&) {
               return set_active(s, params.at("name"), false);
             });
  routes.add("POST", "/api/v1/peers/{name}/reinstate", Role::operator_,
             [&s](const Request&, const Params& params, const Caller&) {
               return set_active(s, params.at("name"), true);
             });
  routes.add("POST", "/api/v1/peers/{name}/ping", Role::operator_,
             [&s](const Request&, const Params& params, const Caller&) {
               return ping(s, params.at("name"));
             });
  routes.add("POST", "/api/v1/keys/rotate", Role::operator_,
             [&s](const Request&, const Params&, const Caller&) { return rotate_keys(s); });
  routes.add(
      "GET", "/api/v1/alerts", Role::operator_,
      [&s](const Request& request, const Params&, const Caller&) { return alerts(s, request); });
  routes.add("GET", "/api/v1/federation/refusals", Role::operator_,
             [&s](const Request&, const Params&, const Caller&) { return refusals(s); });
  routes.add(
      "GET", "/api/v1/federation/outbox", Role::operator_,
      [&s](const Request& request, const Params&, const Caller&) { return outbox(s, request); });
}

}  // namespace relay::node::api
