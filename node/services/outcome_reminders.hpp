#pragma once
// Reminders of due outcomes by mail (issue 14, item 5). What a member should report
// (introductions::Introductions::due: the outcome of a delivered introduction, retention at 3,
// 6 and 12 months of a hire) is mailed once per item to the member's contact email, through the
// node's Mailer (spool or SMTP), by a sweep the composition root runs every minute. With SMTP,
// a reminder the server defers (4xx, down) stays pending and is tried at the next sweep; one it
// rejects (5xx) is recorded as sent (logged without the address).
//
// Exactly once per item, durably: a pass first records the items it will mail as "pending" in
// one Writer request, spools the mails, then records them "sent" in another. A pass never mails
// a "sent" item again, so a restart re-sends nothing that was sent; an item left "pending" by
// a crash between spooling and recording is mailed again at the next pass (at least once, as
// candidate mail: candidates/mail_dispatch.hpp). A member with no contact email on file, or
// suspended, is skipped (nothing is recorded, so a reminder still goes out once an address is
// set while the item is due). The mail names the introduction, the requisition and what is due
// (ids and codes): no candidate data. The address is never logged.
//
// Database: outcome_reminders (member "/" introduction "/" what -> {"state","at_ms"}).
//
// Threads: sweep() from one thread at a time (the sweep loop's); the Writer serialises writes.
#include <cstddef>
#include <string>

#include "node/common/clock.hpp"
#include "node/introductions/introduction.hpp"
#include "node/mail/mailer.hpp"
#include "node/members/member.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::services {

struct ReminderSettings {
  std::string node_name;
  std::string public_url;  // no trailing slash: the API the member reports through
  std::string mail_from;
};

class OutcomeReminders {
 public:
  OutcomeReminders(storage::Environment& env, storage::Writer& writer,
                   const members::Registry& members,
                   const introductions::Introductions& introductions, mail::Mailer& mailer,
                   const common::Clock& clock, ReminderSettings settings);

  // One pass: mails every due item not yet mailed to its member's contact email; returns how
  // many mails were spooled.
  std::size_t sweep();

 private:
  struct Pending {
    std::string key;
    mail::Mail mail;
  };
  mail::Mail compose(const members::Member& member, const introductions::DueItem& item) const;

  storage::Environment& env_;
  storage::Writer& writer_;
  const members::Registry& members_;
  const introductions::Introductions& introductions_;
  mail::Mailer& mailer_;
  const common::Clock& clock_;
  ReminderSettings settings_;
  storage::Database sent_;
};

}  // namespace relay::node::services
