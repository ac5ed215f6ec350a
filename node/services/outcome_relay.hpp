#pragma once
// OutcomeRelay: the outcomes of a cross-node introduction travel back to the node holding the
// candidate (issue 14, scope 5 and 6), so that the members whose referrals brought the
// candidate in there see the hire as their impact.
//
//   requesting node  send(): in the Writer request that records an outcome of a peer
//                    introduction (Introducing::on_peer_outcome), queues introduction.outcome
//                    {handoff, outcome, reason? (left only), at_ms} to the holding peer.
//   holding node     the handler: finds the request that peer made for that handoff (the
//                    h/<peer>/<handoff> index of HandoffHolder); refuses an unknown handoff, or
//                    one another peer asked for, 404 unknown_handoff, and one whose data never
//                    went (pending, declined, withdrawn) 409 not_delivered, committing nothing.
//                    Otherwise records the outcome once per (peer, handoff, outcome): the
//                    ledger event outcome_received {handoff, peer, outcome, reason} and, for
//                    hired and retained_6m, the attribution (HireAttribution) to the members
//                    whose referrals brought the candidate in. The same outcome again (a replay
//                    with a new message id, or a re-report) is answered recorded: false and
//                    changes nothing.
//
// No personal data crosses or is recorded: a handoff id, outcome and reason codes, a time.
//
// Database outcomes_received: peer "/" handoff "/" outcome -> {"at_ms", "received_ms"}.
//
// Threads: send() and the handler run inside Writer requests only.
#include <string>

#include "node/candidates/candidate_store.hpp"
#include "node/federation/federation.hpp"
#include "node/federation/handoff.hpp"
#include "node/federation/handoff_holder.hpp"
#include "node/introductions/introduction.hpp"
#include "node/ledger/ledger.hpp"
#include "node/members/member.hpp"
#include "node/referrals/referral.hpp"
#include "node/services/hire_attribution.hpp"
#include "node/services/statistics_feed.hpp"
#include "protocol/federation_messages.hpp"

namespace relay::node::services {

class OutcomeRelay {
 public:
  // Registers the handler of introduction.outcome with federation.
  OutcomeRelay(federation::Federation& federation, federation::HandoffHolder& holder,
               candidates::Store& candidates, ledger::Ledger& ledger, members::Registry& members,
               referrals::Referrals& referrals, StatisticsFeed* statistics = nullptr);

  // Requesting side, in the txn that recorded `outcome` of the introduction behind handoff.
  void send(storage::WriteTxn& txn, const federation::Handoff& handoff,
            const introductions::OutcomeRecord& outcome);

 private:
  federation::HandlerResult on_outcome(storage::WriteTxn& txn,
                                       const protocol::IntroductionOutcome& m,
                                       const federation::Peer& peer);

  federation::Federation& federation_;
  federation::HandoffHolder& holder_;
  candidates::Store& candidates_;
  ledger::Ledger& ledger_;
  HireAttribution attribution_;
  storage::Database received_;
  StatisticsFeed* statistics_;  // the hire and its retention, for the statistics (issue 16)
};

}  // namespace relay::node::services
