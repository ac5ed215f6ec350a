#pragma once
// A node's parts, wired together: configuration, reference data, the LMDB environment and
// its single Writer, keys, ledger and the domain services. Built once by `serve` (and by the
// CLI commands that change the store); handlers and background threads borrow it.
#include <filesystem>
#include <memory>
#include <string>

#include "config/node_config.hpp"
#include "config/reference.hpp"
#include "node/common/clock.hpp"
#include "node/candidates/candidate_store.hpp"
#include "node/candidates/mail_dispatch.hpp"
#include "node/federation/erasure.hpp"
#include "node/federation/federation.hpp"
#include "node/federation/handoff.hpp"
#include "node/federation/handoff_holder.hpp"
#include "node/federation/profile_exchange.hpp"
#include "node/federation/witness.hpp"
#include "node/identity/key_ring.hpp"
#include "node/ledger/ledger.hpp"
#include "node/mail/mailer.hpp"
#include "node/members/member.hpp"
#include "node/referrals/credit_account.hpp"
#include "node/referrals/intake.hpp"
#include "node/referrals/referral.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/writer.hpp"

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
  const config::Reference& reference() const { return reference_; }
  const std::filesystem::path& data_dir() const { return config_.data_dir; }
  const common::Clock& clock() const { return clock_; }

  storage::Environment& env() { return env_; }
  storage::Writer& writer() { return *writer_; }
  identity::KeyRing& keys() { return keys_; }
  ledger::Ledger& ledger() { return *ledger_; }
  members::Registry& members() { return *members_; }
  candidates::Store& candidates() { return *candidates_; }
  referrals::Referrals& referrals() { return *referrals_; }
  referrals::CreditAccounts& credits() { return *credits_; }
  referrals::Intake& intake() { return *intake_; }
  mail::Mailer& mailer() { return *mailer_; }
  candidates::MailDispatch& mail_dispatch() { return *mail_dispatch_; }
  federation::Federation& federation() { return *federation_; }
  federation::ProfileExchange& profiles() { return *profiles_; }
  federation::Handoffs& handoffs() { return *handoffs_; }
  federation::HandoffHolder& handoff_holder() { return *handoff_holder_; }
  federation::Erasures& erasures() { return *erasures_; }
  federation::Witness& witness() { return *witness_; }

  // To be called in the txn of every change to a local candidate (confirmed, consent
  // changed, withdrawn, erased): circulates or withdraws its profile and stops pending
  // handoffs it no longer consents to, in that same txn. Call federation().notify() after.
  void candidate_changed(storage::WriteTxn& txn, const candidates::CandidateRecord& record);

  // Every member's credit account as the API shows it ({member id: account}): what an
  // auditor compares with balances recomputed from the ledger.
  nlohmann::json balances(const storage::Txn& txn);

  // Bearer-token checks (constant time on digests).
  bool is_admin(std::string_view token) const;
  bool is_auditor(std::string_view token) const;

  // Starts and stops background threads (mail dispatch, federation delivery, witnessing).
  void start_background();
  void stop_background();

 private:
  void finish_key_rotation();

  config::NodeConfig config_;
  common::SystemClock clock_;
  config::Reference reference_;
  identity::KeyRing keys_;
  storage::Environment env_;
  std::unique_ptr<storage::Writer> writer_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<members::Registry> members_;
  std::unique_ptr<candidates::Store> candidates_;
  std::unique_ptr<referrals::Referrals> referrals_;
  std::unique_ptr<referrals::CreditAccounts> credits_;
  std::unique_ptr<referrals::Intake> intake_;
  std::unique_ptr<mail::Mailer> mailer_;
  std::unique_ptr<candidates::MailDispatch> mail_dispatch_;
  std::unique_ptr<federation::Federation> federation_;
  std::unique_ptr<federation::ProfileExchange> profiles_;
  std::unique_ptr<federation::Handoffs> handoffs_;
  std::unique_ptr<federation::HandoffHolder> handoff_holder_;
  std::unique_ptr<federation::Erasures> erasures_;
  std::unique_ptr<federation::Witness> witness_;
  std::string admin_digest_;
  std::string auditor_digest_;
};

}  // namespace relay::node
