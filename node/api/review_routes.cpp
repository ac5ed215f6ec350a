// The operator's review of flagged referrals (issue 17): GET /api/v1/review lists them with
// their reasons; POST /api/v1/review/{referral} {"decision": "accept" | "reject"} decides one.
// What is shown (referrals::ReviewItem): referral id, member id and company, when verified,
// when its hold ends, the reasons, and for a disposable-mail flag the service's domain. No
// name, address, candidate id or pseudonym: the operator judges a pattern, not a person.
#include "node/api/common.hpp"

namespace relay::node::api {

namespace {

Response waiting(const Services& s) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& item : s.review.waiting()) list.push_back(item.to_json());
  return http::json_response(200, {{"referrals", list}});
}

Response decide(const Services& s, const Request& request, const std::string& referral) {
  auto body = json_object_body(request);
  if (!body) return reply(body.error());
  if (auto fields = only_fields(*body, {"decision"}); !fields) return reply(fields.error());
  auto decision = string_field(*body, "decision", true, 16);
  if (!decision) return reply(decision.error());
  if (**decision != "accept" && **decision != "reject")
    return reply(bad_request("bad_field", "decision: \"accept\" or \"reject\""));
  auto decided = s.review.decide(referral, **decision == "accept");
  if (!decided) return reply(error_for(decided.error()));
  auto j = decided->to_json();
  j["decision"] = **decision;
  return http::json_response(200, j);
}

}  // namespace

void add_review_routes(Routes& routes, const Services& s) {
  routes.add("GET", "/api/v1/review", Role::operator_,
             [&s](const Request&, const Params&, const Caller&) { return waiting(s); });
  routes.add("POST", "/api/v1/review/{referral}", Role::operator_,
             [&s](const Request& request, const Params& params, const Caller&) {
               return decide(s, request, params.at("referral"));
             });
}

}  // namespace relay::node::api
