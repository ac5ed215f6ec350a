// Introductions API (issue 14): requisitions and secondment offers, explained matches, spending a
// credit on an introduction, outcomes and retention, the member's social hiring impact; and the
// operator's credit grants.
//   POST /api/v1/requisitions                 open (body: RequisitionInput fields)
//   GET  /api/v1/requisitions[?limit=&after=|format=csv]   in the order opened (pages: `next`)
//   GET  /api/v1/requisitions/{id}             the member's own (another member's: 404)
//   PUT  /api/v1/requisitions/{id}             edit every field
//   POST /api/v1/requisitions/{id}/close
//   GET  /api/v1/requisitions/{id}/matches?limit=   ranked, every score with its reasons
//   POST /api/v1/introductions {requisition, node, ref}   spends one credit (402 no_credit)
//   GET  /api/v1/introductions[?limit=&after=|format=csv]   in the order asked (pages: `next`)
//   GET  /api/v1/introductions/{id}            with personal data once delivered
//   POST /api/v1/introductions/{id}/outcomes {outcome, reason?}
//   GET  /api/v1/outcomes/due, GET /api/v1/impact
//   POST /api/v1/members/{id}/credits {credits, reason}   operator grant
#include "node/api/common.hpp"
#include "node/api/member_list.hpp"

