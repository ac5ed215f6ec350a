// Registration pages under /r/: the form behind a relay link, and the email confirmation
// (GET shows a button, POST confirms, so mail scanners that prefetch links confirm nothing),
// and /r/link, where a person who lost their management link has it mailed again.
// Capability tokens in the path are the only credential (Role::candidate). Every POST is
// checked for a cross-site origin and ends in a 303 to a GET page (Back, reload and bookmarks
// show a page, never a resubmission); a form carries a nonce so that a double tap registers
// once. Also the small HTML pages for /, /r/ and /favicon.ico.
#include "crypto/random.hpp"
#include "node/api/candidate_page_kit.hpp"
#include "node/api/common.hpp"
#include "node/common/public_links.hpp"

namespace relay::node::api {

namespace {

using namespace pages;

std::string lang_query(Lang lang) {
  return lang == Lang::en ? "?lang=en" : "";
}

Response form_page(const Services& s, const std::string& token, Lang lang,
                   const std::string& company, bool alumni, int status,
                   const std::map<std::string, std::string>& values = {},
                   const std::map<std::string, candidates::FieldError>& errors = {}) {
  candidates::RegistrationPage page;
  page.lang = lang;
  page.action = common::relay_path(token);
  page.company_name = company;
  page.alumni = alumni;
  page.node_name = s.facts.name;
  page.consent_version = s.facts.consent_version;
  page.values = values;
  page.values.erase("nonce");
  page.nonce = crypto::random_token(16);  // a fresh one: a corrected form is a new submission
  page.operator_info = s.facts.operator_info;
  for (const auto& [field, message] : errors)
    page.errors[field] = lang == Lang::ja ? message.ja : message.en;
  return html(status, candidates::render_registration(page, choices_from(s.reference)));
}

// The page for a person past a rate limit, in their language.
Response limited_notice(const Services& s, Lang lang, std::chrono::seconds wait) {
  auto r = notice(notice_for(PageOutcome::too_many_requests), lang, s.facts.operator_info);
  r.headers["Retry-After"] = std::to_string(wait.count());
  return r;
}

Response show_form(const Services& s, const Request& request, const std::string& token) {
  auto lang = candidates::lang_from(request.query);
  auto link = s.intake.link_page(token);
  if (!link) return notice(notice_for(link.error()), lang, s.facts.operator_info);
  return form_page(s, token, lang, link->company_name, link->alumni, 200);
}

// Answers with a Later: the registration waits for its group commit without holding an HTTP
// thread, so registrations in flight share one fsync.
Response submit_form(const Services& s, const Request& request, const std::string& token) {
  auto lang = candidates::lang_from(request.query);
  if (auto refused = refuse_cross_site(request, lang, s.facts.operator_info)) return *refused;
  auto form = form_body(request);
  if (!form) return notice(notice_for(PageOutcome::form_unreadable), lang, s.facts.operator_info);
  if (!form->count("lang")) (*form)["lang"] = lang == Lang::en ? "en" : "ja";
  auto later = std::make_shared<http::Later>();
  auto outcome = s.intake.begin_registration(token, *form, [later] { later->wake(); });
  // Not the request: what the reply needs of it is lang (copying it cost two copies of its
  // headers and body a registration).
  later->set_finish([&s, token, lang, form = std::move(*form), outcome] {
    auto registered = outcome();
    if (!registered) {
      const auto& refusal = registered.error();
      if (refusal.retry_after) return limited_notice(s, lang, *refusal.retry_after);
      if (refusal.link != referrals::LinkState::ok)
        return notice(notice_for(refusal.link), lang, s.facts.operator_info);
      return form_page(s, token, lang, refusal.company_name, refusal.alumni, 422, form,
                       refusal.errors);
    }
    return forgetting_pages(see_other("/r/sent" + lang_query(lang)));
  });
  return http::later_response(std::move(later));
}

Response sent_page(const Services& s, const Request& request) {
  auto lang = candidates::lang_from(request.query);
  return notice(notice_for(PageOutcome::registration_received), lang, s.facts.operator_info, {}, {},
                lang == Lang::ja ? "/r/sent?lang=en" : "/r/sent");
}

Response confirmation_page(const Services& s, const Request& request, const std::string& token) {
  auto lang = candidates::lang_from(request.query);
  const auto& op = s.facts.operator_info;
  if (s.intake.verification_used(token))
    return notice(notice_for(referrals::ConfirmState::already_confirmed), lang, op);
  auto pending = s.intake.pending_data(token);
  if (!pending) return notice(notice_for(PageOutcome::confirmation_not_valid), lang, op);
  candidates::NoticePage page;
  page.lang = lang;
  page.title = tr(lang, "メールアドレスの確認", "Confirm your email address");
  // What is confirmed, so that data someone else typed for this address is seen before it
  // is confirmed (the latest registration for a pending address replaces the earlier one).
  const auto& p = pending->personal;
  page.paragraphs = {
      tr(lang, "下のボタンを押すと、次の内容で登録が完了します。",
         "Press the button below to complete your registration with these details."),
      tr(lang, "氏名: ", "Name: ") + p.name, tr(lang, "メールアドレス: ", "Email: ") + p.email,
      tr(lang, "電話番号: ", "Phone: ") +
          (p.phone.empty() ? tr(lang, "（なし）", "(none)") : p.phone),
      tr(lang,
         "内容が違う場合は、届いたリンクからもう一度登録してください（最後の登録内容が使われます）"
         "。"
         "登録後も管理ページでいつでも修正できます。",
         "If these are not the details you entered, register again through the link you "
         "received (the latest registration counts). You can also correct them on your "
         "management page at any time after registering.")};
  page.button_action = common::confirmation_path(token) + lang_query(lang);
  page.button_text = tr(lang, "登録を完了する", "Complete registration");
  page.other_lang_link = common::confirmation_path(token) + (lang == Lang::ja ? "?lang=en" : "");
  page.operator_info = op;
  return html(200, candidates::render_notice(page));
}

Response confirm(const Services& s, const Request& request, const std::string& token) {
  auto lang = candidates::lang_from(request.query);
  if (auto refused = refuse_cross_site(request, lang, s.facts.operator_info)) return *refused;
  auto later = std::make_shared<http::Later>();
  auto outcome = s.intake.begin_confirmation(token, [later] { later->wake(); });
  later->set_finish([&s, lang, outcome] {
    auto confirmed = outcome();
    if (!confirmed) return notice(notice_for(confirmed.error()), lang, s.facts.operator_info);
    auto done =
        code_of(confirmed->registered_before ? Flash::registered_before : Flash::registered);
    return see_other(common::management_path(confirmed->management_token) +
                     "?done=" + std::string(done) + (lang == Lang::en ? "&lang=en" : ""));
  });
  return http::later_response(std::move(later));
}

// "Lost your link?": the form asks for the address; 422 with `error` for one that is not an
// address (which says nothing about who is registered).
Response link_request_page(const Services& s, Lang lang, const char* error_ja = nullptr,
                           const char* error_en = nullptr) {
  const auto texts = notice_for(PageOutcome::link_request);
  candidates::NoticePage page;
  page.lang = lang;
  page.title = texts.title.in(lang);
  if (error_ja) page.paragraphs.push_back(tr(lang, error_ja, error_en));
  page.error = error_ja != nullptr;
  for (const auto& p : texts.paragraphs) page.paragraphs.push_back(p.in(lang));
  page.button_action = "/r/link" + lang_query(lang);
  page.email_label = tr(lang, "メールアドレス", "Email address");
  page.button_text = tr(lang, "リンクを送る", "Send my link");
  page.other_lang_link = std::string("/r/link") + (lang == Lang::ja ? "?lang=en" : "");
  page.operator_info = s.facts.operator_info;
  return html(error_ja ? 422 : texts.status, candidates::render_notice(page));
}

// The page answers the same whether or not the address is registered (or was mailed today
// already), and a 303 to one GET page, as every POST here does: once the reminder committed,
// through a Later, as registrations wait (the form is public: no thread held for an fsync).
Response request_link(const Services& s, const Request& request) {
  auto lang = candidates::lang_from(request.query);
  if (auto refused = refuse_cross_site(request, lang, s.facts.operator_info)) return *refused;
  auto form = form_body(request);
  if (!form) return notice(notice_for(PageOutcome::form_unreadable), lang, s.facts.operator_info);
  auto email = form->find("email");
  if (email == form->end() || !candidates::normalise_email(email->second))
    return link_request_page(s, lang, "有効なメールアドレスを入力してください。",
                             "Please enter a valid email address.");
  auto later = std::make_shared<http::Later>();
  auto reminded = s.intake.begin_remind_link(email->second, [later] { later->wake(); });
  if (!reminded) return limited_notice(s, lang, reminded.error());
  later->set_finish([lang, done = std::move(reminded.value())] {
    done();  // rethrows what failed the commit: a 500
    return see_other("/r/link/sent" + lang_query(lang));
  });
  return http::later_response(std::move(later));
}

Response static_notice(const Services& s, const Request& request, PageOutcome outcome) {
  auto lang = candidates::lang_from(request.query);
  return notice(notice_for(outcome), lang, s.facts.operator_info, {}, {},
                request.path + (lang == Lang::ja ? "?lang=en" : ""));
}

}  // namespace

Response limited_page(const Services& s, const Request& request, std::chrono::seconds wait) {
  return limited_notice(s, candidates::lang_from(request.query), wait);
}

void add_registration_pages(Routes& routes, const Services& s) {
  for (const char* path : {"/r/", "/r"})
    routes.add(
        "GET", path, Role::everyone, [&s](const Request& request, const Params&, const Caller&) {
          auto lang = candidates::lang_from(request.query);
          return notice(notice_for(PageOutcome::home), lang, s.facts.operator_info,
                        "/r/link" + lang_query(lang),
                        tr(lang, "管理ページのリンクをなくした場合", "Lost your management link?"),
                        request.path + (lang == Lang::ja ? "?lang=en" : ""));
        });
  routes.add("GET", "/favicon.ico", Role::everyone,
             [&s](const Request& request, const Params&, const Caller&) {
               return static_notice(s, request, PageOutcome::page_not_found);
             });
  routes.add(
      "GET", "/r/sent", Role::everyone,
      [&s](const Request& request, const Params&, const Caller&) { return sent_page(s, request); });
  // Before /r/{token}, which would take "link" for a relay link.
  routes.add("GET", "/r/link", Role::everyone,
             [&s](const Request& request, const Params&, const Caller&) {
               return link_request_page(s, candidates::lang_from(request.query));
             });
  routes.add("POST", "/r/link", Role::everyone,
             [&s](const Request& request, const Params&, const Caller&) {
               return request_link(s, request);
             });
  routes.add("GET", "/r/link/sent", Role::everyone,
             [&s](const Request& request, const Params&, const Caller&) {
               return static_notice(s, request, PageOutcome::link_requested);
             });
  routes.add("GET", "/r/link/replaced", Role::everyone,
             [&s](const Request& request, const Params&, const Caller&) {
               return static_notice(s, request, PageOutcome::link_replaced);
             });
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

// Registered after every other /r/ route (first match wins): any other path under /r/ is a
// page a person may have mistyped, answered in HTML.
void add_unknown_candidate_pages(Routes& routes, const Services& s) {
  for (const char* path :
       {"/r/{a}/{b}", "/r/{a}/{b}/{c}", "/r/{a}/{b}/{c}/{d}", "/r/{a}/{b}/{c}/{d}/{e}"})
    for (const char* method : {"GET", "POST"})
      routes.add(
          method, path, Role::everyone, [&s](const Request& request, const Params&, const Caller&) {
            auto lang = candidates::lang_from(request.query);
            return notice(notice_for(PageOutcome::page_not_found), lang, s.facts.operator_info);
          });
}

}  // namespace relay::node::api
