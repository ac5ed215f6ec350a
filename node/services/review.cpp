#include "node/services/review.hpp"

#include "node/storage/txn.hpp"

namespace relay::node::services {

namespace {
// Requests a batch: each decision or release signs a ledger entry, and a batch holds the
// writer for all of them.
constexpr std::size_t kBatch = 500;
}  // namespace

Review::Review(storage::Environment& env, storage::Writer& writer, referrals::Holds& holds,
               members::Registry& members)
    : env_(env), writer_(writer), holds_(holds), members_(members) {}

common::Result<Review::Waiting, Review::Error> Review::waiting(
    const referrals::ReviewQuery& query) const {
  auto txn = env_.begin_read();
  if (!query.member.empty() && !members_.find(txn, query.member))
    return common::fail(Error::unknown_member);
  auto page = holds_.in_review(txn, query);
  if (!page) return common::fail(Error::unknown_after);
  return Waiting{std::move(*page), holds_.waiting_count(txn)};
}

std::vector<referrals::ReviewCount> Review::by_member() const {
  auto txn = env_.begin_read();
  return holds_.waiting_by_member(txn);
}

common::Result<referrals::ReviewItem, referrals::ReviewError> Review::decide(
    const std::string& referral_id, bool accept) {
  return writer_.submit_wait(
      [&](storage::WriteTxn& txn) { return holds_.decide(txn, referral_id, accept); });
}

common::Result<std::size_t, Review::Error> Review::decide_member(const std::string& member_id,
                                                                 bool accept) {
  {
    auto txn = env_.begin_read();
    if (!members_.find(txn, member_id)) return common::fail(Error::unknown_member);
  }
  std::size_t total = 0;
  for (;;) {
    auto n = writer_.submit_wait([&](storage::WriteTxn& txn) {
      return holds_.decide_member(txn, member_id, accept, kBatch);
    });
    total += n;
    if (n < kBatch) return total;
  }
}

std::size_t Review::release_due() {
  std::size_t total = 0;
  for (;;) {
    auto n = writer_.submit_wait(
        [&](storage::WriteTxn& txn) { return holds_.release_due(txn, kBatch); });
    total += n;
    if (n < kBatch) return total;
  }
}

}  // namespace relay::node::services
