#pragma once
// The local referral flow, from a relay link to a minted credit:
//   submit():  a candidate posts the registration form behind a member's relay link (static,
//              or single-use from the ATS). Creates (or finds) the candidate by pseudonym and
//              the member's referral of them, consumes a single-use link, and queues the
//              double opt-in mail, in the language of the form's "lang" field. Repeats by
//              the same person for the same member create nothing new; a form whose "nonce"
//              was accepted before (a double tap) does nothing again. A person not yet
//              confirmed who registers again replaces what they typed before (so a stranger
//              who registered their address first cannot keep their data: the confirmation
//              page shows what is confirmed); a confirmed one gets their management link by
//              mail and nothing typed is saved. Repeats re-mail the same links (record
//              links: no entry of their own) and at most confirmation_mails_per_day mails go
//              to one address a day, so repeating costs the node no growing record and sends
//              no mail storm.
//   confirm(): the candidate confirms their email from that mail. The referral is verified;
//              if the member is active it is held (hold.hpp) and counts when its hold ends
//              (the member's first referral of this person: one per member and person);
//              every referrals_per_credit counted referrals mint a credit.
//              An alumni referral (made through an alumni link) counts only if
//              alumni_count_toward_credits, and marks the person as the member's alumnus.
//              Everything, ledger entries included, commits in the caller's transaction.
// Both run inside Writer requests. Nothing here knows about HTTP.
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "config/reference.hpp"
#include "node/candidates/candidate_store.hpp"
#include "node/candidates/pages.hpp"
#include "node/candidates/registration_form.hpp"
#include "node/common/clock.hpp"
#include "node/members/member.hpp"
#include "node/referrals/credit_account.hpp"
#include "node/referrals/hold.hpp"
#include "node/referrals/referral.hpp"

namespace relay::node::referrals {

struct IntakeSettings {
  std::string public_url;  // no trailing slash
  std::string node_name;
  std::string mail_from;
  std::string consent_version;
  std::chrono::hours verification_expiry{72};
  // credits.alumni_count_toward_credits: whether alumni referrals count toward credits.
  bool alumni_count_toward_credits = false;
  // limits.confirmation_mails_per_day: mails submit() and remind_link() send to one address
  // per UTC day.
  std::uint32_t confirmation_mails_per_day = 5;
};

enum class LinkState { ok, unknown, used, member_inactive };

struct LinkTarget {
  LinkState state = LinkState::unknown;
  std::optional<members::Member> member;
  std::optional<SingleUseLink> single;  // set for a single-use link
  std::optional<AlumniLink> alumni;     // set for an alumni link (static or single use)
};

struct SubmitResult {
  LinkState link = LinkState::unknown;
  std::map<std::string, candidates::FieldError> errors;  // form errors; nothing stored
  bool accepted = false;
  bool repeated = false;     // the form's nonce was accepted before: nothing was done again
  bool mail_capped = false;  // the address had its mails for today: none was queued
};

enum class ConfirmState { confirmed, unknown, expired, already_confirmed };

struct ConfirmResult {
  ConfirmState state = ConfirmState::unknown;
  std::string management_token;  // set when confirmed
  bool minted = false;
  bool registered_before = false;  // the person was confirmed already (through another link)
};

class Intake {
 public:
  Intake(members::Registry& members, candidates::Store& candidates, Referrals& referrals,
         CreditAccounts& credits, Holds& holds, const config::Reference& reference,
         IntakeSettings settings, const common::Clock& clock);

  LinkTarget resolve_link(const storage::Txn& txn, std::string_view token) const;
  SubmitResult submit(storage::WriteTxn& txn, std::string_view link_token,
                      const std::map<std::string, std::string>& form);
  // Whether a verification token is live (for the confirmation page shown before the POST).
  bool verification_pending(const storage::Txn& txn, std::string_view token) const;
  // What a live verification token would confirm (shown on the confirmation page, so that a
  // person sees data someone else typed for their address before confirming it); nullopt
  // if the token is not live.
  std::optional<candidates::Opened> pending_data(const storage::Txn& txn,
                                                 std::string_view token) const;
  // A confirmation link, read: the person and the referral it confirms, until when it
  // works, and whether it was used (its referral is verified). nullopt for a token that is
  // no confirmation link, or whose person was erased. Links are Store::record_links listed
  // in the person's intake state; a link mailed before that is a candidate_tokens entry,
  // still read ("verify", or "verified" once used), never written now.
  struct VerifyLink {
    candidates::CandidateRecord candidate;
    std::optional<Referral> referral;
    std::int64_t expires_ms = 0;
    bool used = false;
  };
  std::optional<VerifyLink> verify_link(const storage::Txn& txn, std::string_view token) const;
  // Whether a verification token was used to confirm a candidate who is still registered.
  bool verification_used(const storage::Txn& txn, std::string_view token) const;
  ConfirmResult confirm(storage::WriteTxn& txn, std::string_view verify_token);

