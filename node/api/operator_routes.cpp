// Operator API: admit, list, suspend and reinstate members, set their contact email
// (operator token).
#include <memory>

#include "node/api/common.hpp"
#include "node/api/csv.hpp"
#include "node/api/list_download.hpp"
#include "node/common/public_links.hpp"
namespace relay::node::api {

namespace {

nlohmann::json member_view(const NodeFacts& facts, const services::MemberView& v) {
  auto j = v.member.to_json();
  j["relay_link"] = facts.public_url + common::relay_path(v.member.link_token);
  j["credits"] = v.credits.to_json();
  return j;
}

// A member as the list shows it; `flat`: its credit account's fields beside the member's (a
// CSV row).
nlohmann::json listed(const NodeFacts& facts, const services::MemberView& v, bool flat) {
  auto j = member_view(facts, v);
  if (flat) {
    auto credits = std::move(j["credits"]);
    j.erase("credits");
    j.update(credits);
  }
  return j;
}

Response admit(const Services& s, const Request& request) {
  auto body = json_object_body(request);
  if (!body) return reply(body.error());
  if (auto fields = only_fields(*body, {"name", "contact_email"}); !fields)
    return reply(fields.error());
  auto name = string_field(*body, "name", true, 200);
  if (!name) return reply(name.error());
  auto email = string_field(*body, "contact_email", false, 254);
  if (!email) return reply(email.error());
  auto admitted = s.membership.admit(**name, email->value_or(""));
  if (!admitted) return reply(error_for(admitted.error()));
  auto view = member_view(s.facts, admitted->view);
  view["api_key"] = admitted->api_key;
  view["api_key_note"] = "shown once: store it now";
  return http::json_response(201, view);
}

// The CSV's columns: a member's view, its credit account's fields beside the member's.
const std::vector<std::string> kMemberColumns = {"id",
                                                 "name",
                                                 "status",
                                                 "created_ms",
                                                 "contact_email",
                                                 "relay_link",
                                                 "balance",
                                                 "verified_referrals",
                                                 "credits_minted",
                                                 "credits_spent",
                                                 "credits_granted",
                                                 "credits_refunded"};

// The members a request names, read a piece at a time from where the last piece stopped
// (list_download.hpp): an industry group's node may hold thousands.
class MemberReading {
 public:
  MemberReading(const Services& s, const ListParams& asked)
      : s_(s),
        place_{asked.page.after, asked.page.limit},
        newest_(asked.newest_first),
        flat_(asked.csv) {}

  // The next piece's members added to `items` (listed()), and how many there are; nullopt if
  // where it goes on from is not a member.
  std::optional<std::uint64_t> next(std::vector<nlohmann::json>& items) {
    auto page = s_.membership.page(place_.next_limit(), place_.after, newest_);
    if (!page) return std::nullopt;
    for (const auto& v : page->members) {
      items.push_back(listed(s_.facts, v, flat_));
      place_.read(v.member.id);
    }
    place_.ended(page->more);
    return page->total;
  }
  bool more() const { return place_.more; }

 private:
  const Services& s_;
  ListPlace place_;
  bool newest_;
  bool flat_;
};

// Without limit or after: every member, in the order admitted (?order=newest: the last
// admitted first). With either: a page, and `next` while more follow. `total`: how many
// members there are. ?format=csv: the same members as a download. The whole list and the
// download are sent as they are read.
Response list(const Services& s, const Request& request) {
  auto asked = list_params(request);
  if (!asked) return reply(asked.error());
  auto refused = reply(bad_request("bad_parameter", "after: not a member"));
  if (asked->csv || asked->page.whole())
    return objects_as_read(std::make_shared<MemberReading>(s, *asked), asked->csv, "members",
                           kMemberColumns, std::move(refused));
  auto page = s.membership.page(asked->page.limit, asked->page.after, asked->newest_first);
  if (!page) return refused;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& v : page->members) list.push_back(listed(s.facts, v, false));
  nlohmann::json body{{"members", list}, {"total", page->total}};
  if (page->more && !page->members.empty()) body["next"] = page->members.back().member.id;
  return http::json_response(200, body);
}

Response show(const Services& s, const std::string& id) {
  auto found = s.membership.find(id);
  if (!found) return reply(error_for(found.error()));
  return http::json_response(200, member_view(s.facts, *found));
}

Response set_active(const Services& s, const std::string& id, bool active) {
  auto changed = s.membership.set_active(id, active);
  if (!changed) return reply(error_for(changed.error()));
  return http::json_response(200, member_view(s.facts, *changed));
}

}  // namespace

// A new API key, shown once (also used by the member for itself: member_routes.cpp).
Response replace_api_key(const Services& s, const std::string& id, bool operator_view) {
  auto replaced = s.membership.replace_api_key(id);
  if (!replaced) return reply(error_for(replaced.error()));
  auto view =
      operator_view ? member_view(s.facts, replaced->view) : replaced->view.member.to_json();
  view["api_key"] = replaced->api_key;
  view["api_key_note"] = "shown once: store it now; the key before it no longer works";
  return http::json_response(200, view);
}

// {"contact_email": "a@b.example"} sets it, {"contact_email": null} removes it (also used by
// the member for itself: member_routes.cpp).
Response set_contact_email(const Services& s, const Request& request, const std::string& id,
                           bool operator_view) {
  auto body = json_object_body(request);
  if (!body) return reply(body.error());
  if (auto fields = only_fields(*body, {"contact_email"}); !fields) return reply(fields.error());
  if (!body->contains("contact_email"))
    return reply(bad_request("missing_field", "contact_email: required (null removes it)"));
  auto email = string_field(*body, "contact_email", false, 254);
  if (!email) return reply(email.error());
  auto changed = s.membership.set_contact_email(id, email->value_or(""));
  if (!changed) return reply(error_for(changed.error()));
  return http::json_response(
      200, operator_view ? member_view(s.facts, *changed) : changed->member.to_json());
}

void add_operator_routes(Routes& routes, const Services& s) {
  routes.add(
      "POST", "/api/v1/members", Role::operator_,
      [&s](const Request& request, const Params&, const Caller&) { return admit(s, request); });
  routes.add(
      "GET", "/api/v1/members", Role::operator_,
      [&s](const Request& request, const Params&, const Caller&) { return list(s, request); });
  routes.add("GET", "/api/v1/members/{id}", Role::operator_,
             [&s](const Request&, const Params& params, const Caller&) {
               return show(s, params.at("id"));
             });
  routes.add("POST", "/api/v1/members/{id}/suspend", Role::operator_,
             [&s](const Request&, const Params& params, const Caller&) {
               return set_active(s, params.at("id"), false);
             });
  routes.add("PUT", "/api/v1/members/{id}/contact-email", Role::operator_,
             [&s](const Request& request, const Params& params, const Caller&) {
               return set_contact_email(s, request, params.at("id"), true);
             });
  routes.add("POST", "/api/v1/members/{id}/api-key", Role::operator_,
             [&s](const Request&, const Params& params, const Caller&) {
               return replace_api_key(s, params.at("id"), true);
             });
  routes.add("POST", "/api/v1/members/{id}/reinstate", Role::operator_,
             [&s](const Request&, const Params& params, const Caller&) {
               return set_active(s, params.at("id"), true);
             });
}

}  // namespace relay::node::api
