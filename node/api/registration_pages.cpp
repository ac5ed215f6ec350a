// Registration pages under /r/: the form behind a relay link, and the email confirmation
// (GET shows a button, POST confirms, so mail scanners that prefetch links confirm nothing).
// Capability tokens in the path are the only credential (Role::candidate).
#include "node/api/candidate_page_kit.hpp"
#include "node/api/common.hpp"

namespace relay::node::api {

namespace {

using namespace pages;

Response form_page(const Services& s, const std::string& token, Lang lang,
                   const std::string& company, bool alumni, int status,
                   const std::map<std::string, std::string>& values = {},
                   const std::map<std::string, candidates::FieldError>& errors = {}) {
  candidates::RegistrationPage page;
  page.lang = lang;
  page.action = "/r/" + token;
  page.company_name = company;
  page.alumni = alumni;
  page.node_name = s.facts.name;
  page.consent_version = s.facts.consent_version;
  page.values = values;
  for (const auto& [field, message] : errors)
    page.errors[field] = lang == Lang::ja ? message.ja : message.en;
  return html(status, candidates::render_registration(page, choices_from(s.reference)));
}

Response show_form(const Services& s, const Request& request, const std::string& token) {
  auto lang = candidates::lang_from(request.query);
  auto link = s.intake.link_page(token);
  if (!link) return notice(notice_for(link.error()), lang);
  return form_page(s, token, lang, link->company_name, link->alumni, 200);
}

Response submit_form(const Services& s, const Request& request, const std::string& token) {
  auto lang = candidates::lang_from(request.query);
  auto form = form_body(request);
  if (!form) return notice(notice_for(PageOutcome::form_unreadable), lang);
  auto registered = s.intake.register_candidate(token, *form);
  if (!registered) {
    const auto& refusal = registered.error();
    if (refusal.link != referrals::LinkState::ok) return notice(notice_for(refusal.link), lang);
    return form_page(s, token, lang, refusal.company_name, refusal.alumni, 422, *form,
                     refusal.errors);
  }
  return notice(notice_for(PageOutcome::registration_received), lang);
}

Response confirmation_page(const Services& s, const Request& request, const std::string& token) {
  auto lang = candidates::lang_from(request.query);
  if (!s.intake.verification_pending(token))
    return notice(notice_for(PageOutcome::confirmation_not_valid), lang);
  std::string action = "/r/v/" + token + (lang == Lang::en ? "?lang=en" : "");
  auto body = candidates::render_notice(
      lang, tr(lang, "メールアドレスの確認", "Confirm your email address"),
      {tr(lang, "下のボタンを押すと登録が完了します。",
          "Press the button below to complete your registration.")});
  auto form = "<form method=\"post\" action=\"" + candidates::html_escape(action) + "\"><button>" +
              tr(lang, "登録を完了する", "Complete registration") + "</button></form></body>";
  body.replace(body.rfind("</body>"), 7, form);
  return html(200, body);
}

Response confirm(const Services& s, const Request& request, const std::string& token) {
  auto lang = candidates::lang_from(request.query);
  auto confirmed = s.intake.confirm(token);
  if (!confirmed) return notice(notice_for(confirmed.error()), lang);
  auto link = "/r/m/" + confirmed->management_token;
  return notice(notice_for(PageOutcome::registration_complete), lang,
                s.facts.public_url + link + (lang == Lang::en ? "?lang=en" : ""));
}

}  // namespace

void add_registration_pages(Routes& routes, const Services& s) {
  routes.add("GET", "/r/{token}", Role::candidate,
             [&s](const Request& request, const Params& params, const Caller&) {
               return show_form(s, request, params.at("token"));
             });
  routes.add("POST", "/r/{token}", Role::candidate,
             [&s](const Request& request, const Params& params, const Caller&) {
               return submit_form(s, request, params.at("token"));
             });
  routes.add("GET", "/r/v/{token}", Role::candidate,
             [&s](const Request& request, const Params& params, const Caller&) {
               return confirmation_page(s, request, params.at("token"));
             });
  routes.add("POST", "/r/v/{token}", Role::candidate,
             [&s](const Request& request, const Params& params, const Caller&) {
               return confirm(s, request, params.at("token"));
             });
}

}  // namespace relay::node::api
