#pragma once
// A member's side of handoffs across nodes: search the pool (this node's consenting candidates
// and the profiles peers circulate), ask a peer for a candidate, list and read its own
// handoffs (with the delivered data once delivered), and report a hire (the received data then
// no longer expires). Each method owns its transaction and returns a typed outcome; the
// request queued for the peer goes out when the commit hook wakes the sender.
//
// Invariant: a member only ever sees its own handoffs (another's answers not_found).
// Threads: any.
#include <optional>
#include <string>
#include <vector>

#include "node/candidates/candidate_store.hpp"
#include "node/common/result.hpp"
#include "node/federation/handoff.hpp"
#include "node/federation/pool_index.hpp"
#include "node/federation/profile_exchange.hpp"
#include "node/members/member.hpp"
#include "node/services/statistics_feed.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::services {

enum class HandoffError {
  own_node,       // asked this node for its own candidate
  not_a_peer,     // the node is not an active peer
  not_in_pool,    // no such profile from that node
  not_found,      // no such handoff of this member
  not_delivered,  // hire reported for a handoff that is not the member's delivered one
};

struct HandoffDetail {
  federation::Handoff handoff;
  std::optional<candidates::Opened> delivered;  // once delivered (and not expired or erased)
};

struct Requested {
  federation::Handoff handoff;
  bool created = false;  // false: the member's live handoff for this candidate, as it was
};

struct HandoffSettings {
  std::string node_name;
  std::string region;
  std::size_t max_pool_hits = 500;
};

class HandoffRequests {
 public:
  HandoffRequests(storage::Environment& env, storage::Writer& writer,
                  federation::Handoffs& handoffs, federation::PoolIndex& pool,
                  HandoffSettings settings, StatisticsFeed* statistics = nullptr);

  // The reply of GET /api/v1/pool (PoolIndex::search_json): `limit` profiles at most (capped
  // at max_pool_hits) after the first `offset` matches.
  std::string pool_json(const federation::PoolQuery& query, std::size_t limit,
                        std::size_t offset = 0) const;
  std::size_t max_pool_hits() const { return settings_.max_pool_hits; }
  common::Result<Requested, HandoffError> request(const members::Member& member,
                                                  const std::string& peer, const std::string& ref);
  // One page of the member's handoffs, oldest first or newest first
  // (federation::Handoffs::page_for_member).
  std::optional<federation::HandoffPage> list(const members::Member& member, std::size_t limit,
                                              const std::string& after,
                                              bool newest_first = false) const;
  common::Result<HandoffDetail, HandoffError> find(const members::Member& member,
                                                   const std::string& id) const;
  // The handoff as it is after the report; nullopt if it is gone meanwhile.
  common::Result<std::optional<HandoffDetail>, HandoffError> report_hire(
      const members::Member& member, const std::string& id);

 private:
  HandoffDetail detail(const storage::Txn& txn, federation::Handoff h) const;
  storage::Environment& env_;
  storage::Writer& writer_;
  federation::Handoffs& handoffs_;
  federation::PoolIndex& pool_;
  HandoffSettings settings_;
  StatisticsFeed* statistics_;  // a hire from the pool is a hire through the relay (issue 16)
};

}  // namespace relay::node::services
