#pragma once
// The notice table of the candidate pages' audience (HTML under /r/, Japanese and English):
// every outcome a candidate page answers with a notice or a flash line maps here, once, to its
// status and texts in both languages, keyed by the domain outcome, as errors.hpp does for the
// JSON audience. Handlers never write a notice's text by hand: they return
// notice(notice_for(outcome), lang) or show flash_for(outcome).in(lang). The texts are what
// candidates read and the process tests check: change them only together with the pages.
//
// Threads: constant tables; any thread.
#include <string>
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

// Outcomes of the registration pages that are not a service's error.
enum class PageOutcome {
  form_unreadable,         // POST /r/{token} without a form body
  registration_received,   // the form was accepted: a confirmation mail is on its way
  confirmation_not_valid,  // GET /r/v/{token}: no pending verification for the token
  registration_complete,   // POST /r/v/{token} confirmed (the page adds the management link)
};

// Lines shown on top of the management page after an action.
enum class Flash {
  consent_updated,
  consent_withdrawn,
  choose_decision,  // an answer to a request that is neither accept nor decline
  found_work,
  erase_unconfirmed,  // erase without the confirmation box ticked
};

// A relay link that cannot be used (state != ok).
PageNotice notice_for(referrals::LinkState state);
// A confirmation that did not confirm (state != confirmed).
PageNotice notice_for(referrals::ConfirmState state);
// A management link that manages nothing.
PageNotice notice_for(services::ManageError error);
PageNotice notice_for(PageOutcome outcome);

Bilingual flash_for(Flash flash);
// The candidate's answer to an introduction request, as it turned out.
Bilingual flash_for(federation::DecideResult result);

}  // namespace relay::node::api::pages