namespace relay::node::api {

namespace {

constexpr std::uint64_t kDefaultMatches = 20;
constexpr std::uint64_t kMaxMatches = 200;

Parsed<introductions::RequisitionInput> requisition_body(const Request& request) {
  auto body = json_object_body(request);
  if (!body) return common::fail(body.error());
  auto fields =
      only_fields(*body, {"title", "category", "required_skills", "preferred_skills", "prefectures",
                          "experience_band", "headcount", "employment_type", "kind"});
  if (!fields) return common::fail(fields.error());
  return introductions::RequisitionInput::from_json(*body);
}

Response requisition_reply(int status, const introductions::Requisition& r) {
  return http::json_response(status, r.to_member_json());
}

Response open_requisition(const Services& s, const Request& request, const Caller& caller) {
  auto input = requisition_body(request);
  if (!input) return reply(input.error());
  auto r = s.introducing.open_requisition(caller.the_member(), *input);
  if (!r) return reply(error_for(r.error()));
  return requisition_reply(201, *r);
}

Response update_requisition(const Services& s, const Request& request, const std::string& id,
                            const Caller& caller) {
  auto input = requisition_body(request);
  if (!input) return reply(input.error());
  auto r = s.introducing.update_requisition(caller.the_member(), id, *input);
  if (!r) return reply(error_for(r.error()));
  return requisition_reply(200, *r);
}

Response close_requisition(const Services& s, const std::string& id, const Caller& caller) {
  auto r = s.introducing.close_requisition(caller.the_member(), id);
  if (!r) return reply(error_for(r.error()));
  return requisition_reply(200, *r);
}

// The columns of the requisitions' CSV: Requisition::to_member_json()'s (lists as JSON).
const std::vector<std::string> kRequisitionColumns = {"id",
                                                      "created_ms",
                                                      "updated_ms",
                                                      "state",
                                                      "kind",
                                                      "title",
                                                      "category",
                                                      "required_skills",
                                                      "preferred_skills",
                                                      "prefectures",
                                                      "headcount",
                                                      "employment_type",
                                                      "experience_band"};

// Without limit or after: every requisition (as before pages), in the order opened, sent as
// read. With either: one page, and `next` while more follow. ?format=csv: the same as a
// download.
Response list_requisitions(const Services& s, const Request& request, const Caller& caller) {
  return member_list(
      request, "requisitions", kRequisitionColumns, "a requisition",
      [&s, member = caller.the_member()](std::size_t limit, const std::string& after,
                                         bool newest_first) {
        return s.introducing.requisitions(member, limit, after, newest_first);
      },
      [](const introductions::Requisition& r) { return r.to_member_json(); });
}

Response get_requisition(const Services& s, const std::string& id, const Caller& caller) {
  auto r = s.introducing.requisition(caller.the_member(), id);
  if (!r) return reply(ApiError{404, "not_found", "no such requisition"});
  return requisition_reply(200, *r);
}

Response matches(const Services& s, const Request& request, const std::string& id,
                 const Caller& caller) {
  auto n = limit_param(request, kDefaultMatches, kMaxMatches);
  if (!n) return reply(n.error());
  auto r = s.introducing.matches(caller.the_member(), id, *n);
  if (!r) return reply(error_for(r.error()));
  nlohmann::json list = nlohmann::json::array();
  for (const auto& m : *r) list.push_back(m.to_json());
  return http::json_response(200, {{"requisition", id}, {"matches", list}});
}

Response introduce(const Services& s, const Request& request, const Caller& caller) {
  auto body = json_object_body(request);
  if (!body) return reply(body.error());
  if (auto fields = only_fields(*body, {"requisition", "node", "ref"}); !fields)
    return reply(fields.error());
  auto requisition = string_field(*body, "requisition", true, 64);
  if (!requisition) return reply(requisition.error());
  auto node = string_field(*body, "node", true, 253);
  if (!node) return reply(node.error());
  auto ref = string_field(*body, "ref", true, 64);
  if (!ref) return reply(ref.error());
  // Answers with a Later: the introduction waits for its group commit without holding an HTTP
  // thread, so introductions in flight share one fsync.
  auto later = std::make_shared<http::Later>();
  auto outcome = s.introducing.begin_introduce(caller.the_member(), **requisition, **node, **ref,
                                               [later] { later->wake(); });
  later->set_finish([outcome] {
    auto r = outcome();
    if (!r) return reply(error_for(r.error()));
    return http::json_response(201, r->to_json());
  });
  return http::later_response(std::move(later));
}

// The columns of the introductions' CSV: Introduction::to_json()'s fields (outcomes as JSON).
const std::vector<std::string> kIntroductionColumns = {
    "id",          "requested_ms",  "state",       "kind",         "holder",    "candidate_ref",
    "requisition", "answer_due_ms", "answered_ms", "delivered_ms", "closed_ms", "hired_ms",
    "outcomes"};

// Without limit or after: every introduction (as before pages), in the order asked, sent as
// read. With either: one page, and `next` (the `after` of the next page) while more follow.
// ?format=csv: the same introductions as a download.
Response list_introductions(const Services& s, const Request& request, const Caller& caller) {
  return member_list(
      request, "introductions", kIntroductionColumns, "an introduction",
      [&s, member = caller.the_member()](std::size_t limit, const std::string& after,
                                         bool newest_first) {
        return s.introducing.introductions(member, limit, after, newest_first);
      },
      [](const introductions::Introduction& i) { return i.to_json(); });
}

Response get_introduction(const Services& s, const std::string& id, const Caller& caller) {
  auto j = s.introducing.introduction(caller.the_member(), id);
  if (!j) return reply(ApiError{404, "not_found", "no such introduction"});
  auto response = http::json_response(200, *j);
  response.headers["Cache-Control"] = "no-store";  // personal data once delivered
  return response;
}

Response report_outcome(const Services& s, const Request& request, const std::string& id,
                        const Caller& caller) {
  auto body = json_object_body(request);
  if (!body) return reply(body.error());
  if (auto fields = only_fields(*body, {"outcome", "reason"}); !fields)
    return reply(fields.error());
  auto outcome_text = string_field(*body, "outcome", true, 32);
  if (!outcome_text) return reply(outcome_text.error());
  auto outcome = introductions::parse_outcome(**outcome_text);
  if (!outcome)
    return reply(
        bad_request("bad_field",
                    "outcome: one of interview, offer, hired, not_hired, retained_3m, retained_6m, "
                    "retained_12m, left"));
  auto reason = string_field(*body, "reason", false, 32);
  if (!reason) return reply(reason.error());
  auto r = s.introducing.report_outcome(caller.the_member(), id, *outcome, reason->value_or(""));
  if (!r) return reply(error_for(r.error()));
  return http::json_response(200, r->to_json());
}

Response outcomes_due(const Services& s, const Caller& caller) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& d : s.introducing.due(caller.the_member())) list.push_back(d.to_json());
  return http::json_response(200, {{"due", list}});
}

