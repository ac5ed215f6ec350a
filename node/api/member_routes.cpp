// Member API (member API key): the relay link and its email paragraph, single-use links for
// an ATS, the member's own referrals and credits. Every object is checked to be the caller's:
// another member's referral is answered 404, as if it did not exist.
#include "node/api/common.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::api {

namespace {

nlohmann::json paragraphs(const std::string& company, const std::string& url) {
  return {{"ja", "今回はご期待に沿えない結果となりましたが、" + company +
                     "は地域の企業と連携し、あなたの経験を必要とする別の企業へのご紹介を行っています。"
                     "ご希望の場合は、利用目的をご確認のうえ次のリンクからご登録ください（無料・いつでも削除できます）: " + url},
          {"en", "Although we could not offer you this position, " + company +
                     " works with other companies in the region that may need your experience. If you "
                     "wish, read how your data would be used and register here (free of charge; you can "
                     "erase your data at any time): " + url}};
}

}  // namespace

void add_member_routes(http::Router& router, Node& node) {
  router.add("GET", "/api/v1/me", [&node](const Request& request, const http::Params&) {
    auto auth = require_member(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    return http::json_response(200, std::get<members::Member>(auth).to_json());
  });

  router.add("GET", "/api/v1/relay-link", [&node](const Request& request, const http::Params&) {
    auto auth = require_member(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    const auto& m = std::get<members::Member>(auth);
    auto url = node.config().node.public_url + "/r/" + m.link_token;
    return http::json_response(200, {{"url", url}, {"paragraph", paragraphs(m.name, url)}});
  });

  router.add("POST", "/api/v1/rejections", [&node](const Request& request, const http::Params&) {
    auto auth = require_member(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    const auto& m = std::get<members::Member>(auth);
    auto body = json_object_body(request);
    if (auto* bad = std::get_if<Response>(&body)) return *bad;
    auto& json = std::get<nlohmann::json>(body);
    if (auto bad = only_fields(json, {"application_id", "job_title", "job_category"})) return *bad;
    auto application = string_field(json, "application_id", true, 128);
    if (application.error) return *application.error;
    auto title = string_field(json, "job_title", false, 200);
    if (title.error) return *title.error;
    auto category = string_field(json, "job_category", false, 8);
    if (category.error) return *category.error;
    if (category.value && !node.reference().find_job_category(*category.value))
      return http::error_response(400, "bad_field", "job_category: not a known category code (A..K)");
    auto issued = node.writer().submit_wait([&](storage::WriteTxn& txn) {
      return node.referrals().issue_single_use(txn, m.id, *application.value, category.value.value_or(""));
    });
    if (issued.used)
      return http::error_response(409, "link_used", "application_id: its single-use link has been used");
    auto url = node.config().node.public_url + "/r/" + issued.token;
    return http::json_response(201, {{"url", url},
                                     {"single_use", true},
                                     {"application_id", *application.value},
                                     {"paragraph", paragraphs(m.name, url)}});
  });

  router.add("GET", "/api/v1/referrals", [&node](const Request& request, const http::Params&) {
    auto auth = require_member(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    const auto& m = std::get<members::Member>(auth);
    auto txn = node.env().begin_read();
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : node.referrals().for_member(txn, m.id)) list.push_back(r.to_member_json());
    return http::json_response(200, {{"referrals", list}});
  });

  router.add("GET", "/api/v1/referrals/{id}", [&node](const Request& request, const http::Params& params) {
    auto auth = require_member(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    const auto& m = std::get<members::Member>(auth);
    auto txn = node.env().begin_read();
    auto r = node.referrals().find(txn, params.at("id"));
    if (!r || r->member_id != m.id) return http::error_response(404, "not_found", "no such referral");
    return http::json_response(200, r->to_member_json());
  });

  router.add("GET", "/api/v1/credits", [&node](const Request& request, const http::Params&) {
    auto auth = require_member(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    const auto& m = std::get<members::Member>(auth);
    auto txn = node.env().begin_read();
    auto view = node.credits().account(txn, m.id).to_json();
    view["referrals_per_credit"] = node.credits().referrals_per_credit();
    view["history"] = node.credits().history(txn, m.id, 200);
    return http::json_response(200, view);
  });
}

}  // namespace relay::node::api
