#include "node/services/outcome_relay.hpp"

#include "protocol/event.hpp"

namespace relay::node::services {

using introductions::Outcome;

OutcomeRelay::OutcomeRelay(federation::Federation& federation, federation::HandoffHolder& holder,
                           candidates::Store& candidates, ledger::Ledger& ledger,
                           members::Registry& members, referrals::Referrals& referrals,
                           StatisticsFeed* statistics)
    : federation_(federation),
      holder_(holder),
      candidates_(candidates),
      ledger_(ledger),
      attribution_(federation.env(), ledger, members, referrals),
      received_(federation.env().database("outcomes_received")),
      statistics_(statistics) {
  federation_.on<protocol::IntroductionOutcome>(
      [this](storage::WriteTxn& txn, const protocol::IntroductionOutcome& m,
             const protocol::Envelope&,
             const federation::Peer& p) { return on_outcome(txn, m, p); });
}

void OutcomeRelay::send(storage::WriteTxn& txn, const federation::Handoff& handoff,
                        const introductions::OutcomeRecord& outcome) {
  // The reason goes only with "left" (the message's rule); a not_hired reason stays here.
  const bool left = outcome.outcome == Outcome::left;
  federation_.enqueue(txn, handoff.peer,
                      protocol::IntroductionOutcome{
                          handoff.id, std::string(introductions::to_string(outcome.outcome)),
                          left ? outcome.reason : std::string(), outcome.at_ms});
}

federation::HandlerResult OutcomeRelay::on_outcome(storage::WriteTxn& txn,
                                                   const protocol::IntroductionOutcome& m,
                                                   const federation::Peer& peer) {
  using federation::HandlerResult;
  // Looked up under the sender's own name: a peer cannot report on another peer's handoff.
  auto request = holder_.find_by_handoff(txn, peer.name, m.handoff);
  if (!request) return HandlerResult::refuse(404, "unknown_handoff", "no such handoff from you");
  // Accepted: the delivery is queued or on the wire (its receipt may still be on the way).
  using federation::RequestState;
  if (request->state != RequestState::accepted && request->state != RequestState::delivered)
    return HandlerResult::refuse(409, "not_delivered", "the candidate's data was not delivered");
  if (!m.reason.empty() && !introductions::is_outcome_reason(m.reason))
    return HandlerResult::refuse(400, "bad_body", "reason: a coarse reason code");
  const nlohmann::json reply{{"handoff", m.handoff}, {"outcome", m.outcome}};
  const auto key = peer.name + "/" + m.handoff + "/" + m.outcome;
  if (txn.get(received_, key)) {
    auto again = reply;
    again["recorded"] = false;
    return HandlerResult::accept(again);
  }
  txn.put(received_, key,
          nlohmann::json{{"at_ms", m.at_ms}, {"received_ms", ledger_.clock().now_ms()}}.dump());
  ledger_.append(txn, protocol::outcome_received(m.handoff, peer.name, m.outcome, m.reason));
  const auto outcome = introductions::parse_outcome(m.outcome);  // parse() checked the name
  if (outcome == Outcome::hired || outcome == Outcome::retained_6m)
    if (auto record = candidates_.find(txn, request->candidate)) {
      attribution_.attribute(txn, {record->pseudonym, m.handoff, peer.name + "/" + m.handoff, "",
                                   outcome == Outcome::retained_6m});
      if (statistics_ && outcome == Outcome::retained_6m)
        statistics_->retained(txn, record->id, "peer:" + peer.name);
      else if (statistics_)
        statistics_->hired(txn, record->id, "peer:" + peer.name);
    }
  auto recorded = reply;
  recorded["recorded"] = true;
  return HandlerResult::accept(recorded);
}

}  // namespace relay::node::services
