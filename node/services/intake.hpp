#pragma once
// The candidate's way in, as use cases: what the registration page behind a relay link shows,
// registering through it, confirming the email address, and having a lost management link
// mailed again. Each method owns its transaction and returns a typed outcome; the mail and
// profile circulation it queues go out when the commit hook wakes the mail dispatch and the
// sender. (The domain steps live in referrals::Intake; this adds the transactions.)
// Registrations are rate limited per relay link and per email address, link reminders per
// address (RequestLimits), before they reach the Writer, so a script hammering one link or one
// address costs the node a hash and a map look-up, not a commit.
//
// Threads: any.
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "node/candidates/registration_form.hpp"
#include "node/common/result.hpp"
#include "node/referrals/intake.hpp"
#include "node/services/request_limits.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::services {

// What the registration page shows about the link's member.
struct LinkPage {
  std::string company_name;
  bool alumni = false;  // an alumni link: the page says the member can find them again
};

// Why a registration was not accepted: too many through this link or for this address
// (retry_after set), the link is not usable (link != ok), or the form has errors (nothing
// stored); company_name for showing the form again.
struct Refusal {
  std::optional<std::chrono::seconds> retry_after;
  referrals::LinkState link = referrals::LinkState::unknown;
  std::map<std::string, candidates::FieldError> errors;
  std::string company_name;
  bool alumni = false;
};

struct Confirmed {
  std::string management_token;
  bool registered_before = false;  // confirmed already through another link: data unchanged
};

using RegistrationOutcome = common::Result<common::Done, Refusal>;
using ConfirmationOutcome = common::Result<Confirmed, referrals::ConfirmState>;

class Intake {
 public:
  // `limits` may be null (no rate limits: tests of the flow itself).
  Intake(storage::Environment& env, storage::Writer& writer, referrals::Intake& intake,
         RequestLimits* limits = nullptr);

  common::Result<LinkPage, referrals::LinkState> link_page(std::string_view link_token) const;
  RegistrationOutcome register_candidate(std::string_view link_token,
                                         const std::map<std::string, std::string>& form);
  // register_candidate without waiting for the commit: queues the registration and returns
  // what gives its outcome. `ready` is called (on the writer thread after the commit, or here
  // and now when refused before the Writer) once that no longer blocks; see
  // storage::Writer::submit. So the HTTP threads serve on while registrations share fsyncs.
  std::function<RegistrationOutcome()> begin_registration(std::string link_token,
                                                          std::map<std::string, std::string> form,
                                                          std::function<void()> ready);
  bool verification_pending(std::string_view verify_token) const;
  // What confirming would confirm (the confirmation page shows it); nullopt if not pending.
  std::optional<candidates::Opened> pending_data(std::string_view verify_token) const;
  // The confirmation link was used, and the candidate is still registered.
  bool verification_used(std::string_view verify_token) const;
  // The error is never ConfirmState::confirmed.
  ConfirmationOutcome confirm(std::string_view verify_token);
  // confirm() without waiting for the commit, as begin_registration.
  std::function<ConfirmationOutcome()> begin_confirmation(std::string verify_token,
                                                          std::function<void()> ready);
  // The "lost your link?" form (referrals::Intake::remind_link), rate limited per address as
  // registrations are: the error is how long to wait. Otherwise queued as begin_registration
  // is: `ready` runs once it committed, and the function returns the outcome (it blocks until
  // then). The form is public, so it never holds an HTTP thread for a commit.
  common::Result<std::function<referrals::Intake::LinkReminder()>, std::chrono::seconds>
  begin_remind_link(std::string_view email, std::function<void()> ready);

 private:
  // The per-address limit's wait for `email` (nullopt: go on, also with no limits or an
  // address that does not parse, which the form then refuses).
  std::optional<std::chrono::seconds> address_wait(std::string_view email);

  storage::Environment& env_;
  storage::Writer& writer_;
  referrals::Intake& intake_;
  RequestLimits* limits_;
};

}  // namespace relay::node::services
