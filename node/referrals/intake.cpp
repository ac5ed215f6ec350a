#include "node/referrals/intake.hpp"

#include "node/candidates/candidate_mail.hpp"
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

SubmitResult Intake::submit(storage::WriteTxn& txn, std::string_view link_token,
                            const std::map<std::string, std::string>& form) {
  SubmitResult result;
  // A form already accepted (a double tap, a resent POST): the same success, nothing new.
  auto nonce_it = form.find("nonce");
  const std::string nonce = nonce_it == form.end() ? "" : nonce_it->second;
  if (!nonce.empty() && candidates_.lookup_token(txn, nonce, "form")) {
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
  auto candidate = find_person(txn, normalised);
  if (!candidate) {
    candidate = candidates_.create(
        txn, registration, candidates_.pseudonym_of(identify_address(normalised).canonical));
  } else if (candidate->status == candidates::Status::pending) {
    // Not confirmed yet: the latest form is what the person means (nothing stale is kept);
    // a confirmed record changes only through its management page.
    candidate->consent = registration.consent;
    candidates_.update_data(txn, *candidate, registration.personal, registration.profile);
  }
  if (candidate->status == candidates::Status::pending && candidate->lang != lang_name(lang)) {
    candidate->lang = lang_name(lang);
    candidates_.save(txn, *candidate);
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
  }
  if (target.single) referrals_.mark_used(txn, *target.single);
  if (target.alumni) referrals_.mark_used(txn, *target.alumni);

  if (candidate->status == candidates::Status::pending ||
      referral->status == ReferralStatus::pending) {
    queue_verification(txn, *candidate, *referral, registration.personal.email, member.name, lang);
  } else {
    // Already confirmed: nothing typed is saved; the person gets a fresh management link.
    auto manage = candidates_.issue_token(txn, candidate->id, "manage");
    candidate = candidates_.find(txn, candidate->id);
    auto text = candidates::already_registered_mail(lang, settings_.public_url + "/r/m/" + manage);
    candidates_.queue_mail(
        txn, *candidate,
        {settings_.mail_from, registration.personal.email, text.subject, text.body});
  }
  if (!nonce.empty()) candidates_.bind_token(txn, nonce, candidate->id, "form");
  result.accepted = true;
  return result;
}

std::optional<candidates::CandidateRecord> Intake::find_person(
    const storage::Txn& txn, const std::string& normalised) const {
  if (auto found = candidates_.find_by_pseudonym(
          txn, candidates_.pseudonym_of(identify_address(normalised).canonical)))
    return found;
  return candidates_.find_by_pseudonym(txn, candidates_.pseudonym_of(normalised));
}

void Intake::queue_verification(storage::WriteTxn& txn,
                                const candidates::CandidateRecord& candidate,
                                const Referral& referral, const std::string& to,
                                const std::string& company, candidates::Lang lang) {
  auto expires =
      clock_.now_ms() +
      std::chrono::duration_cast<std::chrono::milliseconds>(settings_.verification_expiry).count();
  auto token = candidates_.issue_token(txn, candidate.id, "verify",
                                       {{"referral", referral.id}, {"expires_ms", expires}});
  auto fresh = candidates_.find(txn, candidate.id);
  auto text = candidates::verification_mail(
      lang, settings_.public_url + "/r/v/" + token, company, settings_.node_name,
      static_cast<long>(settings_.verification_expiry.count()));
  candidates_.queue_mail(txn, *fresh, {settings_.mail_from, to, text.subject, text.body});
}

bool Intake::verification_pending(const storage::Txn& txn, std::string_view token) const {
  auto info = candidates_.lookup_token(txn, token, "verify");
  return info && info->extra.value("expires_ms", std::int64_t{0}) >= clock_.now_ms();
}

bool Intake::verification_used(const storage::Txn& txn, std::string_view token) const {
  auto info = candidates_.lookup_token(txn, token, "verified");
  if (!info) return false;
  auto candidate = candidates_.find(txn, info->candidate_id);
  return candidate && candidate->status != candidates::Status::erased;
}

ConfirmResult Intake::confirm(storage::WriteTxn& txn, std::string_view verify_token) {
  ConfirmResult result;
  auto info = candidates_.lookup_token(txn, verify_token, "verify");
  if (!info) {
    if (verification_used(txn, verify_token)) result.state = ConfirmState::already_confirmed;
    return result;
  }
  if (info->extra.value("expires_ms", std::int64_t{0}) < clock_.now_ms()) {
    candidates_.revoke_token(txn, info->digest);
    result.state = ConfirmState::expired;
    return result;
  }
  auto referral = referrals_.find(txn, info->extra.at("referral"));
  auto candidate = candidates_.find(txn, info->candidate_id);
  candidates_.revoke_token(txn, info->digest);
  if (!referral || !candidate || candidate->status == candidates::Status::erased) return result;
  if (referral->status == ReferralStatus::verified) {
    candidates_.bind_token(txn, verify_token, candidate->id, "verified");
    result.state = ConfirmState::already_confirmed;
    return result;
  }
  auto now = clock_.now_ms();
  bool became_active = candidate->status == candidates::Status::pending;
  result.registered_before = !became_active;
  if (became_active) {
    candidate->status = candidates::Status::active;
    candidate->verified_ms = now;
    candidates_.save(txn, *candidate);
  }
  auto member = members_.find(txn, referral->member_id);
  referral->status = ReferralStatus::verified;
  referral->verified_ms = now;
  // Alumni count toward credits only if the operator said so (the ledger's
  // alumni_credit_rule records it, so an auditor checks the same rule). One that may count
  // is held (hold.hpp) and counts when its hold ends; the ledger names the person by a
  // member-scoped pseudonym, so no two members' entries link them.
  const bool may_count =
      member && member->active && (!referral->alumni() || settings_.alumni_count_toward_credits);
  const auto opened_now = candidates_.open(*candidate);
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
  result.management_token = candidates_.issue_token(txn, candidate->id, "manage");
  result.state = ConfirmState::confirmed;
  // Reopening the used link says so and points to the management link mailed now.
  candidates_.bind_token(txn, verify_token, candidate->id, "verified");
  auto fresh = candidates_.find(txn, candidate->id);
  if (auto opened = candidates_.open(*fresh)) {
    auto text = candidates::registration_complete_mail(
        candidates::lang_named(fresh->lang),
        settings_.public_url + "/r/m/" + result.management_token);
    candidates_.queue_mail(txn, *fresh,
                           {settings_.mail_from, opened->personal.email, text.subject, text.body});
  }
  if (became_active && on_candidate_changed_)
    on_candidate_changed_(txn, *candidates_.find(txn, candidate->id));
  return result;
}

}  // namespace relay::node::referrals
