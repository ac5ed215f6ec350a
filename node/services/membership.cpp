#include "node/services/membership.hpp"

#include <limits>

#include "node/storage/txn.hpp"

namespace relay::node::services {

using common::fail;

Membership::Membership(storage::Environment& env, storage::Writer& writer,
                       members::Registry& members, referrals::Referrals& referrals,
                       referrals::CreditAccounts& credits, const config::Reference& reference,
                       StatisticsFeed* statistics)
    : env_(env),
      writer_(writer),
      members_(members),
      referrals_(referrals),
      credits_(credits),
      reference_(reference),
      statistics_(statistics) {}

MemberView Membership::view(const storage::Txn& txn, const members::Member& m) const {
  return MemberView{m, credits_.account(txn, m.id)};
}

common::Result<NewMember, members::AdmitError> Membership::admit(const std::string& name,
                                                                 const std::string& contact_email) {
  std::string email;
  if (!contact_email.empty()) {
    auto normalised = members::normalise_contact_email(contact_email);
    if (!normalised) return fail(members::AdmitError::bad_contact_email);
    email = std::move(*normalised);
  }
  auto admitted =
      writer_.submit_wait([&](storage::WriteTxn& txn) { return members_.admit(txn, name, email); });
  if (!admitted) return fail(admitted.error());
  auto txn = env_.begin_read();
  return NewMember{view(txn, admitted->member), admitted->api_key};
}

// Every member, in the order admitted (`relay-node member list`).
std::vector<MemberView> Membership::list() const {
  return page(std::numeric_limits<std::size_t>::max(), "", false).value().members;
}

common::Result<MembersPage, MembershipError> Membership::page(std::size_t limit,
                                                              const std::string& after,
                                                              bool newest_first) const {
  auto txn = env_.begin_read();
  auto found = members_.page(txn, limit, after, newest_first);
  if (!found) return fail(MembershipError::member_not_found);
  MembersPage out{{}, found->more, found->total};
  out.members.reserve(found->records.size());
  for (const auto& m : found->records) out.members.push_back(view(txn, m));
  return out;
}

common::Result<MemberView, MembershipError> Membership::find(const std::string& id) const {
  auto txn = env_.begin_read();
  auto m = members_.find(txn, id);
  if (!m) return fail(MembershipError::member_not_found);
  return view(txn, *m);
}

common::Result<MemberView, MembershipError> Membership::set_active(const std::string& id,
                                                                   bool active) {
  auto change = writer_.submit_wait(
      [&](storage::WriteTxn& txn) { return members_.set_active(txn, id, active); });
  if (change == members::StatusChange::not_found) return fail(MembershipError::member_not_found);
  return find(id);
}

common::Result<NewMember, MembershipError> Membership::replace_api_key(const std::string& id) {
  auto key = writer_.submit_wait(
      [&](storage::WriteTxn& txn) { return members_.replace_api_key(txn, id); });
  if (!key) return fail(MembershipError::member_not_found);
  auto found = find(id);
  if (!found) return fail(found.error());
  return NewMember{std::move(*found), std::move(*key)};
}

common::Result<MemberView, MembershipError> Membership::set_contact_email(
    const std::string& id, const std::string& contact_email) {
  std::string email;
  if (!contact_email.empty()) {
    auto normalised = members::normalise_contact_email(contact_email);
    if (!normalised) return fail(MembershipError::bad_contact_email);
    email = std::move(*normalised);
  }
  auto change = writer_.submit_wait(
      [&](storage::WriteTxn& txn) { return members_.set_contact_email(txn, id, email); });
  if (change == members::StatusChange::not_found) return fail(MembershipError::member_not_found);
  return find(id);
}

common::Result<RejectionLink, MembershipError> Membership::issue_rejection_link(
    const members::Member& member, const std::string& application_id,
    const std::string& job_category) {
  if (!job_category.empty() && !reference_.find_job_category(job_category))
    return fail(MembershipError::unknown_job_category);
  auto issued = writer_.submit_wait([&](storage::WriteTxn& txn) {
    auto issued = referrals_.issue_single_use(txn, member.id, application_id, job_category);
    if (issued.created && statistics_) statistics_->rejection_link(txn, member.id);
    return issued;
  });
  if (issued.used) return fail(MembershipError::link_used);
  return RejectionLink{issued.token};
}

common::Result<ReferralsRead, MembershipError> Membership::each_referral(
    const members::Member& member, std::size_t limit, const std::string& after,
    const referrals::Referrals::EachListed& fn, bool newest_first) const {
  auto txn = env_.begin_read();
  auto more = referrals_.each_listed(txn, member.id, limit, after, fn, newest_first);
  if (!more) return fail(MembershipError::referral_not_found);
  return ReferralsRead{*more, referrals_.count_for_member(txn, member.id)};
}

common::Result<referrals::Referral, MembershipError> Membership::referral(
    const members::Member& member, const std::string& id) const {
  auto txn = env_.begin_read();
  auto r = referrals_.find(txn, id);
  if (!r || r->member_id != member.id) return fail(MembershipError::referral_not_found);
  return std::move(*r);
}

CreditsView Membership::credits(const members::Member& member) const {
  auto txn = env_.begin_read();
  return CreditsView{credits_.account(txn, member.id), credits_.referrals_per_credit(),
                     credits_.history_array(txn, member.id, 200)};
}

}  // namespace relay::node::services