  // The "lost your link?" page: mails the current management link to the confirmed person
  // `email` stands for (at the address their record holds), counted in the daily mail cap
  // submit() counts. The outcome is for tests: the page answers the same whatever it is, so it
  // tells nobody whether an address is registered here.
  enum class LinkReminder { mailed, capped, no_one };
  LinkReminder remind_link(storage::WriteTxn& txn, std::string_view email);

  const IntakeSettings& settings() const { return settings_; }

  // Called in the same txn when confirm() makes a candidate active, so that what follows
  // from it (profiles circulated to peers) commits with it. Installed by Node; referrals/
  // knows nothing of federation.
  using CandidateChanged =
      std::function<void(storage::WriteTxn&, const candidates::CandidateRecord&)>;
  void on_candidate_changed(CandidateChanged hook) { on_candidate_changed_ = std::move(hook); }
  // Called in the same txn when submit() makes a referral (confirmed = false) and when
  // confirm() confirms one (confirmed = true); new_person: the candidate record was created,
  // or became active, in this txn; opened: the profile confirm() opened from the record's
  // sealed data (nullptr from submit), so the statistics need not decrypt it again.
  // Installed by Node for the statistics (node/statistics).
  using ReferralEvent =
      std::function<void(storage::WriteTxn&, const Referral&, const candidates::CandidateRecord&,
                         bool confirmed, bool new_person, const candidates::Profile* opened)>;
  void on_referral(ReferralEvent hook) { on_referral_ = std::move(hook); }

 private:
  // The pseudonyms a normalised address may be registered under: its canonical form's
  // (address_identity.hpp), and for a person registered before that rule the plain address's
  // (the same string when canonicalising changed nothing). Computed once per address.
  struct PersonKeys {
    std::string canonical;
    std::string plain;
  };
  PersonKeys person_keys(const std::string& normalised) const;
  // The person an address stands for: the candidate under the canonical pseudonym, else one
  // under the plain one; nullopt if neither.
  std::optional<candidates::CandidateRecord> find_person(const storage::Txn& txn,
                                                         const PersonKeys& keys) const;
  // The candidate's intake state (mails sent today, the last form nonce): the record's own,
  // else the stable-token entry a record from before it holds (read, never written now).
  candidates::IntakeState intake_state(const storage::Txn& txn,
                                       const candidates::CandidateRecord& candidate) const;
  // Counts one mail to the candidate today in their intake state; false (nothing counted) if
  // today's are spent.
  bool count_mail(candidates::IntakeState& state) const;
  // verify_link, if it is neither used nor expired.
  std::optional<VerifyLink> pending_link(const storage::Txn& txn, std::string_view token) const;
  // Whether the form was accepted already. person: find_person's answer for the typed
  // address (the same lookup as the registration's, so an address whose canonical form
  // differs is found too). nonce_digest: nonce_hash(nonce), computed once by submit(), which
  // stores it too.
  bool repeated_form(const storage::Txn& txn,
                     const std::optional<candidates::CandidateRecord>& person,
                     const std::string& nonce, const std::string& nonce_digest) const;
  // Lists the confirmation link with its new expiry in `candidate`'s intake state, in memory
  // (the caller saves), and queues its mail.
  void queue_verification(storage::WriteTxn& txn, candidates::CandidateRecord& candidate,
                          const Referral& referral, const std::string& to,
                          const std::string& company, candidates::Lang lang);
  members::Registry& members_;
  candidates::Store& candidates_;
  Referrals& referrals_;
  CreditAccounts& credits_;
  Holds& holds_;
  const config::Reference& reference_;
  IntakeSettings settings_;
  const common::Clock& clock_;
  CandidateChanged on_candidate_changed_;
  ReferralEvent on_referral_;
};

}  // namespace relay::node::referrals
