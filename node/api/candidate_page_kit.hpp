#pragma once
// What the candidate pages under /r/ share: the HTML replies (never cached, no referrer: the
// path holds a capability token) and the bilingual notice pages, whose texts come from the
// notice table of this audience (page_notices.hpp). Used by registration_pages.cpp and
// management_pages.cpp only.
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

std::string tr(Lang lang, const char* ja, const char* en);

// An HTML reply that is never cached and sends no referrer.
Response html(int status, std::string body);
Response notice(int status, Lang lang, const std::string& title,
                std::vector<std::string> paragraphs, const std::string& link = {},
                const std::string& link_text = {});
// A notice of the table (page_notices.hpp), with an optional link below it.
Response notice(const PageNotice& notice, Lang lang, const std::string& link = {},
                const std::string& link_text = {});

// An application/x-www-form-urlencoded body; nullopt for another content type.
std::optional<std::map<std::string, std::string>> form_body(const Request& request);

candidates::FormChoices choices_from(const config::Reference& ref);
const config::CodedLabel* label(const std::vector<config::CodedLabel>& list,
                                const std::string& code);

}  // namespace relay::node::api::pages
