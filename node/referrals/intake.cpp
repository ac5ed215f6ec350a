#include "node/referrals/intake.hpp"

namespace relay::node::referrals {

Intake::Intake(members::Registry& members, candidates::Store& candidates, Referrals& referrals,
               CreditAccounts& credits, const config::Reference& reference, IntakeSettings settings,
               const common::Clock& clock)
    : members_(members),
      candidates_(candidates),
      referrals_(referrals),
      credits_(credits),
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
  auto pseudonym =
      candidates_.pseudonym_of(*candidates::normalise_email(registration.personal.email));

  auto candidate = candidates_.find_by_pseudonym(txn, pseudonym);
  if (!candidate) candidate = candidates_.create(txn, registration, pseudonym);

  const auto& member = *target.member;
  auto referral = referrals_.for_person(txn, member.id, pseudonym);
  if (!referral) {
    referral = referrals_.create(txn, member.id, candidate->id, pseudonym,
                                 target.single ? target.single->application_id : "",
                                 target.single ? target.single->job_category : "",
                                 target.alumni ? "alumni" : "rejection");
  }
  if (target.single) referrals_.mark_used(txn, *target.single);
  if (target.alumni) referrals_.mark_used(txn, *target.alumni);

  if (referral->status == ReferralStatus::pending) {
    queue_verification(txn, *candidate, *referral, registration.personal.email, member.name);
  } else {
    // Already verified: the person gets a fresh management link, nothing else changes.
    auto manage = candidates_.issue_token(txn, candidate->id, "manage");
    candidate = candidates_.find(txn, candidate->id);
    candidates_.queue_mail(
        txn, *candidate,
        {settings_.mail_from, registration.personal.email,
         "【キャリアリレー】ご登録済みです / You are already registered",
         "このメールアドレスは既に登録済みです。登録内容の確認・変更・削除はこちらから:\n" +
             settings_.public_url + "/r/m/" + manage +
             "\n\nThis address is already registered. View, change or erase your data here:\n" +
             settings_.public_url + "/r/m/" + manage + "\n"});
  }
  result.accepted = true;
  return result;
}

void Intake::queue_verification(storage::WriteTxn& txn,
                                const candidates::CandidateRecord& candidate,
                                const Referral& referral, const std::string& to,
                                const std::string& company) {
  auto expires =
      clock_.now_ms() +
      std::chrono::duration_cast<std::chrono::milliseconds>(settings_.verification_expiry).count();
  auto token = candidates_.issue_token(txn, candidate.id, "verify",
                                       {{"referral", referral.id}, {"expires_ms", expires}});
  auto fresh = candidates_.find(txn, candidate.id);
  auto link = settings_.public_url + "/r/v/" + token;
  candidates_.queue_mail(
      txn, *fresh,
      {settings_.mail_from, to,
       "【キャリアリレー】メールアドレスの確認 / Please confirm your email address",
       company + " からのご案内でキャリアリレー（" + settings_.node_name +
           "）にご登録いただきありがとうございます。\n登録を完了するには、次のリンクを開いて確認し"
           "てください:\n" +
           link + "\n\nThank you for registering with the career relay (" + settings_.node_name +
           ") via " + company + ".\nTo complete your registration, open this link and confirm:\n" +
           link +
           "\n\nお心当たりがない場合はこのメールを無視してください。 / If this was not you, ignore "
           "this email.\n"});
}

bool Intake::verification_pending(const storage::Txn& txn, std::string_view token) const {
  auto info = candidates_.lookup_token(txn, token, "verify");
  return info && info->extra.value("expires_ms", std::int64_t{0}) >= clock_.now_ms();
}

ConfirmResult Intake::confirm(storage::WriteTxn& txn, std::string_view verify_token) {
  ConfirmResult result;
  auto info = candidates_.lookup_token(txn, verify_token, "verify");
  if (!info) return result;
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
    result.state = ConfirmState::already_confirmed;
    return result;
  }
  auto now = clock_.now_ms();
  bool became_active = candidate->status == candidates::Status::pending;
  if (became_active) {
    candidate->status = candidates::Status::active;
    candidate->verified_ms = now;
    candidates_.save(txn, *candidate);
  }
  auto member = members_.find(txn, referral->member_id);
  referral->status = ReferralStatus::verified;
  referral->verified_ms = now;
  // Alumni count toward credits only if the operator said so (the ledger's
  // alumni_credit_rule records it, so an auditor checks the same rule).
  referral->counted =
      member && member->active && (!referral->alumni() || settings_.alumni_count_toward_credits);
  referrals_.save(txn, *referral);
  result.minted =
      credits_.record_verified(txn, referral->member_id, referral->id, referral->pseudonym,
                               referral->counted, referral->alumni() ? "alumni" : "");
  if (referral->alumni()) referrals_.add_alumnus(txn, *referral);
  result.management_token = candidates_.issue_token(txn, candidate->id, "manage");
  result.state = ConfirmState::confirmed;
  auto opened = candidates_.open(*candidates_.find(txn, candidate->id));
  if (opened) {
    auto link = settings_.public_url + "/r/m/" + result.management_token;
    candidates_.queue_mail(txn, *candidates_.find(txn, candidate->id),
                           {settings_.mail_from, opened->personal.email,
                            "【キャリアリレー】登録が完了しました / Your registration is complete",
                            "ご登録が完了しました。登録内容の確認、同意の変更・撤回、データの削除は"
                            "こちらの専用リンクからいつでもできます:\n" +
                                link +
                                "\n\nYour registration is complete. View your data, change or "
                                "withdraw consent, or erase "
                                "your data at any time from your private link:\n" +
                                link + "\n"});
  }
  if (became_active && on_candidate_changed_)
    on_candidate_changed_(txn, *candidates_.find(txn, candidate->id));
  return result;
}

}  // namespace relay::node::referrals
