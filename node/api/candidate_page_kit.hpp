#pragma once
// What the candidate pages under /r/ share: the HTML replies (never cached, no referrer: the
// path holds a capability token; a CSP without script, form-action 'self', no framing), the
// cross-site POST check, redirects after a POST, and the bilingual notice pages, whose texts
// come from the notice table of this audience (page_notices.hpp). Used by
// registration_pages.cpp and management_pages.cpp only.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/reference.hpp"
#include "node/api/page_notices.hpp"
#include "node/candidates/pages.hpp"
#include "node/http/message.hpp"

namespace relay::node::api::pages {

using candidates::Lang;
using http::Request;
using http::Response;

// The security headers of every candidate page (and of the redirects between them).
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'";

std::string tr(Lang lang, const char* ja, const char* en);

// An HTML reply that is never cached, sends no referrer and cannot be framed.
Response html(int status, std::string body);
// 303 See Other to `location` (a path on this node): every form POST ends in one.
Response see_other(const std::string& location);
// `redirect` that also sets a fresh random cookie (no data, gone in a minute): Chromium then
// drops the no-store pages of this site from its back/forward cache, so Back after a
// registration, withdrawal or erasure fetches the page anew instead of restoring what it showed.
Response forgetting_pages(Response redirect);
// A notice of the table (page_notices.hpp), with an optional link below it; the footer names
// the operator, and `other_lang_link` offers the same page in the other language.
Response notice(const PageNotice& notice, Lang lang, const candidates::OperatorInfo& op,
                const std::string& link = {}, const std::string& link_text = {},
                const std::string& other_lang_link = {});

// A POST sent from another site (Sec-Fetch-Site other than same-origin/none, or an Origin that
// is not this host): refused with a 403 page. nullopt: the POST may proceed. Origin "null"
// (what no-referrer pages send) is left to Sec-Fetch-Site; requests with neither header
// (non-browser clients) pass.
std::optional<Response> refuse_cross_site(const Request& request, Lang lang,
                                          const candidates::OperatorInfo& op);

// An application/x-www-form-urlencoded body; nullopt for another content type.
std::optional<std::map<std::string, std::string>> form_body(const Request& request);

// "2026年12月2日 20:18" / "2 Dec 2026, 20:18 JST": Japan time, for people to read.
std::string jst_time(std::int64_t ms, Lang lang);

candidates::FormChoices choices_from(const config::Reference& ref);
const config::CodedLabel* label(const std::vector<config::CodedLabel>& list,
                                const std::string& code);

}  // namespace relay::node::api::pages
