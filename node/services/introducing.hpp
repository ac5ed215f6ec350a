#pragma once
// Introducing: the use cases of issue 14 that close the scheme's loop. A member opens
// requisitions (or secondment offers), sees the candidates it may ask for ranked with the
// reasons of every score, and spends one credit per introduction; the candidate decides with
// those reasons in front of them; the member reports outcomes and retention; the operator
// grants credits. Each method owns its transaction (one read txn or one Writer request) and
// returns a typed outcome; nothing here knows HTTP.
//
// Local introductions (the candidate registered here): the spend, the introduction, the
// candidate's request (introductions/local_request.hpp) and the mail to the candidate commit
// in one Writer request. Peer introductions go through the handoff path
// (federation/handoff.hpp): the spend, the introduction and the handoff request commit
// together, and the handoff's later states (delivered, declined, withdrawn, unavailable) move
// the introduction (introduction_handoffs maps one to the other), refunding where the
// candidate said no or the peer could not deliver.
//
// Invariant: a member only sees its own requisitions and introductions (another member's
// answer not_found). Threads: any; the Writer serialises writes.
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/reference.hpp"
#include "node/candidates/candidate_store.hpp"
#include "node/common/clock.hpp"
#include "node/common/result.hpp"
#include "node/federation/handoff.hpp"
#include "node/federation/pool_index.hpp"
#include "node/federation/profile_exchange.hpp"
#include "node/introductions/introduction.hpp"
#include "node/introductions/local_request.hpp"
#include "node/introductions/requisition.hpp"
#include "node/ledger/ledger.hpp"
#include "node/matching/scorer.hpp"
#include "node/members/member.hpp"
#include "node/referrals/credit_account.hpp"
#include "node/referrals/referral.hpp"
#include "node/services/hire_attribution.hpp"
#include "node/services/statistics_feed.hpp"
#include "node/services/success_forecast.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::services {

struct IntroducingSettings {
  std::string self_name;    // this node's name: the "node" of local candidates
  std::string self_region;  // its prefecture code
  std::string public_url;   // for the management link mailed to the candidate
  std::string mail_from;
};

// Why an introduction request failed (the API's error table maps each).
enum class IntroduceError {
  requisition_not_found,  // 404
  requisition_closed,     // 409
  no_credit,              // 402
  not_in_pool,            // 404: no such circulating candidate at that node
  not_a_peer,             // 404
  already_introduced,     // 409: this member already has a live introduction to them
};

enum class GrantError { member_not_found, invalid };

// One ranked match as the member sees it.
struct MatchView {
  std::string node;
  std::string region;
  std::string ref;
  nlohmann::json profile;  // the anonymised profile (no name, no contact)
  matching::Match match;
  // The success model's estimate with its drivers, only when the model is trained.
  std::optional<matching::Prediction> success;
  nlohmann::json to_json() const;
};

enum class AnswerResult { accepted, declined, not_found, not_pending, not_circulating };

class Introducing {
 public:
  Introducing(storage::Environment& env, storage::Writer& writer,
              const config::Reference& reference, ledger::Ledger& ledger,
              members::Registry& members, candidates::Store& candidates,
              referrals::Referrals& referrals, referrals::CreditAccounts& credits,
              introductions::Requisitions& requisitions,
              introductions::Introductions& introductions,
              introductions::LocalRequests& local_requests, federation::ProfileExchange& exchange,
              federation::PoolIndex& pool, federation::Handoffs& handoffs, SuccessForecast& success,
              const common::Clock& clock, IntroducingSettings settings,
              StatisticsFeed* statistics = nullptr);

  // --- requisitions (member) ---
  common::Result<introductions::Requisition, introductions::RequisitionError> open_requisition(
      const members::Member& member, const introductions::RequisitionInput& input);
  common::Result<introductions::Requisition, introductions::RequisitionError> update_requisition(
      const members::Member& member, const std::string& id,
      const introductions::RequisitionInput& input);
  common::Result<introductions::Requisition, introductions::RequisitionError> close_requisition(
      const members::Member& member, const std::string& id);
  // The member's requisitions in the order opened (newest_first: last opened first): the first
  // `limit` after `after` ("" from the first); nullopt if `after` is not one of the member's.
  std::optional<introductions::RequisitionPage> requisitions(const members::Member& member,
                                                             std::size_t limit,
                                                             const std::string& after,
                                                             bool newest_first = false) const;
  std::optional<introductions::Requisition> requisition(const members::Member& member,
                                                        const std::string& id) const;
  // The candidates the member may ask for (this node's, consented to circulate in the region,
  // and the profiles peers circulate), ranked for the requisition, best first, with reasons.
  // When the success model is trained each match carries its estimate, and among matches of
  // equal score the likelier success comes first (a tie-breaker only: the score still ranks).
  common::Result<std::vector<MatchView>, introductions::RequisitionError> matches(
      const members::Member& member, const std::string& requisition_id, std::size_t limit) const;

