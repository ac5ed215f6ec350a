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
  Review(storage::Environment& env, storage::Writer& writer, referrals::Holds& holds);

  // Flagged referrals waiting for a decision, oldest first (what is shown: hold.hpp ReviewItem).
  std::vector<referrals::ReviewItem> waiting() const;
  // accept: counts after its hold (at once if the hold has ended); reject: never counts.
  common::Result<referrals::ReviewItem, referrals::ReviewError> decide(
      const std::string& referral_id, bool accept);
  // Ends the holds that are due, a Writer request per batch. Returns how many ended.
  std::size_t release_due();

 private:
  storage::Environment& env_;
  storage::Writer& writer_;
  referrals::Holds& holds_;
};

}  // namespace relay::node::services
