// Settlement between nodes (issue 15; node/settlement/README.md). Operator only.
//   GET  /api/v1/settlements[?format=csv[&period=P]]   statements (newest first) and, per peer,
//        what is open and the settled net; as CSV: one invoicing row per agreed statement
//        (period P only, if given), with yen when settlement.yen_per_introduction is set
//   POST /api/v1/settlements {peer}   a statement of every open obligation with peer, now (202)
//   GET  /api/v1/nettings              multilateral nettings, newest first
//   POST /api/v1/nettings {participants: [peer, ...]}   a netting among this node and 2+ peers
//        (202; the participants are asked for their statements first, so it may take a few
//        seconds)
#include "node/api/common.hpp"
#include "node/api/csv.hpp"

namespace relay::node::api {

namespace {

const std::vector<std::string> kInvoiceColumns = {
    "statement", "period", "peer", "role", "agreed", "owed_to_us", "owed_by_us", "net", "yen"};

Response list(const Services& s, const Request& request) {
  auto csv = wants_csv(request);
  if (!csv) return reply(csv.error());
  if (!*csv) return http::json_response(200, s.settlements.list());
  auto it = request.query.find("period");
  auto period = it == request.query.end() ? std::string{} : it->second;
  if (!period.empty() && !protocol::settlement::valid_id(period))
    return reply(bad_request("bad_parameter", "period: YYYY-MM or YYYY-MM-DD"));
  return csv_response(period.empty() ? "settlements" : "settlements-" + period,
                      s.settlements.invoice_rows(period), kInvoiceColumns);
}

Response propose(const Services& s, const Request& request) {
  auto body = json_object_body(request);
  if (!body) return reply(body.error());
  if (auto fields = only_fields(*body, {"peer"}); !fields) return reply(fields.error());
  auto peer = string_field(*body, "peer", true, 64);
  if (!peer) return reply(peer.error());
  auto r = s.settlements.propose(**peer);
  if (!r) return reply(error_for(r.error()));
  return http::json_response(202, *r);
}

Response propose_netting(const Services& s, const Request& request) {
  auto body = json_object_body(request);
  if (!body) return reply(body.error());
  if (auto fields = only_fields(*body, {"participants"}); !fields) return reply(fields.error());
  auto it = body->find("participants");
  std::vector<std::string> others;
  if (it == body->end() || !it->is_array() || it->size() > 64)
    return reply(bad_request("bad_field", "participants: an array of peer names"));
  for (const auto& p : *it) {
    if (!p.is_string() || p.get<std::string>().empty() || p.get<std::string>().size() > 64)
      return reply(bad_request("bad_field", "participants: an array of peer names"));
    others.push_back(p.get<std::string>());
  }
  auto r = s.nettings.propose(std::move(others));
  if (!r) return reply(error_for(r.error()));
  return http::json_response(202, *r);
}

}  // namespace

void add_settlement_routes(Routes& routes, const Services& s) {
  routes.add("GET", "/api/v1/settlements", Role::operator_,
             [&s](const Request& r, const Params&, const Caller&) { return list(s, r); });
  routes.add("POST", "/api/v1/settlements", Role::operator_,
             [&s](const Request& r, const Params&, const Caller&) { return propose(s, r); });
  routes.add("GET", "/api/v1/nettings", Role::operator_,
             [&s](const Request&, const Params&, const Caller&) {
               return http::json_response(200, s.nettings.list());
             });
  routes.add(
      "POST", "/api/v1/nettings", Role::operator_,
      [&s](const Request& r, const Params&, const Caller&) { return propose_netting(s, r); });
}

}  // namespace relay::node::api
