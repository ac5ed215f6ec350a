#pragma once
// The composition root: builds a node's parts from its configuration (reference data, the
// LMDB environment and its single Writer, keys, the local domain, federation, mail) and the
// use-case services over them; installs the Writer's commit hook that wakes the mail dispatch
// and the federation sender; starts and stops the background loops. Used only by main.cpp's
// commands (commands.cpp): handlers get the services (services()), never the Node, and each
// service gets only the parts it needs.
//
// Threads: constructed and destroyed on one thread; services() may then be used from any.
#include <filesystem>
#include <memory>

#include "config/node_config.hpp"
#include "config/reference.hpp"
#include "node/api/common.hpp"
#include "node/candidates/mail_dispatch.hpp"
#include "node/candidates/pending_expiry.hpp"
#include "node/common/background_loop.hpp"
#include "node/common/clock.hpp"
#include "node/console/sessions.hpp"
#include "node/federation/erasure.hpp"
#include "node/federation/federation.hpp"
#include "node/federation/handoff.hpp"
#include "node/federation/handoff_holder.hpp"
#include "node/federation/profile_exchange.hpp"
#include "node/federation/witness.hpp"
#include "node/identity/key_ring.hpp"
#include "node/mail/mailer.hpp"
#include "node/services/access.hpp"
#include "node/services/alumni.hpp"
#include "node/services/audit.hpp"
#include "node/services/candidate_changes.hpp"
#include "node/services/candidate_rights.hpp"
#include "node/services/credential_guard.hpp"
#include "node/services/handoff_requests.hpp"
#include "node/services/intake.hpp"
#include "node/services/introducing.hpp"
#include "node/services/membership.hpp"
#include "node/services/operations.hpp"
#include "node/services/outcome_relay.hpp"
#include "node/services/outcome_reminders.hpp"
#include "node/services/peering.hpp"
#include "node/services/request_limits.hpp"
#include "node/services/review.hpp"
#include "node/services/secondment.hpp"
#include "node/services/statistics.hpp"
#include "node/services/statistics_feed.hpp"
#include "node/services/success_forecast.hpp"
#include "node/settlement/netting.hpp"
#include "node/settlement/obligations.hpp"
#include "node/settlement/settlements.hpp"
#include "node/statistics/tally.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/map_budget.hpp"
#include "node/storage/writer.hpp"
#include "node/wiring.hpp"

namespace relay::node {

class Node {
 public:
  // Opens the node described by config: loads reference data and keys, opens LMDB (clearing
  // stale readers), opens every database, and writes the genesis ledger entry if the ledger
  // is empty. Throws std::runtime_error naming what is wrong.
  explicit Node(config::NodeConfig config);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const config::NodeConfig& config() const { return config_; }
  // The use-case services, for the HTTP API (api::build_router) and the CLI commands.
  const api::Services& services() const { return *services_; }

  // Starts and stops the background loops (mail dispatch, federation delivery, witnessing,
  // erasure sweeps).
  void start_background();
  void stop_background();

 private:
  void finish_key_rotation();
  void record_genesis();

  config::NodeConfig config_;
  common::SystemClock clock_;
  config::Reference reference_;
  identity::KeyRing keys_;
  storage::Environment env_;
  std::unique_ptr<storage::Writer> writer_;
  // Before everything that reads: destroyed (stopped) after them, so the pool index's build,
  // which may run on while the node stops, stays within the budget too.
  std::unique_ptr<storage::MapBudget> map_budget_;
  std::unique_ptr<LocalDomain> domain_;
  std::unique_ptr<mail::Mailer> mailer_;
  std::unique_ptr<candidates::MailDispatch> mail_dispatch_;
  std::unique_ptr<federation::Federation> federation_;
  std::unique_ptr<federation::ProfileExchange> profiles_;
  std::unique_ptr<federation::PoolIndex> pool_index_;
  std::unique_ptr<federation::Handoffs> handoffs_;
  std::unique_ptr<federation::HandoffHolder> handoff_holder_;
  std::unique_ptr<federation::Erasures> erasures_;
  std::unique_ptr<federation::Witness> witness_;
  std::unique_ptr<services::Operations> operations_;
  std::unique_ptr<statistics::Tally> tally_;
  std::unique_ptr<services::StatisticsFeed> statistics_feed_;
  std::unique_ptr<services::Statistics> statistics_;
  std::unique_ptr<common::BackgroundLoop> statistics_publish_;
  std::unique_ptr<introductions::Requisitions> requisitions_;
  std::unique_ptr<introductions::Introductions> introductions_;
  std::unique_ptr<introductions::LocalRequests> local_requests_;
  std::unique_ptr<services::SuccessForecast> success_;
  std::unique_ptr<common::BackgroundLoop> success_training_;
  std::unique_ptr<services::Introducing> introducing_;
  std::unique_ptr<services::OutcomeRelay> outcome_relay_;
  std::unique_ptr<settlement::Obligations> obligations_;
  std::unique_ptr<settlement::Settlements> settlements_;
  std::unique_ptr<settlement::Nettings> nettings_;
  std::unique_ptr<common::BackgroundLoop> settlement_sweep_;
  std::unique_ptr<common::BackgroundLoop> introduction_sweep_;
  std::unique_ptr<common::BackgroundLoop> profile_sync_sweep_;
  std::unique_ptr<services::OutcomeReminders> outcome_reminders_;
  std::unique_ptr<common::BackgroundLoop> reminder_sweep_;
  std::unique_ptr<candidates::PendingExpiry> pending_expiry_;
  std::unique_ptr<common::BackgroundLoop> pending_sweep_;
  std::unique_ptr<services::Review> review_;
  std::unique_ptr<common::BackgroundLoop> hold_release_;
  std::unique_ptr<common::BackgroundLoop> referral_listings_;  // Referrals::write_listings
  std::unique_ptr<common::BackgroundLoop> tree_hashes_;        // Ledger::write_hash_file
  std::unique_ptr<services::CandidateChanges> candidate_changes_;
  std::unique_ptr<services::Access> access_;
  std::unique_ptr<services::CredentialGuard> credential_guard_;
  std::unique_ptr<services::RequestLimits> request_limits_;
  std::unique_ptr<console::Sessions> console_sessions_;
  std::unique_ptr<services::CandidateRights> candidate_rights_;
  std::unique_ptr<services::Intake> intake_;
  std::unique_ptr<services::Membership> membership_;
  std::unique_ptr<services::Peering> peering_;
  std::unique_ptr<services::HandoffRequests> handoff_requests_;
  std::unique_ptr<services::Alumni> alumni_;
  std::unique_ptr<services::Secondment> secondment_;
  std::unique_ptr<services::Audit> audit_;
  std::unique_ptr<api::Services> services_;
};

}  // namespace relay::node
