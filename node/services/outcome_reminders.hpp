#pragma once
// Reminders of due outcomes by mail (issue 14, item 5). What a member should report
// (introductions::Introductions::due: the outcome of a delivered introduction, retention at 3,
// 6 and 12 months of a hire) is mailed once per item to the member's contact email, through the
// node's Mailer (spool or SMTP), by a sweep the composition root runs every minute. With SMTP,
// a reminder the server defers (4xx, down) is tried again after a backoff (mail.retry_*: the
// same policy as candidate mail, common/retry_policy.hpp); one still undelivered after
// mail.give_up_after_hours, or rejected (5xx), is given up: recorded as such, never tried
// again, and reported through `on_given_up` in the same Writer request (the composition root
// raises an operator alert; the reason names the introduction and what was due, never the
// address).
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
// Database: outcome_reminders (member "/" introduction "/" what ->
// {"state": "pending"|"sent"|"given_up", "at_ms": first recorded, "attempts", "next_ms"}).
//
// Threads: sweep() from one thread at a time (the sweep loop's); the Writer serialises writes.
#include <cstddef>
#include <functional>
#include <string>

#include "node/common/clock.hpp"
#include "node/common/retry_policy.hpp"
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
  common::RetryPolicy retry;
};

class OutcomeReminders {
 public:
  OutcomeReminders(storage::Environment& env, storage::Writer& writer,
                   const members::Registry& members,
                   const introductions::Introductions& introductions, mail::Mailer& mailer,
                   const common::Clock& clock, ReminderSettings settings);

  // Called inside the Writer request that records a reminder as given up.
  using GivenUp = std::function<void(storage::WriteTxn&, const std::string& reason)>;
  void on_given_up(GivenUp callback) { on_given_up_ = std::move(callback); }

  // One pass: mails every due item not yet mailed (and not waiting for its next attempt) to its
  // member's contact email; returns how many mails were delivered (spooled or sent).
  std::size_t sweep();

 private:
  struct Pending {
    std::string key;
    mail::Mail mail;
    std::uint32_t attempts = 0;  // made before this pass
    std::int64_t first_ms = 0;   // when the reminder was first recorded
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
  GivenUp on_given_up_;
};

}  // namespace relay::node::services
