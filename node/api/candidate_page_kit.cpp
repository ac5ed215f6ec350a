#include "node/api/candidate_page_kit.hpp"

namespace relay::node::api::pages {

std::string tr(Lang lang, const char* ja, const char* en) {
  return lang == Lang::ja ? ja : en;
}

Response html(int status, std::string body) {
  auto r = http::html_response(status, std::move(body));
  r.headers["Cache-Control"] = "no-store";
  r.headers["Referrer-Policy"] = "no-referrer";
  return r;
}

Response notice(int status, Lang lang, const std::string& title,
                std::vector<std::string> paragraphs, const std::string& link,
                const std::string& link_text) {
  return html(status, candidates::render_notice(lang, title, paragraphs, link, link_text));
}

Response link_problem(referrals::LinkState state, Lang lang) {
  switch (state) {
    case referrals::LinkState::used:
      return notice(410, lang, tr(lang, "このリンクは使用済みです", "This link has been used"),
                    {tr(lang, "この登録用リンクは一度だけ使えるもので、既に使用されています。",
                        "This registration link can be used once only, and it has been used.")});
    case referrals::LinkState::member_inactive:
      return notice(410, lang, tr(lang, "このリンクは現在無効です", "This link is not active"),
                    {tr(lang, "この企業のリンクは現在受け付けを停止しています。",
                        "This company's link is not accepting registrations at the moment.")});
    default:
      return notice(404, lang, tr(lang, "リンクが見つかりません", "Link not found"),
                    {tr(lang, "リンクを確認してください。", "Please check the link.")});
  }
}

Response confirm_problem(referrals::ConfirmState state, Lang lang) {
  switch (state) {
    case referrals::ConfirmState::already_confirmed:
      return notice(200, lang, tr(lang, "確認済みです", "Already confirmed"),
                    {tr(lang, "このメールアドレスは既に確認済みです。",
                        "This address has been confirmed already.")});
    case referrals::ConfirmState::expired:
      return notice(410, lang, tr(lang, "確認リンクの期限切れ", "Confirmation link expired"),
                    {tr(lang, "もう一度登録してください。", "Please register again.")});
    default:
      return notice(404, lang,
                    tr(lang, "確認リンクが無効です", "This confirmation link is not valid"),
                    {tr(lang, "リンクを確認してください。", "Please check the link.")});
  }
}

std::optional<std::map<std::string, std::string>> form_body(const Request& request) {
  auto type = request.header("content-type");
  if (!type || type->substr(0, 33) != "application/x-www-form-urlencoded") return std::nullopt;
  return http::parse_form(request.body);
}

candidates::FormChoices choices_from(const config::Reference& ref) {
  candidates::FormChoices c;
  auto copy = [](const std::vector<config::CodedLabel>& from, std::vector<candidates::Choice>& to) {
    for (const auto& l : from) to.push_back({l.code, l.ja, l.en});
  };
  copy(ref.job_categories, c.job_categories);
  copy(ref.prefectures, c.prefectures);
  copy(ref.age_bands, c.age_bands);
  copy(ref.experience_bands, c.experience_bands);
  return c;
}

const config::CodedLabel* label(const std::vector<config::CodedLabel>& list,
                                const std::string& code) {
  for (const auto& l : list)
    if (l.code == code) return &l;
  return nullptr;
}

}  // namespace relay::node::api::pages
