// The seeds' KPIs, rejection insight and federated statistics (issue 16; definitions in
// node/statistics/README.md). Every GET also answers ?format=csv (csv.hpp).
//   GET  /api/v1/kpis[?period=YYYY-MM|all]   member: its own; operator: the node's
//   GET  /api/v1/insight                     member: where the people it referred went
//   GET  /api/v1/statistics[?period=YYYY-MM] operator: own table, peers', consortium
//   POST /api/v1/statistics/publish          operator: build and send the tables now
//   PUT  /api/v1/me/recruiting-spend {yen, period?}   member: its recruiting spend
#include "node/api/common.hpp"
#include "node/api/csv.hpp"

namespace relay::node::api {

namespace {

const std::vector<std::string> kKpiColumns = {"id",    "label_ja",  "label_en",   "unit",
                                              "value", "numerator", "denominator"};
const std::vector<std::string> kDestinationColumns = {"job_category", "prefecture", "count"};
const std::vector<std::string> kCellColumns = {"job_category",    "prefecture",    "age_band",
                                               "experience_band", "registrations", "introductions",
                                               "hires",           "retained_6m"};

std::string query(const Request& request, const std::string& name, const std::string& fallback) {
  auto it = request.query.find(name);
  return it == request.query.end() ? fallback : it->second;
}

Response kpis(const Services& s, const Request& request, const Caller& caller) {
  auto csv = wants_csv(request);
  if (!csv) return reply(csv.error());
  const auto period = query(request, "period", "all");
  auto r = s.statistics.kpis(caller.member.get(), period);
  if (!r) return reply(error_for(r.error(), true));
  if (*csv) return csv_response("kpis-" + period, r->at("kpis"), kKpiColumns);
  return http::json_response(200, *r);
}

Response insight(const Services& s, const Request& request, const Caller& caller) {
  auto csv = wants_csv(request);
  if (!csv) return reply(csv.error());
  auto r = s.statistics.insight(caller.the_member());
  if (*csv) return csv_response("insight", r.at("destinations"), kDestinationColumns);
  return http::json_response(200, r);
}

Response statistics_view(const Services& s, const Request& request) {
  auto csv = wants_csv(request);
  if (!csv) return reply(csv.error());
  auto r = s.statistics.view(query(request, "period", ""));
  if (!r) return reply(error_for(r.error(), false));
  if (*csv)
    return csv_response("statistics-" + r->at("own").at("period").get<std::string>(),
                        r->at("consortium").at("cells"), kCellColumns);
  return http::json_response(200, *r);
}

Response set_spend(const Services& s, const Request& request, const Caller& caller) {
  auto body = json_object_body(request);
  if (!body) return reply(body.error());
  if (auto fields = only_fields(*body, {"yen", "period"}); !fields) return reply(fields.error());
  auto yen = body->find("yen");
  if (yen == body->end() || !yen->is_number_unsigned() ||
      yen->get<std::uint64_t>() > 1'000'000'000'000ULL)
    return reply(bad_request("bad_field", "yen: a whole number of yen, 0..1000000000000"));
  auto period = string_field(*body, "period", false, 7);
  if (!period) return reply(period.error());
  auto r =
      s.statistics.set_spend(caller.the_member(), yen->get<std::uint64_t>(), period->value_or(""));
  if (!r) return reply(error_for(r.error(), false));
  return http::json_response(200, *r);
}

}  // namespace

void add_statistics_routes(Routes& routes, const Services& s) {
  routes.add("GET", "/api/v1/kpis", Role::member_or_operator,
             [&s](const Request& r, const Params&, const Caller& c) { return kpis(s, r, c); });
  routes.add("GET", "/api/v1/insight", Role::member,
             [&s](const Request& r, const Params&, const Caller& c) { return insight(s, r, c); });
  routes.add(
      "GET", "/api/v1/statistics", Role::operator_,
      [&s](const Request& r, const Params&, const Caller&) { return statistics_view(s, r); });
  routes.add("POST", "/api/v1/statistics/publish", Role::operator_,
             [&s](const Request&, const Params&, const Caller&) {
               return http::json_response(200, s.statistics.publish(true));
             });
  routes.add("PUT", "/api/v1/me/recruiting-spend", Role::member,
             [&s](const Request& r, const Params&, const Caller& c) { return set_spend(s, r, c); });
}

}  // namespace relay::node::api
