// The candidate's private management page under /r/m/{token}: view what is held and who
// received it, change or withdraw consent, answer introduction requests, export, erase; after
// erasure the same link shows the erasure's progress. The capability token in the path is the
// only credential (Role::candidate); CandidateRights checks it.
#include "node/api/candidate_page_kit.hpp"
#include "node/api/common.hpp"
#include "node/common/text.hpp"

namespace relay::node::api {

namespace {

using namespace pages;
using common::iso_time;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

Response erasure_status(const services::ErasureView& v, Lang lang) {
  std::vector<std::string> lines{
      tr(lang, "あなたの個人データはこのノードから削除され、復元できません。",
         "Your personal data has been erased from this node and cannot be recovered.") +
      std::string(" (") + iso_time(v.erased_ms) + ")"};
  if (v.recipients.empty())
    lines.push_back(tr(lang, "あなたのデータを受け取った他のノードはありません。",
                       "No other node had received your data."));
  for (const auto& s : v.recipients) {
    std::string state =
        s.confirmed_ms
            ? tr(lang, "削除を確認済み ", "erasure confirmed ") + iso_time(s.confirmed_ms)
            : (s.overdue ? tr(lang, "確認待ち（期限超過・運営者に通知済み）",
                              "waiting (overdue: operators alerted)")
                         : tr(lang, "確認待ち", "waiting for confirmation"));
    lines.push_back(s.company + " / " + s.peer + ": " +
                    tr(lang, "削除依頼 ", "erasure requested ") + iso_time(s.requested_ms) + " — " +
                    state);
  }
  return notice(200, lang, tr(lang, "削除の状況", "Erasure status"), lines);
}

Response management(const Services& s, const services::ManagementView& m, const std::string& token,
                    Lang lang, const std::string& flash) {
  candidates::ManagementPage page;
  page.lang = lang;
  page.base = "/r/m/" + token;
  page.flash = flash;
  const auto& r = m.record;
  page.email_verified = r.status == candidates::Status::active;
  page.consent_region = r.consent.region;
  page.consent_peers = r.consent.peers;
  page.consent_stats = r.consent.stats;
  page.consent_version = r.consent.version;
  page.consent_at = iso_time(r.consent.at_ms);
  const auto& ref = s.reference;
  if (const auto& opened = m.opened) {
    auto pick = [&](const std::vector<config::CodedLabel>& list, const std::string& code) {
      auto l = label(list, code);
      return l ? (lang == Lang::ja ? l->ja : l->en) : code;
    };
    page.profile[tr(lang, "1 氏名", "1 Name")] = opened->personal.name;
    page.profile[tr(lang, "2 メール", "2 Email")] = opened->personal.email;
    page.profile[tr(lang, "3 電話", "3 Phone")] = opened->personal.phone;
    page.profile[tr(lang, "4 職種", "4 Job category")] =
        pick(ref.job_categories, opened->profile.job_category);
    page.profile[tr(lang, "5 スキル", "5 Skills")] = join(opened->profile.skills);
    page.profile[tr(lang, "6 都道府県", "6 Prefecture")] =
        pick(ref.prefectures, opened->profile.prefecture);
    page.profile[tr(lang, "7 年齢層", "7 Age band")] =
        pick(ref.age_bands, opened->profile.age_band);
    page.profile[tr(lang, "8 経験年数", "8 Experience")] =
        pick(ref.experience_bands, opened->profile.experience_band);
    page.profile[tr(lang, "9 希望職務", "9 Desired roles")] = join(opened->profile.desired_roles);
  }
  for (const auto& d : r.disclosures())
    page.disclosures.push_back(
        {d.company, d.node, iso_time(d.at_ms), d.consent_version, d.erasure});
  for (const auto& q : m.pending_requests) {
    auto region = label(ref.prefectures, q.region);  // a region is a prefecture code
    auto shown =
        region ? (lang == Lang::ja ? region->ja : region->en) + " (" + q.region + ")" : q.region;
    page.pending_requests.push_back(
        {q.id, q.company, q.peer, shown, iso_time(q.created_ms), {}, {}});
  }
  // Local introductions: the position and the match's reasons, in the page's language.
  for (const auto& q : m.local_requests) {
    std::string position = q.title;
    if (auto type = introductions::parse_employment_type(q.employment_type))
      position += " — " + std::string(lang == Lang::ja ? introductions::label_ja(*type)
                                                       : introductions::label_en(*type));
    std::vector<std::string> reasons;
    for (const auto& reason : q.reasons) {
      auto points = reason.value("points", 0);
      reasons.push_back(reason.value(lang == Lang::ja ? "ja" : "en", "") + " " +
                        (points > 0 ? "+" : "") + std::to_string(points));
    }
    auto region = label(ref.prefectures, s.facts.region);
    page.pending_requests.push_back(
        {q.introduction, q.company, s.facts.name,
         region ? (lang == Lang::ja ? region->ja : region->en) : s.facts.region,
         iso_time(q.created_ms), position, reasons});
  }
  for (const auto& q : m.local_recipients) {
    page.disclosures.push_back(
        {q.company, s.facts.name, iso_time(q.updated_ms), r.consent.version, ""});
    page.recipients.push_back({q.member, q.company});
  }
  return html(200, candidates::render_management(page, choices_from(ref)));
}

// The page the management link shows now, with `flash` on top of a live management page.
Response page_now(const Services& s, const std::string& token, Lang lang,
                  const std::string& flash) {
  auto view = s.candidate_rights.view(token);
  if (!view) return notice(notice_for(view.error()), lang);
  if (const auto* erased = std::get_if<services::ErasureView>(&*view))
    return erasure_status(*erased, lang);
  return management(s, std::get<services::ManagementView>(*view), token, lang, flash);
}

Response show(const Services& s, const Request& request, const std::string& token) {
  return page_now(s, token, candidates::lang_from(request.query), "");
}

Response change_consent(const Services& s, const Request& request, const std::string& token) {
  auto lang = candidates::lang_from(request.query);
  auto form = form_body(request);
  if (!form) return http::error_response(400, "bad_form", "expected a form submission");
  auto yes = [&](const char* k) {
    auto it = form->find(k);
    return it != form->end() && it->second == "yes";
  };
  auto changed = s.candidate_rights.change_consent(
      token, {yes("consent_region"), yes("consent_peers"), yes("consent_stats")});
  if (!changed) return page_now(s, token, lang, "");
  return page_now(s, token, lang, flash_for(Flash::consent_updated).in(lang));
}

Response withdraw(const Services& s, const Request& request, const std::string& token) {
  auto lang = candidates::lang_from(request.query);
  (void)s.candidate_rights.withdraw(token);  // an unknown token: the page says so
  return page_now(s, token, lang, flash_for(Flash::consent_withdrawn).in(lang));
}

// The candidate's answer to an introduction request from another node (handoff_holder.hpp).
Response answer_request(const Services& s, const Request& request, const std::string& token,
                        const std::string& id) {
  auto lang = candidates::lang_from(request.query);
  auto form = form_body(request);
  auto decision = form && form->count("decision") ? form->at("decision") : std::string();
  if (decision != "accept" && decision != "decline")
    return page_now(s, token, lang, flash_for(Flash::choose_decision).in(lang));
  auto result = s.candidate_rights.answer_request(
      token, id,
      decision == "accept" ? federation::Decision::accept : federation::Decision::decline);
  return page_now(s, token, lang, flash_for(result).in(lang));
}

// "I found work": a re-employment self-report that counts for 再雇用率 (no personal data).
Response found_work(const Services& s, const Request& request, const std::string& token) {
  auto lang = candidates::lang_from(request.query);
  auto form = form_body(request);
  auto through = form && form->count("through") ? form->at("through") : std::string();
  if (!s.candidate_rights.report_found_work(token, through)) return page_now(s, token, lang, "");
  return page_now(s, token, lang, flash_for(Flash::found_work).in(lang));
}

Response erase(const Services& s, const Request& request, const std::string& token) {
  auto lang = candidates::lang_from(request.query);
  auto form = form_body(request);
  if (!form || form->count("confirm") == 0 || form->at("confirm") != "yes")
    return page_now(s, token, lang, flash_for(Flash::erase_unconfirmed).in(lang));
  (void)s.candidate_rights.erase(token);  // either way the link now shows what there is
  return page_now(s, token, lang, "");
}

Response export_data(const Services& s, const std::string& token) {
  auto exported = s.candidate_rights.export_data(token);
  if (!exported) return reply(error_for(exported.error()));
  const auto& r = exported->record;
  nlohmann::json out = {{"candidate_id", r.id},
                        {"status", candidates::to_string(r.status)},
                        {"created", iso_time(r.created_ms)},
                        {"consent", r.consent.to_json()},
                        {"node", s.facts.name}};
  if (r.verified_ms) out["verified"] = iso_time(r.verified_ms);
  if (exported->opened) {
    out["personal"] = exported->opened->personal.to_json();
    out["profile"] = exported->opened->profile.to_json();
  }
  nlohmann::json refs = nlohmann::json::array();
  for (const auto& ref : exported->referrals)
    refs.push_back(
        {{"company", ref.company}, {"status", ref.status}, {"created", iso_time(ref.created_ms)}});
  out["referrals"] = refs;
  auto disclosures = nlohmann::json::array();
  for (const auto& d : r.disclosures()) disclosures.push_back(d.to_json());
  out["disclosures"] = disclosures;
  auto response = http::json_response(200, out);
  response.headers["Content-Disposition"] = "attachment; filename=\"my-relay-data.json\"";
  response.headers["Cache-Control"] = "no-store";
  return response;
}

}  // namespace

void add_management_pages(Routes& routes, const Services& s) {
  routes.add("GET", "/r/m/{token}", Role::candidate,
             [&s](const Request& request, const Params& params, const Caller&) {
               return show(s, request, params.at("token"));
             });
  routes.add("POST", "/r/m/{token}/consent", Role::candidate,
             [&s](const Request& request, const Params& params, const Caller&) {
               return change_consent(s, request, params.at("token"));
             });
  routes.add("POST", "/r/m/{token}/withdraw", Role::candidate,
             [&s](const Request& request, const Params& params, const Caller&) {
               return withdraw(s, request, params.at("token"));
             });
  routes.add("POST", "/r/m/{token}/requests/{id}", Role::candidate,
             [&s](const Request& request, const Params& params, const Caller&) {
               return answer_request(s, request, params.at("token"), params.at("id"));
             });
  routes.add("POST", "/r/m/{token}/found-work", Role::candidate,
             [&s](const Request& request, const Params& params, const Caller&) {
               return found_work(s, request, params.at("token"));
             });
  routes.add("POST", "/r/m/{token}/erase", Role::candidate,
             [&s](const Request& request, const Params& params, const Caller&) {
               return erase(s, request, params.at("token"));
             });
  routes.add("GET", "/r/m/{token}/export", Role::candidate,
             [&s](const Request&, const Params& params, const Caller&) {
               return export_data(s, params.at("token"));
             });
}

}  // namespace relay::node::api