  // --- introductions (member) ---
  // Spends a credit on an introduction without waiting for the commit: checks what it can in a
  // read txn, queues the Writer request and returns what gives its outcome; `ready` is called
  // once that will not block (after the commit, or at once when refused before queueing). So
  // introductions in flight share group commits instead of one per HTTP thread (http::Later).
  std::function<common::Result<introductions::Introduction, IntroduceError>()> begin_introduce(
      const members::Member& member, const std::string& requisition_id, const std::string& node,
      const std::string& ref, std::function<void()> ready);
  // The member's introductions in the order asked (newest_first: last asked first): the first
  // `limit` after `after` ("" from the first); nullopt if `after` is not one of the member's.
  std::optional<introductions::IntroductionPage> introductions(const members::Member& member,
                                                               std::size_t limit,
                                                               const std::string& after,
                                                               bool newest_first = false) const;
  // The member's introduction with, once delivered, the candidate's personal data.
  std::optional<nlohmann::json> introduction(const members::Member& member,
                                             const std::string& id) const;
  common::Result<introductions::Introduction, introductions::IntroductionError> report_outcome(
      const members::Member& member, const std::string& id, introductions::Outcome outcome,
      const std::string& reason);
  std::vector<introductions::DueItem> due(const members::Member& member) const;
  Impact impact(const members::Member& member) const;

  // --- operator ---
  common::Result<referrals::Account, GrantError> grant(const std::string& member_id,
                                                       std::uint32_t credits,
                                                       const std::string& reason);

  // --- the candidate (capability link; candidate_id already resolved from it) ---
  // Every local introduction request about the candidate, oldest first.
  std::vector<introductions::LocalRequest> requests_for(const storage::Txn& txn,
                                                        const std::string& candidate_id) const;
  AnswerResult answer(const std::string& candidate_id, const std::string& introduction_id,
                      bool accept);
  // "I found work": a re-employment self-report (optionally through a member of this node).
  bool report_found_work(const std::string& candidate_id, const std::string& through_member);

  // In the txn of every change of a handoff's state: moves the introduction behind it.
  void handoff_changed(storage::WriteTxn& txn, const federation::Handoff& handoff);
  // Expires unanswered and undelivered introductions (refunding them); returns how many.
  std::size_t sweep();
  // Called in the Writer request of every outcome recorded for a peer introduction, with the
  // handoff it went through and the outcome just recorded: the composition root sends it to
  // the holding node (OutcomeRelay::send), so the hire is attributed where the candidate was
  // referred.
  using PeerOutcomeHook = std::function<void(storage::WriteTxn&, const federation::Handoff&,
                                             const introductions::OutcomeRecord&)>;
  void on_peer_outcome(PeerOutcomeHook hook) { peer_outcome_ = std::move(hook); }
  // Called after an outcome is committed (the composition root wakes the success model's
  // retraining, so it learns from the outcome without the member's request waiting for it).
  void on_outcome_recorded(std::function<void()> hook) { outcome_recorded_ = std::move(hook); }

 private:
  void attribute_hire(storage::WriteTxn& txn, const introductions::Introduction& intro,
                      introductions::Outcome outcome);
  std::optional<std::string> candidate_of(const storage::Txn& txn,
                                          const introductions::Introduction& i) const;
  // The success model's facts of the pair about to be introduced (kept with the introduction).
  // `local`: the profile of the local candidate behind ref, as the caller opened it; null for
  // a peer's candidate (read from what the peer circulated).
  std::optional<matching::PairFacts> pair_facts(const storage::Txn& txn,
                                                const members::Member& member,
                                                const introductions::Requisition& requisition,
                                                const std::string& node, const std::string& ref,
                                                const candidates::Profile* local) const;

  storage::Environment& env_;
  storage::Writer& writer_;
  const config::Reference& reference_;
  ledger::Ledger& ledger_;
  members::Registry& members_;
  candidates::Store& candidates_;
  referrals::Referrals& referrals_;
  referrals::CreditAccounts& credits_;
  introductions::Requisitions& requisitions_;
  introductions::Introductions& introductions_;
  introductions::LocalRequests& local_requests_;
  federation::ProfileExchange& exchange_;
  federation::PoolIndex& pool_;
  federation::Handoffs& handoffs_;
  SuccessForecast& success_;
  const common::Clock& clock_;
  IntroducingSettings settings_;
  matching::Scorer scorer_;
  storage::Database
      links_;  // introduction_handoffs: "h/<handoff>" -> intro, "i/<intro>" -> handoff
  HireAttribution attribution_;  // member_impact, shared with OutcomeRelay
  PeerOutcomeHook peer_outcome_;
  std::function<void()> outcome_recorded_;
  StatisticsFeed* statistics_;  // introductions, hires, retention, self-reports (issue 16)
};

}  // namespace relay::node::services
