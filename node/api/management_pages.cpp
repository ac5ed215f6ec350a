// The candidate's private management page under /r/m/{token}: view what is held and who
// received it, edit it, change or withdraw consent, answer introduction requests, export,
// erase, or replace the link itself; after erasure the same link shows the erasure's progress. The
// capability token in the path is the only credential (Role::candidate); CandidateRights checks it.
//
// Every POST is checked for a cross-site origin and answers 303 to the management page itself,
// naming the outcome in "done" (a flash line): reload, Back and bookmarks show a page, and
// after erasure or withdrawal the browser's back/forward cache holds no page with personal
// data to restore (Chromium drops the entry a POST redirected over). A GET of a POST-only
// path redirects to the page too. Only an edit with errors answers directly (422, the form
// again).
#include <functional>

#include "node/api/candidate_page_kit.hpp"
#include "node/api/common.hpp"
#include "node/common/public_links.hpp"
#include "node/common/text.hpp"

namespace relay::node::api {

namespace {

using namespace pages;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string base_of(const std::string& token) {
  return common::management_path(token);
}

// The management page with the outcome `flash` on top.
Response back_to_page(const std::string& token, Lang lang, Flash flash) {
  return see_other(base_of(token) + "?done=" + std::string(code_of(flash)) +
                   (lang == Lang::en ? "&lang=en" : ""));
}

Response back_to_page(const std::string& token, Lang lang) {
  return see_other(base_of(token) + (lang == Lang::en ? "?lang=en" : ""));
}

Response erasure_status(const Services& s, const services::ErasureView& v, Lang lang,
                        const std::string& token) {
  std::vector<std::string> lines{
      tr(lang, "あなたの個人データはこのノードから削除され、復元できません。",
         "Your personal data has been erased from this node and cannot be recovered.") +
      std::string(" (") + jst_time(v.erased_ms, lang) + ")"};
  if (v.recipients.empty())
    lines.push_back(tr(lang, "あなたのデータを受け取った他のノードはありません。",
                       "No other node had received your data."));
  for (const auto& r : v.recipients) {
    std::string state =
        r.confirmed_ms
            ? tr(lang, "削除を確認済み ", "erasure confirmed ") + jst_time(r.confirmed_ms, lang)
            : (r.overdue ? tr(lang, "確認待ち（期限超過・運営者に通知済み）",
                              "waiting (overdue: operators alerted)")
                         : tr(lang, "確認待ち", "waiting for confirmation"));
    lines.push_back(r.company + " / " + r.peer + ": " +
                    tr(lang, "削除依頼 ", "erasure requested ") + jst_time(r.requested_ms, lang) +
                    " — " + state);
  }
  lines.push_back(tr(lang, "もう一度登録したい場合は、企業から届いたリンクから登録できます。",
                     "To register again, use a link a company sent you."));
  candidates::NoticePage page;
  page.lang = lang;
  page.title = tr(lang, "削除の状況", "Erasure status");
  page.paragraphs = std::move(lines);
  page.other_lang_link = base_of(token) + (lang == Lang::ja ? "?lang=en" : "");
  page.operator_info = s.facts.operator_info;
  return html(200, candidates::render_notice(page));
}

std::string pick(const std::vector<config::CodedLabel>& list, const std::string& code, Lang lang) {
  auto l = label(list, code);
  return l ? (lang == Lang::ja ? l->ja : l->en) : code;
}

// Labelled lines of what is held (the page and the readable export show the same).
std::vector<std::pair<std::string, std::string>> profile_lines(const Services& s,
                                                               const candidates::Opened& o,
                                                               Lang lang) {
  const auto& ref = s.reference;
  return {
      {tr(lang, "氏名", "Name"), o.personal.name},
      {tr(lang, "メールアドレス", "Email"), o.personal.email},
      {tr(lang, "電話番号", "Phone"), o.personal.phone.empty() ? "-" : o.personal.phone},
      {tr(lang, "希望職種", "Job category"),
       pick(ref.job_categories, o.profile.job_category, lang)},
      {tr(lang, "スキル", "Skills"), join(o.profile.skills)},
      {tr(lang, "居住都道府県", "Prefecture"), pick(ref.prefectures, o.profile.prefecture, lang)},
      {tr(lang, "年齢層", "Age band"), pick(ref.age_bands, o.profile.age_band, lang)},
      {tr(lang, "経験年数", "Experience"),
       pick(ref.experience_bands, o.profile.experience_band, lang)},
      {tr(lang, "希望する職務", "Desired roles"),
       o.profile.desired_roles.empty() ? "-" : join(o.profile.desired_roles)}};
}

std::map<std::string, std::string> edit_values(const candidates::Opened& o) {
  return {{"name", o.personal.name},
          {"phone", o.personal.phone},
          {"job_category", o.profile.job_category},
          {"skills", join(o.profile.skills)},
          {"prefecture", o.profile.prefecture},
          {"age_band", o.profile.age_band},
          {"experience_band", o.profile.experience_band},
          {"desired_roles", join(o.profile.desired_roles)}};
}

std::vector<candidates::DisclosureRow> disclosure_rows(const candidates::CandidateRecord& r,
                                                       Lang lang) {
  std::vector<candidates::DisclosureRow> rows;
  for (const auto& d : r.disclosures()) {
    // The latest deletion request to this recipient (on withdrawal), as the candidate reads it.
    std::string erasure;
    for (const auto& e : r.erasure_requests()) {
      if (e.handoff != d.handoff || e.peer != d.node) continue;
      if (!e.confirmed_ms)
        erasure = tr(lang, "削除を依頼中 ", "deletion requested ") + jst_time(e.requested_ms, lang);
      else if (e.outcome == "kept_hired")
        erasure = tr(lang, "採用されたため提供先が保持", "kept by the employer that hired you");
      else
        erasure =
            tr(lang, "削除を確認済み ", "deletion confirmed ") + jst_time(e.confirmed_ms, lang);
    }
    rows.push_back({d.company, d.node, jst_time(d.at_ms, lang), d.consent_version, erasure});
  }
  return rows;
}

struct PageState {
  std::optional<Flash> flash;
  std::map<std::string, std::string> values;  // an edit with errors: what was typed
  std::map<std::string, std::string> errors;
};

Response management(const Services& s, const services::ManagementView& m, const std::string& token,
                    Lang lang, const PageState& state) {
  candidates::ManagementPage page;
  page.lang = lang;
  page.base = base_of(token);
  page.public_url = s.facts.public_url;
  page.operator_info = s.facts.operator_info;
  if (state.flash) {
    auto line = flash_for(*state.flash);
    page.flash = line.text.in(lang);
    page.flash_error = line.error;
    page.welcome = *state.flash == Flash::registered || *state.flash == Flash::registered_before;
  }
  page.errors = state.errors;
  const auto& r = m.record;
  page.email_verified = r.status == candidates::Status::active;
  page.consent_region = r.consent.region;
  page.consent_peers = r.consent.peers;
  page.consent_stats = r.consent.stats;
  page.consent_version = r.consent.version;
  page.consent_at = jst_time(r.consent.at_ms, lang);
  const auto& ref = s.reference;
  if (const auto& opened = m.opened) {
    page.profile = profile_lines(s, *opened, lang);
    page.values = state.errors.empty() ? edit_values(*opened) : state.values;
  }
  page.disclosures = disclosure_rows(r, lang);
  for (const auto& q : m.pending_requests) {
    auto region = label(ref.prefectures, q.region);  // a region is a prefecture code
    auto shown =
        region ? (lang == Lang::ja ? region->ja : region->en) + " (" + q.region + ")" : q.region;
    page.pending_requests.push_back(
        {q.id, q.company, q.peer, shown, jst_time(q.created_ms, lang), {}, {}});
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
    page.pending_requests.push_back({q.introduction, q.company, s.facts.name,
                                     pick(ref.prefectures, s.facts.region, lang),
                                     jst_time(q.created_ms, lang), position, reasons});
  }
  for (const auto& q : m.local_recipients) {
    page.disclosures.push_back(
        {q.company, s.facts.name, jst_time(q.updated_ms, lang), r.consent.version, ""});
    page.recipients.push_back({q.member, q.company});
  }
  return html(state.errors.empty() ? 200 : 422,
              candidates::render_management(page, choices_from(ref)));
}

// The page the management link shows now.
Response page_now(const Services& s, const std::string& token, Lang lang, const PageState& state) {
  auto view = s.candidate_rights.view(token);
  if (!view)
    return notice(notice_for(view.error()), lang, s.facts.operator_info,
                  std::string("/r/link") + (lang == Lang::en ? "?lang=en" : ""),
                  tr(lang, "管理ページのリンクを受け取る", "Get your management link again"));
  if (const auto* erased = std::get_if<services::ErasureView>(&*view))
    return erasure_status(s, *erased, lang, token);
  return management(s, std::get<services::ManagementView>(*view), token, lang, state);
}

Response show(const Services& s, const Request& request, const std::string& token) {
  PageState state;
  if (auto it = request.query.find("done"); it != request.query.end())
    state.flash = flash_named(it->second);
  return page_now(s, token, candidates::lang_from(request.query), state);
}

bool ticked(const std::optional<std::map<std::string, std::string>>& form, const char* key) {
  if (!form) return false;
  auto it = form->find(key);
  return it != form->end() && it->second == "yes";
}

std::string field(const std::optional<std::map<std::string, std::string>>& form, const char* key) {
  if (!form) return {};
  auto it = form->find(key);
  return it == form->end() ? std::string() : it->second;
}

Response change_consent(const Services& s, const Request& request, const std::string& token,
                        Lang lang) {
  auto form = form_body(request);
  if (!form) return notice(notice_for(PageOutcome::form_unreadable), lang, s.facts.operator_info);
  auto changed = s.candidate_rights.change_consent(
      token, {ticked(form, "consent_region"), ticked(form, "consent_peers"),
              ticked(form, "consent_stats")});
  if (!changed) return back_to_page(token, lang);
  return back_to_page(token, lang, Flash::consent_updated);
}

// The edit form: validated as the registration form is (email and consent do not change here).
Response edit(const Services& s, const Request& request, const std::string& token, Lang lang) {
  auto form = form_body(request);
  if (!form) return notice(notice_for(PageOutcome::form_unreadable), lang, s.facts.operator_info);
  auto checked = *form;
  checked["email"] = "edit@example.invalid";  // not edited here; a valid stand-in
  checked["consent_region"] = "yes";
  auto parsed = candidates::parse_registration(checked, s.reference, s.facts.consent_version, 0);
  if (!parsed.registration) {
    PageState state;
    state.values = *form;
    for (const auto& [name, message] : parsed.errors)
      state.errors[name] = lang == Lang::ja ? message.ja : message.en;
    return page_now(s, token, lang, state);
  }
  const auto& r = *parsed.registration;
  if (!s.candidate_rights.update_details(token, r.personal.name, r.personal.phone, r.profile))
    return back_to_page(token, lang);
  return back_to_page(token, lang, Flash::details_updated);
}

Response withdraw(const Services& s, const std::string& token, Lang lang) {
  if (!s.candidate_rights.withdraw(token)) return back_to_page(token, lang);
  return forgetting_pages(back_to_page(token, lang, Flash::consent_withdrawn));
}

// The candidate's answer to an introduction request from another node (handoff_holder.hpp).
Response answer_request(const Services& s, const Request& request, const std::string& token,
                        const std::string& id, Lang lang) {
  auto decision = field(form_body(request), "decision");
  if (decision != "accept" && decision != "decline")
    return back_to_page(token, lang, Flash::choose_decision);
  auto result = s.candidate_rights.answer_request(
      token, id,
      decision == "accept" ? federation::Decision::accept : federation::Decision::decline);
  return back_to_page(token, lang, flash_of(result));
}

// "I found work": a re-employment self-report that counts for 再雇用率 (no personal data).
Response found_work(const Services& s, const Request& request, const std::string& token,
                    Lang lang) {
  if (!s.candidate_rights.report_found_work(token, field(form_body(request), "through")))
    return back_to_page(token, lang);
  return back_to_page(token, lang, Flash::found_work);
}

// The new link goes to the person's mailbox only: this page cannot show it, since whoever
// replaces a leaked link may be the one who should lose it.
Response replace_link(const Services& s, const std::string& token, Lang lang) {
  if (!s.candidate_rights.replace_link(token)) return back_to_page(token, lang);
  return forgetting_pages(
      see_other(std::string("/r/link/replaced") + (lang == Lang::en ? "?lang=en" : "")));
}

Response erase(const Services& s, const Request& request, const std::string& token, Lang lang) {
  if (!ticked(form_body(request), "confirm"))
    return back_to_page(token, lang, Flash::erase_unconfirmed);
  (void)s.candidate_rights.erase(token);  // either way the link now shows what there is
  return forgetting_pages(back_to_page(token, lang));
}

nlohmann::json export_json(const Services& s, const services::CandidateExport& exported) {
  const auto& r = exported.record;
  nlohmann::json out = {{"candidate_id", r.id},
                        {"status", candidates::to_string(r.status)},
                        {"created", common::iso_time(r.created_ms)},
                        {"consent", r.consent.to_json()},
                        {"node", s.facts.name}};
  if (r.verified_ms) out["verified"] = common::iso_time(r.verified_ms);
  if (exported.opened) {
    out["personal"] = exported.opened->personal.to_json();
    out["profile"] = exported.opened->profile.to_json();
  }
  nlohmann::json refs = nlohmann::json::array();
  for (const auto& ref : exported.referrals)
    refs.push_back({{"company", ref.company},
                    {"status", ref.status},
                    {"created", common::iso_time(ref.created_ms)}});
  out["referrals"] = refs;
  auto disclosures = nlohmann::json::array();
  for (const auto& d : r.disclosures()) disclosures.push_back(d.to_json());
  out["disclosures"] = disclosures;
  return out;
}

Response export_data(const Services& s, const Request& request, const std::string& token) {
  auto exported = s.candidate_rights.export_data(token);
  if (!exported)
    return notice(notice_for(exported.error()), candidates::lang_from(request.query),
                  s.facts.operator_info);
  auto response = http::json_response(200, export_json(s, *exported));
  response.headers["Content-Disposition"] = "attachment; filename=\"my-relay-data.json\"";
  response.headers["Cache-Control"] = "no-store";
  response.headers["X-Content-Type-Options"] = "nosniff";
  return response;
}

// The same as the JSON export, with labels, for a person to read or print.
Response readable_export(const Services& s, const Request& request, const std::string& token) {
  auto lang = candidates::lang_from(request.query);
  auto exported = s.candidate_rights.export_data(token);
  if (!exported) return notice(notice_for(exported.error()), lang, s.facts.operator_info);
  const auto& r = exported->record;
  candidates::ExportPage page;
  page.lang = lang;
  page.base = base_of(token);
  page.operator_info = s.facts.operator_info;
  if (exported->opened) page.lines = profile_lines(s, *exported->opened, lang);
  auto yes_no = [&](bool v) {
    return v ? tr(lang, "同意する", "yes") : tr(lang, "同意しない", "no");
  };
  page.lines.push_back({tr(lang, "登録日時", "Registered"), jst_time(r.created_ms, lang)});
  page.lines.push_back(
      {tr(lang, "メール確認日時", "Email confirmed"), jst_time(r.verified_ms, lang)});
  page.lines.push_back({tr(lang, "地域の企業への提示", "Shown to companies in this region"),
                        yes_no(r.consent.region)});
  page.lines.push_back(
      {tr(lang, "他地域ノードへの共有", "Shared with other regions"), yes_no(r.consent.peers)});
  page.lines.push_back({tr(lang, "統計への利用", "Used in statistics"), yes_no(r.consent.stats)});
  page.lines.push_back({tr(lang, "同意文バージョン・日時", "Consent text version, date"),
                        r.consent.version + " / " + jst_time(r.consent.at_ms, lang)});
  page.lines.push_back({tr(lang, "ノード", "Node"), s.facts.name});
  for (const auto& ref : exported->referrals)
    page.referrals.push_back({ref.company,
                              ref.status == referrals::ReferralStatus::pending
                                  ? tr(lang, "メール確認待ち", "waiting for email confirmation")
                                  : tr(lang, "確認済み", "confirmed"),
                              jst_time(ref.created_ms, lang)});
  page.disclosures = disclosure_rows(r, lang);
  return html(200, candidates::render_export(page));
}

using PostAction =
    std::function<Response(const Services&, const Request&, const std::string& token, Lang)>;

// A POST of the management page: refused from another site, else `action`.
Handler post(const Services& s, PostAction action) {
  return [&s, action = std::move(action)](const Request& request, const Params& params,
                                          const Caller&) {
    auto lang = candidates::lang_from(request.query);
    if (auto refused = refuse_cross_site(request, lang, s.facts.operator_info)) return *refused;
    return action(s, request, params.at("token"), lang);
  };
}

// A GET of a POST-only path (a bookmark, a reload after a redirect was not followed): the page.
Handler to_page() {
  return [](const Request& request, const Params& params, const Caller&) {
    return back_to_page(params.at("token"), candidates::lang_from(request.query));
  };
}

}  // namespace

void add_management_pages(Routes& routes, const Services& s) {
  routes.add("GET", "/r/m/{token}", Role::candidate,
             [&s](const Request& request, const Params& params, const Caller&) {
               return show(s, request, params.at("token"));
             });
  routes.add("POST", "/r/m/{token}/consent", Role::candidate, post(s, change_consent));
  routes.add("POST", "/r/m/{token}/edit", Role::candidate, post(s, edit));
  routes.add("POST", "/r/m/{token}/withdraw", Role::candidate,
             post(s, [](const Services& s, const Request&, const std::string& token, Lang lang) {
               return withdraw(s, token, lang);
             }));
  routes.add("POST", "/r/m/{token}/requests/{id}", Role::candidate,
             [&s](const Request& request, const Params& params, const Caller&) {
               auto lang = candidates::lang_from(request.query);
               if (auto refused = refuse_cross_site(request, lang, s.facts.operator_info))
                 return *refused;
               return answer_request(s, request, params.at("token"), params.at("id"), lang);
             });
  routes.add("POST", "/r/m/{token}/found-work", Role::candidate, post(s, found_work));
  routes.add("POST", "/r/m/{token}/erase", Role::candidate, post(s, erase));
  routes.add("POST", "/r/m/{token}/replace-link", Role::candidate,
             post(s, [](const Services& s, const Request&, const std::string& token, Lang lang) {
               return replace_link(s, token, lang);
             }));
  for (const char* path : {"/r/m/{token}/consent", "/r/m/{token}/edit", "/r/m/{token}/withdraw",
                           "/r/m/{token}/requests/{id}", "/r/m/{token}/found-work",
                           "/r/m/{token}/erase", "/r/m/{token}/replace-link"})
    routes.add("GET", path, Role::candidate, to_page());
  routes.add("GET", "/r/m/{token}/export", Role::candidate,
             [&s](const Request& request, const Params& params, const Caller&) {
               return export_data(s, request, params.at("token"));
             });
  routes.add("GET", "/r/m/{token}/data", Role::candidate,
             [&s](const Request& request, const Params& params, const Caller&) {
               return readable_export(s, request, params.at("token"));
             });
}

}  // namespace relay::node::api
