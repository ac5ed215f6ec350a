#include "node/api/common.hpp"

#include <limits>

#include "node/api/csv.hpp"
#include "node/common/text.hpp"
#include "protocol/canonical_json.hpp"
#include "protocol/json_writer.hpp"

namespace relay::node::api {

using common::fail;

Parsed<nlohmann::json> json_object_body(const Request& request) {
  auto type = request.header("content-type");
  if (!type || type->substr(0, 16) != "application/json")
    return fail(ApiError{415, "unsupported_media_type", "Content-Type must be application/json"});
  auto parsed = protocol::parse_strict(request.body);
  if (!parsed)
    return fail(bad_request("bad_json",
                            "invalid JSON: " + std::string(protocol::to_string(parsed.error.code)) +
                                " at byte " + std::to_string(parsed.error.offset)));
  if (!parsed.value->is_object())
    return fail(bad_request("bad_json", "the body must be a JSON object"));
  return std::move(*parsed.value);
}

Parsed<std::optional<std::string>> string_field(const nlohmann::json& body, const std::string& name,
                                                bool required, std::size_t max_chars) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return fail(bad_request("missing_field", name + ": required"));
    return std::optional<std::string>{};
  }
  if (!it->is_string()) return fail(bad_request("bad_field", name + ": must be a string"));
  auto cleaned = common::clean_text(it->get_ref<const std::string&>(), max_chars);
  if (!cleaned)
    return fail(bad_request("bad_field", name + ": must be 1.." + std::to_string(max_chars) +
                                             " characters of text without control characters"));
  return std::optional<std::string>{std::move(cleaned)};
}

Parsed<common::Done> only_fields(const nlohmann::json& body,
                                 std::initializer_list<const char*> allowed) {
  for (const auto& [key, value] : body.items()) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || key == a;
    if (!ok) return fail(bad_request("unknown_field", key + ": not a known field"));
  }
  return common::Done{};
}

Parsed<std::optional<std::uint64_t>> number_param(const Request& request, const std::string& name) {
  auto it = request.query.find(name);
  if (it == request.query.end()) return std::optional<std::uint64_t>{};
  const auto& text = it->second;
  std::uint64_t v = 0;
  bool ok = !text.empty() && text.size() <= 19;
  for (char c : text) {
    if (c < '0' || c > '9')
      ok = false;
    else
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (!ok) return fail(bad_request("bad_parameter", name + ": must be a non-negative integer"));
  return std::optional<std::uint64_t>{v};
}

Parsed<std::uint64_t> limit_param(const Request& request, std::uint64_t absent, std::uint64_t max) {
  auto limit = number_param(request, "limit");
  if (!limit) return fail(limit.error());
  if (!*limit) return absent;
  if (**limit == 0 || **limit > max)
    return fail(bad_request("bad_parameter", "limit: must be 1.." + std::to_string(max)));
  return **limit;
}

Parsed<PageParams> page_params(const Request& request) {
  constexpr std::uint64_t kDefaultPage = 100;
  constexpr std::uint64_t kMaxPage = 1000;
  auto after = request.query.find("after");
  const bool paged = after != request.query.end();
  auto limit = limit_param(request, paged ? kDefaultPage : std::numeric_limits<std::size_t>::max(),
                           kMaxPage);
  if (!limit) return fail(limit.error());
  return PageParams{*limit, paged ? after->second : ""};
}

Parsed<ListParams> list_params(const Request& request) {
  auto page = page_params(request);
  if (!page) return fail(page.error());
  auto csv = wants_csv(request);
  if (!csv) return fail(csv.error());
  ListParams params{std::move(*page), false, *csv};
  if (auto order = request.query.find("order"); order != request.query.end()) {
    if (order->second == "newest")
      params.newest_first = true;
    else if (order->second != "oldest")
      return fail(bad_request("bad_parameter", "order: oldest or newest"));
  }
  return params;
}

http::Router build_router(const Services& services) {
  http::Router router;
  Routes routes(router, services.access, services.credential_guard, services.limits,
                services.console_sessions,
                [&services](const Request& request, std::chrono::seconds wait) {
                  return limited_page(services, request, wait);
                });
  routes.add("GET", "/healthz", Role::everyone,
             [&services](const Request&, const Params&, const Caller&) {
               auto health = services.audit.health();
               std::string body;
               protocol::JsonWriter(body)
                   .begin_object()
                   .field("ledger_size", static_cast<std::int64_t>(health.ledger_size))
                   .field("node", health.node)
                   .field("status", "ok")
                   .end_object();
               return http::json_text_response(200, std::move(body));
             });
  add_operator_routes(routes, services);
  add_member_routes(routes, services);
  add_registration_pages(routes, services);
  add_management_pages(routes, services);
  add_audit_routes(routes, services);
  add_federation_routes(routes, services);
  add_witness_routes(routes, services);
  add_handoff_routes(routes, services);
  add_introduction_routes(routes, services);
  add_statistics_routes(routes, services);
  add_settlement_routes(routes, services);
  add_circulation_routes(routes, services);
  add_review_routes(routes, services);
  add_console_routes(routes, services);
  add_metrics_route(routes, services, router.metrics());
  add_unknown_candidate_pages(routes, services);
  return router;
}

}  // namespace relay::node::api
