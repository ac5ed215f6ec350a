// Member API (member API key): the relay link and its email paragraph, single-use links for
// an ATS, the member's own referrals and credits. Every object is checked to be the caller's
// (by the service): another member's referral is answered 404, as if it did not exist.
#include <memory>
#include <utility>

#include "node/api/common.hpp"
#include "node/api/csv.hpp"
#include "node/api/list_download.hpp"
#include "node/common/public_links.hpp"
namespace relay::node::api {

namespace {

nlohmann::json paragraphs(const std::string& company, const std::string& url) {
  return {
      {"ja", "今回はご期待に沿えない結果となりましたが、" + company +
                 "は地域の企業と連携し、あなたの経験を必要とする別の企業へのご紹介を行っています。"
                 "ご希望の場合は、利用目的をご確認のうえ次のリンクからご登録ください（無料・いつで"
                 "も削除できます）: " +
                 url},
      {"en",
       "Although we could not offer you this position, " + company +
           " works with other companies in the region that may need your experience. If you "
           "wish, read how your data would be used and register here (free of charge; you can "
           "erase your data at any time): " +
           url}};
}

Response me(const Caller& caller) {
  return http::json_response(200, caller.the_member().to_json());
}

Response relay_link(const Services& s, const Caller& caller) {
  const auto& m = caller.the_member();
  auto url = s.facts.public_url + common::relay_path(m.link_token);
  return http::json_response(200, {{"url", url}, {"paragraph", paragraphs(m.name, url)}});
}

Response issue_rejection_link(const Services& s, const Request& request, const Caller& caller) {
  const auto& m = caller.the_member();
  auto body = json_object_body(request);
  if (!body) return reply(body.error());
  if (auto fields = only_fields(*body, {"application_id", "job_title", "job_category"}); !fields)
    return reply(fields.error());
  auto application = string_field(*body, "application_id", true, 128);
  if (!application) return reply(application.error());
  auto title = string_field(*body, "job_title", false, 200);
  if (!title) return reply(title.error());
  auto category = string_field(*body, "job_category", false, 8);
  if (!category) return reply(category.error());
  auto issued = s.membership.issue_rejection_link(m, **application, category->value_or(""));
  if (!issued) return reply(error_for(issued.error()));
  auto url = s.facts.public_url + common::relay_path(issued->token);
  return http::json_response(201, {{"url", url},
                                   {"single_use", true},
                                   {"application_id", **application},
                                   {"paragraph", paragraphs(m.name, url)}});
}

// The columns of the referrals' CSV: the member JSON's fields (Referral::write_member_json).
const std::vector<std::string> kReferralColumns = {
    "id",          "created_ms", "status",        "counted",      "stage",
    "verified_ms", "kind",       "hold_until_ms", "job_category", "application_id"};

// The member's referrals a request names, read a piece at a time from where the last piece
// stopped (list_download.hpp): a member may have hundreds of thousands, and the whole list,
// held and parsed, took memory in proportion (scripts/bench-review).
class ReferralReading {
 public:
  // The member is the Caller's, shared: a stream outlives the handler, and a copy of a Member
  // is five strings.
  ReferralReading(const Services& s, std::shared_ptr<const members::Member> member,
                  const ListParams& asked)
      : s_(s),
        member_(std::move(member)),
        place_{asked.page.after, asked.page.limit},
        newest_(asked.newest_first) {}

  // The next piece's referrals, their member JSON added to `piece` (`more` set), and what the
  // read found; nullopt if where it goes on from is not one of the member's referrals.
  std::optional<services::ReferralsRead> next(JsonPiece& piece) {
    auto read = s_.membership.each_referral(
        *member_, place_.next_limit(), place_.after,
        [&](std::string_view id, std::string_view member_json) {
          piece.add(member_json);
          place_.read(id);
        },
        newest_);
    if (!read) return std::nullopt;
    place_.ended(read->more);
    piece.more = place_.more;
    return *read;
  }

