#include "node/services/review.hpp"

#include "node/storage/txn.hpp"

namespace relay::node::services {

Review::Review(storage::Environment& env, storage::Writer& writer, referrals::Holds& holds)
    : env_(env), writer_(writer), holds_(holds) {}

std::vector<referrals::ReviewItem> Review::waiting() const {
  auto txn = env_.begin_read();
  return holds_.in_review(txn);
}

common::Result<referrals::ReviewItem, referrals::ReviewError> Review::decide(
    const std::string& referral_id, bool accept) {
  return writer_.submit_wait(
      [&](storage::WriteTxn& txn) { return holds_.decide(txn, referral_id, accept); });
}

std::size_t Review::release_due() {
  constexpr std::size_t kBatch = 500;
  std::size_t total = 0;
  for (;;) {
    auto n = writer_.submit_wait(
        [&](storage::WriteTxn& txn) { return holds_.release_due(txn, kBatch); });
    total += n;
    if (n < kBatch) return total;
  }
}

}  // namespace relay::node::services
