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

Response notice(const PageNotice& n, Lang lang, const std::string& link,
                const std::string& link_text) {
  std::vector<std::string> paragraphs;
  for (const auto& p : n.paragraphs) paragraphs.push_back(p.in(lang));
  return notice(n.status, lang, n.title.in(lang), std::move(paragraphs), link, link_text);
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
