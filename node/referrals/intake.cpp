#include "node/referrals/intake.hpp"

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "node/candidates/candidate_mail.hpp"
#include "node/common/public_links.hpp"
#include "node/referrals/address_identity.hpp"

namespace relay::node::referrals {

Intake::Intake(members::Registry& members, candidates::Store& candidates, Referrals& referrals,
               CreditAccounts& credits, Holds& holds, const config::Reference& reference,
               IntakeSettings settings, const common::Clock& clock)
    : members_(members),
      candidates_(candidates),
      referrals_(referrals),
      credits_(credits),
      holds_(holds),
      reference_(reference),
      settings_(std::move(settings)),
      clock_(clock) {}

LinkTarget Intake::resolve_link(const storage::Txn& txn, std::string_view token) const {
  LinkTarget target;
  if (auto member = members_.by_link_token(txn, token)) {
    target.member = std::move(member);
  } else if (auto single = referrals_.single_use(txn, token)) {
    target.member = members_.find(txn, single->member_id);
    target.single = std::move(single);
  } else if (auto alumni = referrals_.alumni_link(txn, token)) {
    target.member = members_.find(txn, alumni->member_id);
    target.alumni = std::move(alumni);
  }
  if (!target.member) return target;
  if (!target.member->active)
    target.state = LinkState::member_inactive;
  else if ((target.single && target.single->used) || (target.alumni && target.alumni->used))
    target.state = LinkState::used;
  else
    target.state = LinkState::ok;
  return target;
}

namespace {

constexpr std::int64_t kMsPerDay = 86'400'000;

// What the intake state keeps of a form nonce: a hash (the nonce is no credential).
std::string nonce_hash(const std::string& nonce) {
  return crypto::to_hex(crypto::sha256(crypto::as_bytes(nonce)));
}

}  // namespace

candidates::IntakeState Intake::intake_state(const storage::Txn& txn,
                                             const candidates::CandidateRecord& candidate) const {
  if (candidate.intake) return *candidate.intake;
  auto info =
      candidates_.lookup_token(txn, candidates_.stable_token(candidate.id, "intake"), "intake");
  return info ? candidates::IntakeState::from_json(info->extra) : candidates::IntakeState{};
}

bool Intake::count_mail(candidates::IntakeState& state) const {
  auto today = clock_.now_ms() / kMsPerDay;
  std::int64_t sent = state.day == today ? state.mails : 0;
  if (sent >= settings_.confirmation_mails_per_day) return false;
  state.day = today;
  state.mails = sent + 1;
  return true;
}

// A form already accepted: its nonce is bound (before intake states existed) or is the last
// one the person's intake state saw.
bool Intake::repeated_form(const storage::Txn& txn,
                           const std::optional<candidates::CandidateRecord>& person,
                           const std::string& nonce, const std::string& nonce_digest) const {
  if (nonce.empty()) return false;
  if (candidates_.lookup_token(txn, nonce, "form")) return true;
  return person && intake_state(txn, *person).form == nonce_digest;
}

SubmitResult Intake::submit(storage::WriteTxn& txn, std::string_view link_token,
                            const std::map<std::string, std::string>& form) {
  SubmitResult result;
  // A form already accepted (a double tap, a resent POST): the same success, nothing new.
  auto nonce_it = form.find("nonce");
  const std::string nonce = nonce_it == form.end() ? "" : nonce_it->second;
  const std::string nonce_digest = nonce.empty() ? "" : nonce_hash(nonce);
  // The person the typed address stands for, looked up once: by the repeated-form check and,
  // below, by the registration (the canonical form's pseudonym first, as a registration's).
  auto email_it = form.find("email");
  const auto typed =
      email_it == form.end() ? std::nullopt : candidates::normalise_email(email_it->second);
  const auto typed_keys = typed ? std::optional(person_keys(*typed)) : std::nullopt;
  auto person = typed_keys ? find_person(txn, *typed_keys) : std::nullopt;
  if (repeated_form(txn, person, nonce, nonce_digest)) {
    result.link = LinkState::ok;
    result.accepted = true;
    result.repeated = true;
    return result;
  }
  auto target = resolve_link(txn, link_token);
  result.link = target.state;
  if (target.state != LinkState::ok) return result;
  auto parsed =
      candidates::parse_registration(form, reference_, settings_.consent_version, clock_.now_ms());
  if (!parsed.registration) {
    result.errors = std::move(parsed.errors);
    return result;
  }
  const auto& registration = *parsed.registration;
  auto lang_it = form.find("lang");
  auto lang = candidates::lang_named(lang_it == form.end() ? "" : lang_it->second);
  const auto normalised = *candidates::normalise_email(registration.personal.email);
  const bool as_typed = normalised == typed;
  const auto keys = as_typed ? *typed_keys : person_keys(normalised);
  auto candidate = as_typed ? std::move(person) : find_person(txn, keys);
  const bool new_person = !candidate;
  // Changes to the record below are saved once, at the end: each save serialises it whole.
  bool unsaved = false;
  if (!candidate) {
    candidate = candidates_.create_unsaved(txn, registration, keys.canonical);
    unsaved = true;
  } else if (candidate->status == candidates::Status::pending) {
    // Not confirmed yet: the latest form is what the person means (nothing stale is kept);
    // a confirmed record changes only through its management page.
    candidate->consent = registration.consent;
    candidates_.update_data(txn, *candidate, registration.personal, registration.profile);
  }
  if (candidate->status == candidates::Status::pending && candidate->lang != lang_name(lang)) {
    candidate->lang = lang_name(lang);
    unsaved = true;
  }

  const auto& member = *target.member;
  // The candidate's own pseudonym: the canonical one, or the one it was registered under.
  const auto pseudonym = candidate->pseudonym;
  auto referral = referrals_.for_person(txn, member.id, pseudonym);
  if (!referral) {
    referral = referrals_.create(txn, member.id, candidate->id, pseudonym,
                                 target.single ? target.single->application_id : "",
                                 target.single ? target.single->job_category : "",
                                 target.alumni ? "alumni" : "rejection");
    if (on_referral_) on_referral_(txn, *referral, *candidate, false, new_person, nullptr);
  }
  if (target.single) referrals_.mark_used(txn, *target.single);
  if (target.alumni) referrals_.mark_used(txn, *target.alumni);

  // The person's intake state is read and written once: today's mail counted, and the form's
  // nonce remembered (repeated_form), whether or not a mail goes out. A person created above
  // has none to read.
  auto state = new_person ? candidates::IntakeState{} : intake_state(txn, *candidate);
  const bool mail_counted = count_mail(state);
  if (!nonce.empty()) state.form = nonce_digest;
  if (!candidate->intake || *candidate->intake != state) {
    candidate->intake = std::move(state);
    unsaved = true;
  }
  // Past today's mails for this address nothing is queued: the data above is replaced all
  // the same (the latest form is what counts), and the mail already sent still works.
  if (!mail_counted) {
    result.mail_capped = true;
  } else if (candidate->status == candidates::Status::pending ||
             referral->status == ReferralStatus::pending) {
    queue_verification(txn, *candidate, *referral, registration.personal.email, member.name, lang);
    unsaved = true;  // the link's new expiry is in the record
  } else {
    // Already confirmed: nothing typed is saved; the person gets their management link again.
    auto text = candidates::already_registered_mail(
        lang,
        settings_.public_url + common::management_path(candidates_.management_link(*candidate)));
    candidates_.queue_mail(
        txn, *candidate,
        {settings_.mail_from, registration.personal.email, text.subject, text.body});
  }
  if (unsaved) candidates_.save(txn, *candidate);
  result.accepted = true;
  return result;
}

Intake::LinkReminder Intake::remind_link(storage::WriteTxn& txn, std::string_view email) {
  auto normalised = candidates::normalise_email(email);
  if (!normalised) return LinkReminder::no_one;
  auto person = find_person(txn, person_keys(*normalised));
  // A pending person has no management link yet: registering again mails a new confirmation.
  if (!person || person->status != candidates::Status::active) return LinkReminder::no_one;
  auto state = intake_state(txn, *person);
  if (!count_mail(state)) return LinkReminder::capped;
  if (!candidates_.mail_management_link(txn, *person, settings_.public_url, settings_.mail_from,
                                        candidates::link_reminder_mail))
    return LinkReminder::no_one;  // its key is gone: nothing to manage
  person->intake = std::move(state);
  candidates_.save(txn, *person);
  return LinkReminder::mailed;
}

Intake::PersonKeys Intake::person_keys(const std::string& normalised) const {
  const auto canonical = identify_address(normalised).canonical;
  PersonKeys keys{candidates_.pseudonym_of(canonical), ""};
  keys.plain = canonical == normalised ? keys.canonical : candidates_.pseudonym_of(normalised);
  return keys;
}

std::optional<candidates::CandidateRecord> Intake::find_person(const storage::Txn& txn,
                                                               const PersonKeys& keys) const {
  if (auto found = candidates_.find_by_pseudonym(txn, keys.canonical)) return found;
  if (keys.plain == keys.canonical) return std::nullopt;  // one key: looked up already
  return candidates_.find_by_pseudonym(txn, keys.plain);
}

void Intake::queue_verification(storage::WriteTxn& txn, candidates::CandidateRecord& candidate,
                                const Referral& referral, const std::string& to,
                                const std::string& company, candidates::Lang lang) {
  auto expires =
      clock_.now_ms() +
      std::chrono::duration_cast<std::chrono::milliseconds>(settings_.verification_expiry).count();
  // The same link for every repeat, working again for the full time. submit() set the state.
  candidate.intake->links[referral.id] = expires;
  auto token = candidates_.confirmation_link(candidate.id, referral.id);
  auto text = candidates::verification_mail(
      lang, settings_.public_url + common::confirmation_path(token), company, settings_.node_name,
      static_cast<long>(settings_.verification_expiry.count()));
  candidates_.queue_mail(txn, candidate, {settings_.mail_from, to, text.subject, text.body});
}

std::optional<Intake::VerifyLink> Intake::verify_link(const storage::Txn& txn,
                                                      std::string_view token) const {
  std::optional<VerifyLink> link;
  std::string referral_id;
  if (auto id = candidates::Store::record_link_id(token)) {
    auto candidate = candidates_.find(txn, *id);
    if (!candidate || !candidate->intake) return std::nullopt;  // erasure resets the state
    for (const auto& [referral, expires_ms] : candidate->intake->links)
      if (candidates_.is_confirmation_link(token, candidate->id, referral)) {
        link = VerifyLink{std::move(*candidate), std::nullopt, expires_ms, false};
        referral_id = referral;
        break;
      }
  } else {
    // An entry an older version stored: "verify" (naming its referral), "verified" once used.
    auto info = candidates_.lookup_token(txn, token, "verify");
    const bool used = !info && (info = candidates_.lookup_token(txn, token, "verified"));
    auto candidate = info ? candidates_.find(txn, info->candidate_id) : std::nullopt;
    if (!candidate) return std::nullopt;
    link = VerifyLink{std::move(*candidate), std::nullopt,
                      info->extra.value("expires_ms", std::int64_t{0}), used};
    referral_id = info->extra.value("referral", std::string());
  }
  if (!link || link->candidate.status == candidates::Status::erased) return std::nullopt;
  if (!referral_id.empty()) {
    link->referral = referrals_.find(txn, referral_id);
    link->used = link->referral && link->referral->status == ReferralStatus::verified;
  }
  return link;
}

std::optional<Intake::VerifyLink> Intake::pending_link(const storage::Txn& txn,
                                                       std::string_view token) const {
  auto link = verify_link(txn, token);
  if (!link || link->used || link->expires_ms < clock_.now_ms()) return std::nullopt;
  return link;
}

bool Intake::verification_pending(const storage::Txn& txn, std::string_view token) const {
  return pending_link(txn, token).has_value();
}

std::optional<candidates::Opened> Intake::pending_data(const storage::Txn& txn,
                                                       std::string_view token) const {
  auto link = pending_link(txn, token);
  if (!link) return std::nullopt;
  return candidates_.open(link->candidate);
}

bool Intake::verification_used(const storage::Txn& txn, std::string_view token) const {
  auto link = verify_link(txn, token);
  return link && link->used;
}

ConfirmResult Intake::confirm(storage::WriteTxn& txn, std::string_view verify_token) {
  ConfirmResult result;
  // Nothing is written for the link itself: once its referral is verified it reads as used.
  auto link = verify_link(txn, verify_token);
  if (!link) return result;
  if (link->used) {
    result.state = ConfirmState::already_confirmed;
    return result;
  }
  if (link->expires_ms < clock_.now_ms()) {
    result.state = ConfirmState::expired;
    return result;
  }
  if (!link->referral) return result;
  auto& referral = link->referral;
  auto& candidate = link->candidate;
  auto now = clock_.now_ms();
  bool became_active = candidate.status == candidates::Status::pending;
  result.registered_before = !became_active;
  if (became_active) {
    candidate.status = candidates::Status::active;
    candidate.verified_ms = now;
  }
  // The management link mailed below (the current one: the same for every confirmation
  // until the person replaces it; stored nowhere).
  result.management_token = candidates_.management_link(candidate);
  // Opened once, under one read of the key: for the address's identity, the mail that gives
  // the person their management link (queued here), and the save (the pool index lists the
  // record now, from this profile).
  const auto opened_now =
      candidates_.open_and_mail(txn, candidate, [&](const candidates::Opened& opened) {
        auto text = candidates::registration_complete_mail(
            candidates::lang_named(candidate.lang),
            settings_.public_url + common::management_path(result.management_token));
        return std::optional<mail::Mail>(
            {settings_.mail_from, opened.personal.email, text.subject, text.body});
      });
  candidates_.save(txn, candidate, opened_now ? &opened_now->profile : nullptr);
  auto member = members_.find(txn, referral->member_id);
  referral->status = ReferralStatus::verified;
  referral->verified_ms = now;
  // Alumni count toward credits only if the operator said so (the ledger's
  // alumni_credit_rule records it, so an auditor checks the same rule). One that may count
  // is held (hold.hpp) and counts when its hold ends; the ledger names the person by a
  // member-scoped pseudonym, so no two members' entries link them.
  const bool may_count =
      member && member->active && (!referral->alumni() || settings_.alumni_count_toward_credits);
  if (may_count && opened_now) {
    auto normalised = candidates::normalise_email(opened_now->personal.email);
    result.minted = holds_.hold(txn, *referral,
                                identify_address(normalised.value_or(opened_now->personal.email)));
  } else {
    referral->counted = false;
    referrals_.save(txn, *referral);
    credits_.record_verified(txn, referral->member_id, referral->id,
                             referrals_.ledger_pseudonym(*referral), false,
                             referral->alumni() ? "alumni" : "");
  }
  if (referral->alumni()) referrals_.add_alumnus(txn, *referral);
  result.state = ConfirmState::confirmed;
  if (on_referral_)
    on_referral_(txn, *referral, candidate, true, became_active,
                 opened_now ? &opened_now->profile : nullptr);
  if (became_active && on_candidate_changed_) on_candidate_changed_(txn, candidate);  // as saved
  return result;
}

}  // namespace relay::node::referrals
