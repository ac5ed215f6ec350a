#pragma once
// The notice table of the candidate pages' audience (HTML under /r/, Japanese and English):
// every outcome a candidate page answers with a notice or a flash line maps here, once, to its
// status and texts in both languages, keyed by the domain outcome, as errors.hpp does for the
// JSON audience. Handlers never write a notice's text by hand: they return
// notice(notice_for(outcome), lang, ...) or show flash_for(outcome). The texts are what
// candidates read and the process tests check: change them only together with the pages.
// Error notices tell the person what to do next (the page adds the operator's contact).
//
// Threads: constant tables; any thread.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/candidates/pages.hpp"
#include "node/federation/handoff_holder.hpp"
#include "node/referrals/intake.hpp"
#include "node/services/candidate_rights.hpp"

namespace relay::node::api::pages {

using candidates::Lang;

// One text in both languages.
struct Bilingual {
  const char* ja;
  const char* en;
  std::string in(Lang lang) const { return lang == Lang::ja ? ja : en; }
};

struct PageNotice {
  int status = 200;
  Bilingual title;
  std::vector<Bilingual> paragraphs;
};

// Outcomes of the candidate pages that are not a service's error.
enum class PageOutcome {
  form_unreadable,         // a POST without a form body
  registration_received,   // the form was accepted: a confirmation mail is on its way
  confirmation_not_valid,  // GET /r/v/{token}: no pending verification for the token
  cross_site,              // a POST from another site (403)
  too_many_requests,       // 429 (rate limits): try again later
  page_not_found,          // an unknown path under /r/ (404)
  home,                    // GET / and /r/: what this node is
  link_request,            // GET /r/link: the "lost your link?" form
  link_requested,          // its POST was taken (the same whether or not a mail went out)
  link_replaced,           // the management link was replaced: the new one is in the mail
};

// Lines shown on top of the management page after an action (the redirect after the POST
// names one in its "done" query parameter).
enum class Flash {
  registered,         // the registration was just completed (the page says to keep it private)
  registered_before,  // confirmed through another link: the data held is shown, unchanged
  details_updated,
  consent_updated,
  consent_withdrawn,
  choose_decision,  // an answer to a request that is neither accept nor decline
  found_work,
  erase_unconfirmed,  // erase without the confirmation box ticked
  request_accepted,
  request_declined,
  request_not_pending,
  request_not_circulating,
  request_peer_unavailable,
  request_not_found,
};

struct FlashLine {
  Bilingual text;
  bool error = false;
};

// A relay link that cannot be used (state != ok).
PageNotice notice_for(referrals::LinkState state);
// A confirmation that did not confirm (state != confirmed).
PageNotice notice_for(referrals::ConfirmState state);
// A management link that manages nothing.
PageNotice notice_for(services::ManageError error);
PageNotice notice_for(PageOutcome outcome);

FlashLine flash_for(Flash flash);
// The candidate's answer to an introduction request, as it turned out.
Flash flash_of(federation::DecideResult result);
// The "done" parameter of a flash, and back (nullopt: not a flash).
std::string_view code_of(Flash flash);
std::optional<Flash> flash_named(std::string_view code);

}  // namespace relay::node::api::pages
