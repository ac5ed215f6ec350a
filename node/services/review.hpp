#pragma once
// The operator's review of flagged referrals (issue 17) and the release of referrals whose
// holding period ended: the use cases over referrals::Holds, each in its own transaction.
//
// Threads: any (release_due runs on the node's "referral holds" background loop).
#include <string>
#include <vector>

#include "node/common/result.hpp"
#include "node/referrals/hold.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::services {

class Review {
 public:
  Review(storage::Environment& env, storage::Writer& writer, referrals::Holds& holds,
         members::Registry& members);

  enum class Error {
    unknown_after,   // query.after names no referral
    unknown_member,  // no such member
  };
  struct Waiting {
    referrals::ReviewPage page;
    std::size_t total = 0;  // waiting in all, every member's
  };
  // Flagged referrals waiting for a decision, oldest first, a page at a time (what is shown:
  // hold.hpp ReviewItem).
  common::Result<Waiting, Error> waiting(const referrals::ReviewQuery& query) const;
  // How many wait, per member, most first.
  std::vector<referrals::ReviewCount> by_member() const;
  // accept: counts after its hold (at once if the hold has ended); reject: never counts.
  common::Result<referrals::ReviewItem, referrals::ReviewError> decide(
      const std::string& referral_id, bool accept);
  // The same decision for every referral of the member that waits, a Writer request per
  // batch (each decision signs a ledger entry). Returns how many were decided.
  common::Result<std::size_t, Error> decide_member(const std::string& member_id, bool accept);
  // Ends the holds that are due, a Writer request per batch. Returns how many ended.
  std::size_t release_due();

 private:
  storage::Environment& env_;
  storage::Writer& writer_;
  referrals::Holds& holds_;
  members::Registry& members_;
};

}  // namespace relay::node::services