 private:
  const Services& s_;
  const std::shared_ptr<const members::Member> member_;
  ListPlace place_;
  bool newest_;
};

Response not_a_referral() {
  return reply(bad_request("bad_parameter", "after: not a referral of this member"));
}

// The referrals `asked` names as a CSV download, sent as they are read.
Response referrals_csv(const Services& s, std::shared_ptr<const members::Member> member,
                       const ListParams& asked) {
  auto reading = std::make_shared<ReferralReading>(s, std::move(member), asked);
  auto next = [reading]() -> std::optional<CsvRows> {
    JsonPiece piece;
    if (!reading->next(piece)) return std::nullopt;
    return CsvRows{nlohmann::json::parse("[" + piece.items + "]"), piece.more};
  };
  auto first = next();
  if (!first) return not_a_referral();
  return csv_stream("referrals", kReferralColumns, std::move(*first), std::move(next));
}

// Every referral (no limit) as {"referrals": [...], "total"}, sent as they are read; `total`
// is the count at the first read.
Response all_referrals(const Services& s, std::shared_ptr<const members::Member> member,
                       const ListParams& asked) {
  auto reading = std::make_shared<ReferralReading>(s, std::move(member), asked);
  JsonPiece first;
  first.items.reserve(4096);
  auto read = reading->next(first);
  if (!read) return not_a_referral();
  return json_list_stream("referrals", read->total, std::move(first), pieces_from(reading));
}

// Without limit or after: every referral (as before paging existed). With either: one page
// in the order made (?order=newest: the last made first), and `next` (the `after` of the next
// page) when more follow. `total`: how many the member has. ?format=csv: the same referrals
// as a CSV download.
Response referrals(const Services& s, const Request& request, const Caller& caller) {
  auto asked = list_params(request);
  if (!asked) return reply(asked.error());
  if (asked->csv) return referrals_csv(s, caller.member, *asked);
  if (asked->page.whole()) return all_referrals(s, caller.member, *asked);
  // A page: {"next"?, "referrals": [...], "total"}, written as the referrals are read (at most
  // 1,000); "next" comes first in key order but is known last, so the list is put in after.
  std::string list;
  list.reserve(4096);
  protocol::JsonWriter items(list);
  items.begin_array();
  std::string last;
  auto read = s.membership.each_referral(
      caller.the_member(), asked->page.limit, asked->page.after,
      [&](std::string_view id, std::string_view member_json) {
        items.raw(member_json);
        last.assign(id);
      },
      asked->newest_first);
  if (!read) return not_a_referral();
  items.end_array();
  std::string body;
  body.reserve(list.size() + 64);
  protocol::JsonWriter w(body);
  w.begin_object();
  if (read->more && !last.empty()) w.field("next", last);
  w.key("referrals").raw(list).field("total", static_cast<std::int64_t>(read->total)).end_object();
  return http::json_text_response(200, std::move(body));
}

Response referral(const Services& s, const std::string& id, const Caller& caller) {
  auto r = s.membership.referral(caller.the_member(), id);
  if (!r) return reply(error_for(r.error()));
  return http::json_response(200, r->to_member_json());
}

Response credits(const Services& s, const Caller& caller) {
  auto c = s.membership.credits(caller.the_member());
  const auto& a = c.account;
  auto count = [](std::uint64_t n) { return static_cast<std::int64_t>(n); };
  // Account::to_json()'s fields and referrals_per_credit in byte order, then the history
  // items as stored: parsing and dumping them again was three quarters of this reply's cost
  // (callgrind, 200 items).
  std::string body;
  body.reserve(c.history->size() + 256);
  protocol::JsonWriter w(body);
  w.begin_object()
      .field("balance", a.balance())
      .field("credits_granted", count(a.granted))
      .field("credits_minted", count(a.minted))
      .field("credits_refunded", count(a.refunded))
      .field("credits_spent", count(a.spent))
      .field("referrals_per_credit", count(c.referrals_per_credit))
      .field("verified_referrals", count(a.counted))
      .key("history")
      .raw(*c.history)
      .end_object();
  return http::json_text_response(200, std::move(body));
}

}  // namespace

void add_member_routes(Routes& routes, const Services& s) {
  routes.add("GET", "/api/v1/me", Role::member,
             [](const Request&, const Params&, const Caller& caller) { return me(caller); });
  routes.add("PUT", "/api/v1/me/contact-email", Role::member,
             [&s](const Request& request, const Params&, const Caller& caller) {
               return set_contact_email(s, request, caller.the_member().id, false);
             });
  routes.add("POST", "/api/v1/me/api-key", Role::member,
             [&s](const Request&, const Params&, const Caller& caller) {
               return replace_api_key(s, caller.the_member().id, false);
             });
  routes.add(
      "GET", "/api/v1/relay-link", Role::member,
      [&s](const Request&, const Params&, const Caller& caller) { return relay_link(s, caller); });
  routes.add("POST", "/api/v1/rejections", Role::member,
             [&s](const Request& request, const Params&, const Caller& caller) {
               return issue_rejection_link(s, request, caller);
             });
  routes.add("GET", "/api/v1/referrals", Role::member,
             [&s](const Request& request, const Params&, const Caller& caller) {
               return referrals(s, request, caller);
             });
  routes.add("GET", "/api/v1/referrals/{id}", Role::member,
             [&s](const Request&, const Params& params, const Caller& caller) {
               return referral(s, params.at("id"), caller);
             });
  routes.add(
      "GET", "/api/v1/credits", Role::member,
      [&s](const Request&, const Params&, const Caller& caller) { return credits(s, caller); });
}

}  // namespace relay::node::api
