#pragma once
// The text of every mail to a candidate, in the language they registered in (ja or en): a
// candidate who chose English gets English mails, and every link in them carries ?lang=en so
// the pages they open stay in English. Pure functions; the callers queue the mail.
#include <string>

#include "node/candidates/pages.hpp"

namespace relay::node::candidates {

struct MailText {
  std::string subject;
  std::string body;
};

// The language of a stored record's "lang" ("en" or anything else: Japanese).
Lang lang_named(const std::string& name);
std::string lang_name(Lang lang);
// `url` with ?lang=en appended for English (Japanese is the default).
std::string with_lang(const std::string& url, Lang lang);

// Double opt-in: open `link` within `valid_hours` to complete the registration.
MailText verification_mail(Lang lang, const std::string& link, const std::string& company,
                           const std::string& node, long valid_hours);
// A person registered again with an address already confirmed: nothing they typed was saved;
// the management link lets them view, change or erase what is held.
MailText already_registered_mail(Lang lang, const std::string& manage_link);
MailText registration_complete_mail(Lang lang, const std::string& manage_link);
// Someone asked for the management link of this address on the "lost your link?" page.
MailText link_reminder_mail(Lang lang, const std::string& manage_link);
// The person replaced their management link: the new one, and what to do if it was not them.
MailText link_replaced_mail(Lang lang, const std::string& manage_link);
// A company asks for an introduction (`what`: the position, or the node and region).
MailText introduction_request_mail(Lang lang, const std::string& company, const std::string& what,
                                   const std::string& manage_link);

}  // namespace relay::node::candidates
