#include "node/api/candidate_page_kit.hpp"

#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "crypto/random.hpp"

namespace relay::node::api::pages {

std::string tr(Lang lang, const char* ja, const char* en) {
  return lang == Lang::ja ? ja : en;
}

namespace {

void secure(Response& r) {
  r.headers["Cache-Control"] = "no-store";
  r.headers["Referrer-Policy"] = "no-referrer";
  r.headers["Content-Security-Policy"] = kContentSecurityPolicy;
  r.headers["X-Frame-Options"] = "DENY";
  r.headers["X-Content-Type-Options"] = "nosniff";
}

// "http://host:port" -> "host:port" (lower case); "" if it is not an http(s) origin.
std::string host_of_origin(std::string origin) {
  for (auto& c : origin) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* scheme : {"http://", "https://"})
    if (origin.rfind(scheme, 0) == 0) return origin.substr(std::string(scheme).size());
  return {};
}

}  // namespace

Response html(int status, std::string body) {
  auto r = http::html_response(status, std::move(body));
  secure(r);
  return r;
}

Response see_other(const std::string& location) {
  auto r =
      http::html_response(303, "<!DOCTYPE html><a href=\"" + candidates::html_escape(location) +
                                   "\">" + candidates::html_escape(location) + "</a>\n");
  r.headers["Location"] = location;
  secure(r);
  return r;
}

Response forgetting_pages(Response r) {
  r.headers["Set-Cookie"] = "relay_changed=" + crypto::random_token(8) +
                            "; Path=/; Max-Age=60; HttpOnly; SameSite=Strict";
  return r;
}

Response notice(const PageNotice& n, Lang lang, const candidates::OperatorInfo& op,
                const std::string& link, const std::string& link_text,
                const std::string& other_lang_link) {
  candidates::NoticePage page;
  page.lang = lang;
  page.title = n.title.in(lang);
  for (const auto& p : n.paragraphs) page.paragraphs.push_back(p.in(lang));
  page.error = n.status >= 400;
  page.link = link;
  page.link_text = link_text;
  page.other_lang_link = other_lang_link;
  page.operator_info = op;
  if (page.error && !op.contact.empty())
    page.paragraphs.push_back(
        tr(lang, "お困りの場合は運営者にお問い合わせください: ", "If you need help, contact: ") +
        op.contact);
  return html(n.status, candidates::render_notice(page));
}

std::optional<Response> refuse_cross_site(const Request& request, Lang lang,
                                          const candidates::OperatorInfo& op) {
  bool refused = false;
  if (auto site = request.header("sec-fetch-site"))
    refused = *site != "same-origin" && *site != "none";
  // "null": the pages' no-referrer policy makes browsers send Origin: null even on their own
  // POSTs; Sec-Fetch-Site tells those apart.
  if (auto origin = request.header("origin"); origin && *origin != "null" && !refused) {
    auto host = request.header("host");
    auto from = host_of_origin(std::string(*origin));
    std::string here = host ? std::string(*host) : "";
    for (auto& c : here) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    refused = from.empty() || from != here;
  }
  if (!refused) return std::nullopt;
  return notice(notice_for(PageOutcome::cross_site), lang, op);
}

std::optional<std::map<std::string, std::string>> form_body(const Request& request) {
  auto type = request.header("content-type");
  if (!type || type->substr(0, 33) != "application/x-www-form-urlencoded") return std::nullopt;
  return http::parse_form(request.body);
}

std::string jst_time(std::int64_t ms, Lang lang) {
  if (ms <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(ms / 1000) + 9 * 3600;  // JST has no DST
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 64> buf{};
  if (lang == Lang::ja) {
    std::snprintf(buf.data(), buf.size(), "%d年%d月%d日 %02d:%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
    return std::string(buf.data()) + "（日本時間）";
  }
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::snprintf(buf.data(), buf.size(), "%d %s %d, %02d:%02d JST", tm.tm_mday, kMonths[tm.tm_mon],
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
  return buf.data();
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
