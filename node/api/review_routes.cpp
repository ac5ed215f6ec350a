// The operator's review of flagged referrals (issue 17):
//   GET /api/v1/review[?limit=N&after=ID&member=ID]  the referrals waiting, oldest first, with
//       their reasons, and "waiting" (how many in all); paged as the referrals list is, with
//       `next` while more follow; `member` shows one member's alone; without limit or after,
//       every one, sent as they are read (list_download.hpp);
//   GET /api/v1/review/members                       how many wait, per member, most first;
//   POST /api/v1/review/{referral} {"decision": "accept" | "reject"}  decides one;
//   POST /api/v1/review/members/{member} {"decision"}  decides every one of the member's that
//       waits (a farming flood is one member's), and says how many.
// What is shown (referrals::ReviewItem): referral id, member id and company, when verified,
// when its hold ends, the reasons, and for a disposable-mail flag the service's domain. No
// name, address, candidate id or pseudonym: the operator judges a pattern, not a person.
#include <memory>
#include <utility>

#include "node/api/common.hpp"
#include "node/api/list_download.hpp"

namespace relay::node::api {

namespace {

ApiError review_error(services::Review::Error e) {
  if (e == services::Review::Error::unknown_after)
    return bad_request("bad_parameter", "after: not a referral");
  return {404, "not_found", "no such member"};
}

// The waiting referrals a query names, read a piece at a time from where the last piece
// stopped (list_download.hpp): a farming flood can leave tens of thousands waiting.
class ReviewReading {
 public:
  ReviewReading(const Services& s, referrals::ReviewQuery query)
      : s_(s), query_(std::move(query)), place_{query_.after, query_.limit} {}

  // The next piece's items added to `piece` (`more` set), and how many wait in all.
  common::Result<std::size_t, services::Review::Error> next(JsonPiece& piece) {
    query_.after = place_.after;
    query_.limit = place_.next_limit();
    auto waiting = s_.review.waiting(query_);
    if (!waiting) return common::fail(waiting.error());
    for (const auto& item : waiting->page.items) {
      piece.add(item.to_json().dump());
      place_.read(item.referral);
    }
    if (!waiting->page.last.empty()) place_.after = waiting->page.last;  // past keys it skipped
    place_.ended(waiting->page.more);
    piece.more = place_.more;
    return waiting->total;
  }

 private:
  const Services& s_;
  referrals::ReviewQuery query_;
  ListPlace place_;
};

// Without limit or after: every waiting referral, sent as they are read. With either: a page.
Response waiting(const Services& s, const Request& request) {
  auto paging = page_params(request);
  if (!paging) return reply(paging.error());
  auto member = request.query.find("member");
  referrals::ReviewQuery query{paging->limit, paging->after,
                               member == request.query.end() ? "" : member->second};
  if (paging->whole()) {
    auto reading = std::make_shared<ReviewReading>(s, query);
    JsonPiece first;
    auto total = reading->next(first);
    if (!total) return reply(review_error(total.error()));
    return json_list_stream("referrals", *total, std::move(first), pieces_from(reading), "waiting");
  }
  auto waiting = s.review.waiting(query);
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
