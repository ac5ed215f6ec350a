#pragma once
// What follows, in the same txn, from every change to a local candidate (confirmed, consent
// changed, withdrawn, erased): pending handoffs they no longer consent to stop, their profile
// circulates or is withdrawn, and an erasure (or a withdrawal of consent) asks every recipient
// to erase too. One place, so
// that intake, the candidate's own pages and late disclosures all fan out the same way.
// (It moved here from Node::candidate_changed.) The commit hook wakes the sender afterwards.
//
// Threads: changed() only inside a Writer request, touching only its txn.
#include "node/candidates/candidate_store.hpp"
#include "node/federation/erasure.hpp"
#include "node/federation/handoff_holder.hpp"
#include "node/federation/profile_exchange.hpp"
#include "node/introductions/introduction.hpp"
#include "node/introductions/local_request.hpp"
#include "node/services/statistics_feed.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::services {

class CandidateChanges {
 public:
  CandidateChanges(federation::HandoffHolder& holder, federation::ProfileExchange& profiles,
                   federation::Erasures& erasures, introductions::Introductions& introductions,
                   introductions::LocalRequests& local_requests,
                   StatisticsFeed* statistics = nullptr)
      : holder_(holder),
        profiles_(profiles),
        erasures_(erasures),
        introductions_(introductions),
        local_requests_(local_requests),
        statistics_(statistics) {}

  void changed(storage::WriteTxn& txn, const candidates::CandidateRecord& record);

 private:
  federation::HandoffHolder& holder_;
  federation::ProfileExchange& profiles_;
  federation::Erasures& erasures_;
  introductions::Introductions& introductions_;
  introductions::LocalRequests& local_requests_;
  StatisticsFeed* statistics_;  // consent to statistics given or withdrawn, erasure
};

}  // namespace relay::node::services
