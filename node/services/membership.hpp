#pragma once
// Membership use cases: the operator admits, lists, suspends and reinstates member companies;
// a member reads itself, its relay link, issues single-use rejection links and reads its own
// referrals and credits. Each method owns its transaction (one read txn, or one Writer
// request) and returns a typed outcome; nothing here knows HTTP.
//
// Invariant: a member only ever sees its own referrals (another member's answers
// referral_not_found, as if it did not exist). Threads: any; the Writer serialises writes.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/reference.hpp"
#include "node/common/result.hpp"
#include "node/members/member.hpp"
#include "node/referrals/credit_account.hpp"
#include "node/referrals/referral.hpp"
#include "node/services/statistics_feed.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::services {

enum class MembershipError {
  member_not_found,
  unknown_job_category,  // a rejection link's job_category is not a reference code
  link_used,             // the application's single-use link has been used
  referral_not_found,
  bad_contact_email,  // not an acceptable address (members::normalise_contact_email)
};

// A member as the operator sees it: with its credit account.
struct MemberView {
  members::Member member;
  referrals::Account credits;
};

struct NewMember {
  MemberView view;
  std::string api_key;  // shown once
};

struct RejectionLink {
  std::string token;
};

// What a read of the member's referrals found besides the referrals themselves.
struct ReferralsRead {
  bool more = false;        // others follow the page
  std::uint64_t total = 0;  // the member's referrals, in the same snapshot as the page
};

// A page of the members the operator lists.
struct MembersPage {
  std::vector<MemberView> members;
  bool more = false;        // others follow the page
  std::uint64_t total = 0;  // members in all, in the same snapshot as the page
};

struct CreditsView {
  referrals::Account account;
  std::uint32_t referrals_per_credit = 0;
  std::shared_ptr<const std::string> history;  // a JSON array, newest first, each item as stored
};

class Membership {
 public:
  Membership(storage::Environment& env, storage::Writer& writer, members::Registry& members,
             referrals::Referrals& referrals, referrals::CreditAccounts& credits,
             const config::Reference& reference, StatisticsFeed* statistics = nullptr);

  // contact_email: optional ("" = none); validated and normalised.
  common::Result<NewMember, members::AdmitError> admit(const std::string& name,
                                                       const std::string& contact_email = "");
  std::vector<MemberView> list() const;
  // Members in the order admitted, or (newest_first) the last admitted first: the first
  // `limit` after the member `after` ("": from the first), and how many there are;
  // member_not_found if `after` is no member.
  common::Result<MembersPage, MembershipError> page(std::size_t limit, const std::string& after,
                                                    bool newest_first) const;
  common::Result<MemberView, MembershipError> find(const std::string& id) const;
  // Suspends (active=false) or reinstates a member; returns it as it is now.
  common::Result<MemberView, MembershipError> set_active(const std::string& id, bool active);
  // A new API key for the member, by the operator or the member itself (shown once); the one
  // before stops working at once, and so do console sessions signed in with it.
  common::Result<NewMember, MembershipError> replace_api_key(const std::string& id);
  // Sets (validated, normalised) or removes ("") a member's contact email, by the operator or
  // the member itself; returns the member as it is now. The address is never logged.
  common::Result<MemberView, MembershipError> set_contact_email(const std::string& id,
                                                                const std::string& contact_email);

  // A single-use relay link for one application (the same one again for a repeat, until it
  // has been used). job_category: empty or a reference code.
  common::Result<RejectionLink, MembershipError> issue_rejection_link(
      const members::Member& member, const std::string& application_id,
      const std::string& job_category);
  // The member's referrals in the order made, the first `limit` after `after` ("": from the
  // first), each passed to fn as its id and member JSON without a copy
  // (referrals::Referrals::each_listed), in one read txn. Returns whether more follow and
  // how many there are in all; referral_not_found if `after` is not one of the member's
  // referrals.
  // newest_first: the same, last made first.
  common::Result<ReferralsRead, MembershipError> each_referral(
      const members::Member& member, std::size_t limit, const std::string& after,
      const referrals::Referrals::EachListed& fn, bool newest_first = false) const;
  common::Result<referrals::Referral, MembershipError> referral(const members::Member& member,
                                                                const std::string& id) const;
  CreditsView credits(const members::Member& member) const;

 private:
  MemberView view(const storage::Txn& txn, const members::Member& m) const;
  storage::Environment& env_;
  storage::Writer& writer_;
  members::Registry& members_;
  referrals::Referrals& referrals_;
  referrals::CreditAccounts& credits_;
  const config::Reference& reference_;
  StatisticsFeed* statistics_;  // told of every new rejection link (node/statistics)
};

}  // namespace relay::node::services
