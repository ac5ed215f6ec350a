// Member API for the candidate pool and handoffs across nodes (member API key):
//   GET  /api/v1/pool?job_category=&prefecture=&skill=&age_band=&experience_band=
//        [&limit=N&offset=K]
//        anonymised profiles a member may ask for: this node's candidates who consented to
//        circulate in the region, and the profiles peers circulate to us. One page: up to
//        `limit` (1..the node's max_pool_hits, which is also the default) after the first
//        `offset` matches; "truncated" says more follow, from offset + the profiles listed.
//   POST /api/v1/handoffs {"node", "ref"}   ask a peer for one of its candidates
//   GET  /api/v1/handoffs[/{id}]            the member's own handoffs (another member's: 404);
//        once delivered, the detail carries the candidate's personal data and profile. The
//        list is a member list (member_list.hpp), as the requisitions and introductions:
//        ?limit=N&after=ID gives one page, oldest first, with "next" (the next page's `after`)
//        while more follow; ?order=newest the last first; without limit or after, every
//        handoff, sent as read; ?format=csv the same as a download.
//   POST /api/v1/handoffs/{id}/hire         the member reports hiring the delivered candidate:
//        the received data then no longer expires (404 unless it is the member's delivered
//        handoff).
#include "config/reference.hpp"
#include "node/api/common.hpp"
#include "node/api/member_list.hpp"

namespace relay::node::api {

namespace {

// A filter value from the query: absent or empty -> nullopt; otherwise it must pass `valid`.
template <class Valid>
Parsed<std::optional<std::string>> filter(const Request& request, const std::string& name,
                                          Valid valid) {
  auto it = request.query.find(name);
  if (it == request.query.end() || it->second.empty()) return std::optional<std::string>{};
  auto v = valid(it->second);
  if (!v) return common::fail(bad_request("bad_parameter", name + ": not a known value"));
  return std::optional<std::string>{std::move(*v)};
}

nlohmann::json detail_json(const services::HandoffDetail& d) {
  auto j = d.handoff.to_member_json();
  if (d.delivered) {
    j["personal"] = d.delivered->personal.to_json();
    j["profile"] = d.delivered->profile.to_json();
  }
  return j;
}

Response private_json(int status, const nlohmann::json& body) {
  auto response = http::json_response(status, body);
  response.headers["Cache-Control"] = "no-store";
  return response;
}

Response pool(const Services& s, const Request& request) {
  const auto& ref = s.reference;
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
    if (!*f) return reply(f->error());
  const auto most = s.handoff_requests.max_pool_hits();
  auto limit = limit_param(request, most, most);
  if (!limit) return reply(limit.error());
  auto offset = number_param(request, "offset");
  if (!offset) return reply(offset.error());
  federation::PoolQuery query{*category, *prefecture, *skill, *age, *experience};
  return http::json_text_response(200,
                                  s.handoff_requests.pool_json(query, *limit, offset->value_or(0)));
}

Response request_handoff(const Services& s, const Request& request, const Caller& caller) {
  auto body = json_object_body(request);
  if (!body) return reply(body.error());
  if (auto fields = only_fields(*body, {"node", "ref"}); !fields) return reply(fields.error());
  auto peer = string_field(*body, "node", true, 64);
  if (!peer) return reply(peer.error());
  auto ref = string_field(*body, "ref", true, 32);
  if (!ref) return reply(ref.error());
  auto requested = s.handoff_requests.request(caller.the_member(), **peer, **ref);
  if (!requested) return reply(error_for(requested.error()));
  return http::json_response(requested->created ? 201 : 200, requested->handoff.to_member_json());
}

// The columns of the handoffs' CSV: Handoff::to_member_json()'s.
const std::vector<std::string> kHandoffColumns = {"id",     "node",         "ref",
                                                  "state",  "created_ms",   "updated_ms",
                                                  "reason", "delivered_ms", "expires_ms"};

Response list(const Services& s, const Request& request, const Caller& caller) {
  return member_list(
      request, "handoffs", kHandoffColumns, "a handoff",
      [&s, member = caller.the_member()](std::size_t limit, const std::string& after,
                                         bool newest_first) {
        return s.handoff_requests.list(member, limit, after, newest_first);
      },
      [](const federation::Handoff& h) { return h.to_member_json(); });
}

Response show(const Services& s, const std::string& id, const Caller& caller) {
  auto found = s.handoff_requests.find(caller.the_member(), id);
  if (!found) return reply(error_for(found.error()));
  return private_json(200, detail_json(*found));
}

Response report_hire(const Services& s, const std::string& id, const Caller& caller) {
  auto hired = s.handoff_requests.report_hire(caller.the_member(), id);
  if (!hired) return reply(error_for(hired.error()));
  return private_json(200, *hired ? detail_json(**hired) : nlohmann::json{{"id", id}});
}

}  // namespace

void add_handoff_routes(Routes& routes, const Services& s) {
  routes.add(
      "GET", "/api/v1/pool", Role::member,
      [&s](const Request& request, const Params&, const Caller&) { return pool(s, request); });
  routes.add("POST", "/api/v1/handoffs", Role::member,
             [&s](const Request& request, const Params&, const Caller& caller) {
               return request_handoff(s, request, caller);
             });
  routes.add("GET", "/api/v1/handoffs", Role::member,
             [&s](const Request& request, const Params&, const Caller& caller) {
               return list(s, request, caller);
             });
  routes.add("GET", "/api/v1/handoffs/{id}", Role::member,
             [&s](const Request&, const Params& params, const Caller& caller) {
               return show(s, params.at("id"), caller);
             });
  routes.add("POST", "/api/v1/handoffs/{id}/hire", Role::member,
             [&s](const Request&, const Params& params, const Caller& caller) {
               return report_hire(s, params.at("id"), caller);
             });
}

}  // namespace relay::node::api
