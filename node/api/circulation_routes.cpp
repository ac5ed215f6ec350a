// Member API for people circulating between member companies (issue 14): alumni links and
// the member's alumni (退職者, found again for re-hire, 再雇用), and secondment pairing
// (在籍型出向 / 移籍).
//   GET  /api/v1/alumni-link                    the member's static alumni link
//   POST /api/v1/alumni-links {departure_id}    a single-use alumni link for one departure
//   GET  /api/v1/alumni                         the member's alumni it may find (anonymised),
//                                               oldest first; ?limit=N&after=NEXT pages them
//                                               (`next` while more may follow)
//   GET  /api/v1/secondment-offers/{id}/matches other members' secondment/transfer
//                                               requisitions for the member's offer
//   GET  /api/v1/requisitions/{id}/pairings     other members' secondment offers for the
//                                               member's secondment/transfer requisition
// Another member's offer or requisition answers 404, as if it did not exist.
#include <charconv>

#include "node/api/common.hpp"
#include "node/common/public_links.hpp"
#include "node/federation/profile_exchange.hpp"
namespace relay::node::api {

namespace {

constexpr std::uint64_t kDefaultPairings = 20;
constexpr std::uint64_t kMaxPairings = 200;

nlohmann::json alumni_paragraphs(const std::string& company, const std::string& url) {
  return {
      {"ja", company +
                 "を退職される皆さまへ: 地域の企業と連携し、あなたの経験を必要とする企業へのご紹"
                 "介を行っています。ご登録いただくと、" +
                 company +
                 "も再雇用のご相談のためにあなたを（匿名のプロフィールで）見つけられます。利用"
                 "目的をご確認のうえ次のリンクからご登録ください（無料・いつでも削除できます）: " +
                 url},
      {"en", "To everyone leaving " + company +
                 ": we work with other companies in the region that may need your "
                 "experience. If you register, " +
                 company +
                 " can also find you again (by your anonymised profile) to talk about "
                 "re-hiring. Read how your data would be used and register here (free of "
                 "charge; you can erase your data at any time): " +
                 url}};
}

Response alumni_link_reply(const Services& s, const Caller& caller, const std::string& departure) {
  const auto& m = caller.the_member();
  auto issued = s.alumni.issue_link(m, departure);
  if (!issued) return reply(error_for(issued.error()));
  auto url = s.facts.public_url + common::relay_path(issued->token);
  nlohmann::json j = {{"url", url},
                      {"kind", "alumni"},
                      {"single_use", issued->single_use},
                      {"paragraph", alumni_paragraphs(m.name, url)}};
  if (!departure.empty()) j["departure_id"] = departure;
  return http::json_response(departure.empty() ? 200 : 201, j);
}

Response issue_alumni_link(const Services& s, const Request& request, const Caller& caller) {
  auto body = json_object_body(request);
  if (!body) return reply(body.error());
  if (auto fields = only_fields(*body, {"departure_id"}); !fields) return reply(fields.error());
  auto departure = string_field(*body, "departure_id", true, 128);
  if (!departure) return reply(departure.error());
  return alumni_link_reply(s, caller, **departure);
}

// A page's `next`: when the last alumnus shown confirmed, and the ref it is shown under
// ("1796050800000.p_..."). Not its candidate id, which the member never sees.
std::string alumni_next(const services::AlumnusView& last) {
  return std::to_string(last.since_ms) + "." + last.ref;
}
std::optional<services::AlumniPlace> alumni_after(std::string_view text) {
  const auto dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  services::AlumniPlace place;
  auto [end, ec] = std::from_chars(text.data(), text.data() + dot, place.since_ms);
  if (ec != std::errc{} || end != text.data() + dot || place.since_ms < 0) return std::nullopt;
  place.ref = std::string(text.substr(dot + 1));
  if (!federation::valid_ref(place.ref)) return std::nullopt;
  return place;
}

// Without ?limit or ?after, every alumnus, as before the list paged.
Response alumni(const Services& s, const Request& request, const Caller& caller) {
  auto asked = page_params(request);
  if (!asked) return reply(asked.error());
  std::optional<services::AlumniPlace> after;
  if (!asked->after.empty()) {
    after = alumni_after(asked->after);
    if (!after) return reply(bad_request("bad_parameter", "after: not a `next` of this list"));
  }
  auto page = s.alumni.page(caller.the_member(), asked->limit, after);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& a : page.alumni) list.push_back(a.to_json());
  nlohmann::json body{{"count", list.size()}, {"alumni", list}};
  if (page.more && !page.alumni.empty()) body["next"] = alumni_next(page.alumni.back());
  return http::json_response(200, body);
}

Response pairings_reply(
    const common::Result<std::vector<services::Pairing>, services::SecondmentError>& r,
    const char* side, const std::string& id) {
  if (!r) return reply(error_for(r.error()));
  nlohmann::json list = nlohmann::json::array();
  for (const auto& p : *r) list.push_back(p.to_json());
  return http::json_response(200, {{side, id}, {"pairings", list}});
}

Response offer_matches(const Services& s, const Request& request, const std::string& id,
                       const Caller& caller) {
  auto n = limit_param(request, kDefaultPairings, kMaxPairings);
  if (!n) return reply(n.error());
  return pairings_reply(s.secondment.offer_matches(caller.the_member(), id, *n), "secondment_offer",
                        id);
}

Response requisition_pairings(const Services& s, const Request& request, const std::string& id,
                              const Caller& caller) {
  auto n = limit_param(request, kDefaultPairings, kMaxPairings);
  if (!n) return reply(n.error());
  return pairings_reply(s.secondment.requisition_pairings(caller.the_member(), id, *n),
                        "requisition", id);
}

}  // namespace

void add_circulation_routes(Routes& routes, const Services& s) {
  routes.add("GET", "/api/v1/alumni-link", Role::member,
             [&s](const Request&, const Params&, const Caller& caller) {
               return alumni_link_reply(s, caller, "");
             });
  routes.add("POST", "/api/v1/alumni-links", Role::member,
             [&s](const Request& request, const Params&, const Caller& caller) {
               return issue_alumni_link(s, request, caller);
             });
  routes.add("GET", "/api/v1/alumni", Role::member,
             [&s](const Request& request, const Params&, const Caller& caller) {
               return alumni(s, request, caller);
             });
  routes.add("GET", "/api/v1/secondment-offers/{id}/matches", Role::member,
             [&s](const Request& request, const Params& params, const Caller& caller) {
               return offer_matches(s, request, params.at("id"), caller);
             });
  routes.add("GET", "/api/v1/requisitions/{id}/pairings", Role::member,
             [&s](const Request& request, const Params& params, const Caller& caller) {
               return requisition_pairings(s, request, params.at("id"), caller);
             });
}

}  // namespace relay::node::api