Response impact(const Services& s, const Caller& caller) {
  return http::json_response(200, s.introducing.impact(caller.the_member()).to_json());
}

Response grant(const Services& s, const Request& request, const std::string& member_id) {
  auto body = json_object_body(request);
  if (!body) return reply(body.error());
  if (auto fields = only_fields(*body, {"credits", "reason"}); !fields)
    return reply(fields.error());
  auto it = body->find("credits");
  if (it == body->end() || !it->is_number_unsigned() || it->get<std::uint64_t>() == 0 ||
      it->get<std::uint64_t>() > 1000)
    return reply(bad_request("bad_field", "credits: must be an integer 1..1000"));
  auto reason = string_field(*body, "reason", true, 200);
  if (!reason) return reply(reason.error());
  auto r = s.introducing.grant(member_id, static_cast<std::uint32_t>(it->get<std::uint64_t>()),
                               **reason);
  if (!r) return reply(error_for(r.error()));
  return http::json_response(201, r->to_json());
}

}  // namespace

void add_introduction_routes(Routes& routes, const Services& s) {
  routes.add("POST", "/api/v1/requisitions", Role::member,
             [&s](const Request& rq, const Params&, const Caller& c) {
               return open_requisition(s, rq, c);
             });
  routes.add("GET", "/api/v1/requisitions", Role::member,
             [&s](const Request& request, const Params&, const Caller& c) {
               return list_requisitions(s, request, c);
             });
  routes.add("GET", "/api/v1/requisitions/{id}", Role::member,
             [&s](const Request&, const Params& p, const Caller& c) {
               return get_requisition(s, p.at("id"), c);
             });
  routes.add("PUT", "/api/v1/requisitions/{id}", Role::member,
             [&s](const Request& rq, const Params& p, const Caller& c) {
               return update_requisition(s, rq, p.at("id"), c);
             });
  routes.add("POST", "/api/v1/requisitions/{id}/close", Role::member,
             [&s](const Request&, const Params& p, const Caller& c) {
               return close_requisition(s, p.at("id"), c);
             });
  routes.add("GET", "/api/v1/requisitions/{id}/matches", Role::member,
             [&s](const Request& rq, const Params& p, const Caller& c) {
               return matches(s, rq, p.at("id"), c);
             });
  routes.add(
      "POST", "/api/v1/introductions", Role::member,
      [&s](const Request& rq, const Params&, const Caller& c) { return introduce(s, rq, c); });
  routes.add("GET", "/api/v1/introductions", Role::member,
             [&s](const Request& request, const Params&, const Caller& c) {
               return list_introductions(s, request, c);
             });
  routes.add("GET", "/api/v1/introductions/{id}", Role::member,
             [&s](const Request&, const Params& p, const Caller& c) {
               return get_introduction(s, p.at("id"), c);
             });
  routes.add("POST", "/api/v1/introductions/{id}/outcomes", Role::member,
             [&s](const Request& rq, const Params& p, const Caller& c) {
               return report_outcome(s, rq, p.at("id"), c);
             });
  routes.add("GET", "/api/v1/outcomes/due", Role::member,
             [&s](const Request&, const Params&, const Caller& c) { return outcomes_due(s, c); });
  routes.add("GET", "/api/v1/impact", Role::member,
             [&s](const Request&, const Params&, const Caller& c) { return impact(s, c); });
  routes.add(
      "POST", "/api/v1/members/{id}/credits", Role::operator_,
      [&s](const Request& rq, const Params& p, const Caller&) { return grant(s, rq, p.at("id")); });
}

}  // namespace relay::node::api
