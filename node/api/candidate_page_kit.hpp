#pragma once
// What the candidate pages under /r/ share: the HTML replies (never cached, no referrer: the
// path holds a capability token), the bilingual notice pages, and the notice table of this
// audience: each expected failure of a link maps once to (status, title, text) in both
// languages. Used by registration_pages.cpp and management_pages.cpp only.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/reference.hpp"
#include "node/candidates/pages.hpp"
#include "node/http/message.hpp"
#include "node/referrals/intake.hpp"

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

// The notice for a relay link that cannot be used.
Response link_problem(referrals::LinkState state, Lang lang);
// The notice for a confirmation that did not confirm (state != confirmed).
Response confirm_problem(referrals::ConfirmState state, Lang lang);

// An application/x-www-form-urlencoded body; nullopt for another content type.
std::optional<std::map<std::string, std::string>> form_body(const Request& request);

candidates::FormChoices choices_from(const config::Reference& ref);
const config::CodedLabel* label(const std::vector<config::CodedLabel>& list,
                                const std::string& code);

}  // namespace relay::node::api::pages
