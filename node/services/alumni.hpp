#pragma once
// Alumni (退職者) use cases: a member invites people who are leaving it through an alumni link
// (static, or single use per departure), finds them again for re-hire (再雇用), and sees them
// marked in its matches. They register as rejected candidates do (same pages, consent and
// double opt-in: referrals::Intake); their referral has kind "alumni" and counts toward credits
// only if the operator configured credits.alumni_count_toward_credits.
//
// Invariant: a member sees only its own alumni, and of them only who is active here and
// consented to circulate within the region (their anonymised profile and ref; no personal data
// until an introduction is accepted, as for any candidate). Registering through the member's
// alumni link is the person's agreement to be found by that member.
//
// Threads: any; the Writer serialises writes.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "node/candidates/candidate_store.hpp"
#include "node/common/result.hpp"
#include "node/matching/scorer.hpp"
#include "node/members/member.hpp"
#include "node/referrals/referral.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::services {

// The ref under which this node shows a local candidate (federation::ProfileExchange::ref_of).
using RefOf = std::function<std::string(const std::string& candidate_id)>;

struct AlumniLinkIssued {
  std::string token;        // the link is <public_url>/r/<token>
  bool single_use = false;  // true when issued for one departure
};

enum class AlumniError {
  link_used,  // 409: the departure's single-use link has been used
};

// One alumnus as the member sees it: where and under which ref to ask for them, since when
// they are its alumnus, and their anonymised profile.
struct AlumnusView {
  std::string node;
  std::string ref;
  std::int64_t since_ms = 0;  // when they confirmed their registration
  nlohmann::json profile;
  nlohmann::json to_json() const;
};

// Where a page of alumni goes on from: after the alumnus shown last, who confirmed at since_ms
// and is shown under ref.
struct AlumniPlace {
  std::int64_t since_ms = 0;
  std::string ref;
};
struct AlumniPage {
  std::vector<AlumnusView> alumni;
  bool more = false;  // more may follow (start the next page after the last one)
};

// Marks, in profiles about to be ranked for member_id, the local ones (holder == self_name)
// that are that member's alumni (AnonymisedProfile::alumnus), so the score shows the reason.
void mark_alumni(const storage::Txn& txn, const referrals::Referrals& referrals,
                 const RefOf& ref_of, const std::string& member_id, const std::string& self_name,
                 std::vector<matching::AnonymisedProfile>& profiles);
// The refs (at this node) of member_id's alumni: what mark_alumni marks.
std::set<std::string> alumni_refs(const storage::Txn& txn, const referrals::Referrals& referrals,
                                  const RefOf& ref_of, const std::string& member_id);

class Alumni {
 public:
  Alumni(storage::Environment& env, storage::Writer& writer, referrals::Referrals& referrals,
         const candidates::Store& candidates, RefOf ref_of, std::string self_name);

  // The member's static alumni link (departure_id ""), or a single-use one for one departure
  // (the same one again for a repeat, until it has been used).
  common::Result<AlumniLinkIssued, AlumniError> issue_link(const members::Member& member,
                                                           const std::string& departure_id);
  // The member's alumni who may be found by it (see the invariant), oldest first: at most
  // `limit` of them, after the one `after` names (nullopt: from the first). Reads from the
  // member's alumni in the order they confirmed, so a page costs its own alumni (a candidate
  // read and decryption each), not the member's whole list.
  AlumniPage page(const members::Member& member, std::size_t limit,
                  const std::optional<AlumniPlace>& after) const;

 private:
  storage::Environment& env_;
  storage::Writer& writer_;
  referrals::Referrals& referrals_;
  const candidates::Store& candidates_;
  RefOf ref_of_;
  std::string self_name_;
};

}  // namespace relay::node::services
