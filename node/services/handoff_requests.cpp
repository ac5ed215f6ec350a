#include "node/services/handoff_requests.hpp"

#include <algorithm>

#include "node/storage/txn.hpp"

namespace relay::node::services {

using common::fail;

HandoffRequests::HandoffRequests(storage::Environment& env, storage::Writer& writer,
                                 federation::Handoffs& handoffs, federation::PoolIndex& pool,
                                 HandoffSettings settings, StatisticsFeed* statistics)
    : env_(env),
      writer_(writer),
      handoffs_(handoffs),
      pool_(pool),
      settings_(std::move(settings)),
      statistics_(statistics) {}

HandoffDetail HandoffRequests::detail(const storage::Txn& txn, federation::Handoff h) const {
  auto data = handoffs_.delivered(txn, h);
  return HandoffDetail{std::move(h), std::move(data)};
}

std::string HandoffRequests::pool_json(const federation::PoolQuery& query, std::size_t limit,
                                       std::size_t offset) const {
  return pool_.search_json(query, std::min(limit, settings_.max_pool_hits), offset);
}

common::Result<Requested, HandoffError> HandoffRequests::request(const members::Member& member,
                                                                 const std::string& peer,
                                                                 const std::string& ref) {
  if (peer == settings_.node_name) return fail(HandoffError::own_node);
  auto result = writer_.submit_wait(
      [&](storage::WriteTxn& txn) { return handoffs_.request(txn, member, peer, ref); });
  switch (result.error) {
    case federation::RequestError::not_a_peer:
      return fail(HandoffError::not_a_peer);
    case federation::RequestError::not_in_pool:
      return fail(HandoffError::not_in_pool);
    case federation::RequestError::none:
      break;
  }
  return Requested{std::move(*result.handoff), result.created};
}

std::optional<federation::HandoffPage> HandoffRequests::list(const members::Member& member,
                                                             std::size_t limit,
                                                             const std::string& after,
                                                             bool newest_first) const {
  auto txn = env_.begin_read();
  return handoffs_.page_for_member(txn, member.id, limit, after, newest_first);
}

common::Result<HandoffDetail, HandoffError> HandoffRequests::find(const members::Member& member,
                                                                  const std::string& id) const {
  auto txn = env_.begin_read();
  auto h = handoffs_.find(txn, id);
  if (!h || h->member != member.id) return fail(HandoffError::not_found);
  return detail(txn, std::move(*h));
}

common::Result<std::optional<HandoffDetail>, HandoffError> HandoffRequests::report_hire(
    const members::Member& member, const std::string& id) {
  bool reported = writer_.submit_wait([&](storage::WriteTxn& txn) {
    auto before = handoffs_.find(txn, id);
    if (!handoffs_.report_hire(txn, member.id, id)) return false;
    // Counted once: the first report of this hire (a repeated report changes nothing).
    if (statistics_ && before && !before->hired)
      statistics_->member_hire(txn, member.id, before->created_ms);
    return true;
  });
  if (!reported) return fail(HandoffError::not_delivered);
  auto txn = env_.begin_read();
  auto h = handoffs_.find(txn, id);
  if (!h) return std::optional<HandoffDetail>{};
  return std::optional<HandoffDetail>{detail(txn, std::move(*h))};
}

}  // namespace relay::node::services
