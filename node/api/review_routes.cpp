// The operator's review of flagged referrals (issue 17):
//   GET /api/v1/review[?limit=N&after=ID&member=ID]  the referrals waiting, oldest first, with
//       their reasons, and "waiting" (how many in all); paged as the referrals list is, with
//       `next` while more follow; `member` shows one member's alone;
//   GET /api/v1/review/members                       how many wait, per member, most first;
//   POST /api/v1/review/{referral} {"decision": "accept" | "reject"}  decides one;
//   POST /api/v1/review/members/{member} {"decision"}  decides every one of the member's that
//       waits (a farming flood is one member's), and says how many.
// What is shown (referrals::ReviewItem): referral id, member id and company, when verified,
// when its hold ends, the reasons, and for a disposable-mail flag the service's domain. No
// name, address, candidate id or pseudonym: the operator judges a pattern, not a person.
#include "node/api/common.hpp"

namespace relay::node::api {

namespace {

ApiError review_error(services::Review::Error e) {
  if (e == services::Review::Error::unknown_after)
    return bad_request("bad_parameter", "after: not a referral");
  return {404, "not_found", "no such member"};
}

Response waiting(const Services& s, const Request& request) {
  auto paging = page_params(request);
  if (!paging) return reply(paging.error());
  auto member = request.query.find("member");
  auto waiting = s.review.waiting(referrals::ReviewQuery{
      paging->limit, paging->after, member == request.query.end() ? "" : member->second});
  if (!waiting) return reply(review_error(waiting.error()));
  nlohmann::json list = nlohmann::json::array();
  for (const auto& item : waiting->page.items) list.push_back(item.to_json());
  nlohmann::json j = {{"referrals", std::move(list)},
                      {"waiting", static_cast<std::int64_t>(waiting->total)}};
  if (waiting->page.more) j["next"] = waiting->page.last;
  return http::json_response(200, j);
}

Response by_member(const Services& s) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : s.review.by_member())
    list.push_back({{"member", c.member},
                    {"company", c.company},
                    {"waiting", static_cast<std::int64_t>(c.waiting)}});
  return http::json_response(200, {{"members", std::move(list)}});
}

// The body's decision: true to accept.
Parsed<bool> decision_of(const Request& request) {
  auto body = json_object_body(request);
  if (!body) return common::fail(body.error());
  if (auto fields = only_fields(*body, {"decision"}); !fields) return common::fail(fields.error());
  auto decision = string_field(*body, "decision", true, 16);
  if (!decision) return common::fail(decision.error());
  if (**decision != "accept" && **decision != "reject")
    return common::fail(bad_request("bad_field", "decision: \"accept\" or \"reject\""));
  return **decision == "accept";
}

Response decide(const Services& s, const Request& request, const std::string& referral) {
  auto accept = decision_of(request);
  if (!accept) return reply(accept.error());
  auto decided = s.review.decide(referral, *accept);
  if (!decided) return reply(error_for(decided.error()));
  auto j = decided->to_json();
  j["decision"] = *accept ? "accept" : "reject";
  return http::json_response(200, j);
}

Response decide_member(const Services& s, const Request& request, const std::string& member) {
  auto accept = decision_of(request);
  if (!accept) return reply(accept.error());
  auto decided = s.review.decide_member(member, *accept);
  if (!decided) return reply(review_error(decided.error()));
  return http::json_response(200, {{"member", member},
                                   {"decision", *accept ? "accept" : "reject"},
                                   {"decided", static_cast<std::int64_t>(*decided)}});
}

}  // namespace

void add_review_routes(Routes& routes, const Services& s) {
  routes.add(
      "GET", "/api/v1/review", Role::operator_,
      [&s](const Request& request, const Params&, const Caller&) { return waiting(s, request); });
  routes.add("GET", "/api/v1/review/members", Role::operator_,
             [&s](const Request&, const Params&, const Caller&) { return by_member(s); });
  routes.add("POST", "/api/v1/review/{referral}", Role::operator_,
             [&s](const Request& request, const Params& params, const Caller&) {
               return decide(s, request, params.at("referral"));
             });
  routes.add("POST", "/api/v1/review/members/{member}", Role::operator_,
             [&s](const Request& request, const Params& params, const Caller&) {
               return decide_member(s, request, params.at("member"));
             });
}

}  // namespace relay::node::api
