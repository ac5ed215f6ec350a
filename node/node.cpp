#include "node/node.hpp"

#include <spdlog/spdlog.h>

#include "crypto/bytes.hpp"
#include "crypto/key_file.hpp"
#include "crypto/secret.hpp"
#include "node/setup.hpp"
#include "node/storage/txn.hpp"

namespace relay::node {

namespace {
config::Reference load_reference_or_throw(const std::filesystem::path& dir) {
  auto r = config::load_reference(dir);
  if (!r) throw std::runtime_error(r.error_text());
  return std::move(r).value();
}
}  // namespace

Node::Node(config::NodeConfig config)
    : config_(std::move(config)),
      reference_(load_reference_or_throw(config_.reference_dir)),
      keys_(identity::NodeKeys::load(config_.data_dir / "keys")),
      env_(storage::Environment::open(config_.data_dir / "lmdb",
                                      storage::EnvironmentOptions{
                                          .map_size_bytes = config_.storage.map_size_mb << 20})) {
  finish_key_rotation();
  ledger_ = std::make_unique<ledger::Ledger>(env_, config_.node.name, keys_, clock_);
  members_ = std::make_unique<members::Registry>(env_, *ledger_, keys_);
  candidates_ = std::make_unique<candidates::Store>(env_, keys_, clock_);
  referrals_ = std::make_unique<referrals::Referrals>(env_, keys_, clock_);
  credits_ = std::make_unique<referrals::CreditAccounts>(env_, *ledger_, config_.credits.referrals_per_credit);
  intake_ = std::make_unique<referrals::Intake>(
      *members_, *candidates_, *referrals_, *credits_, reference_,
      referrals::IntakeSettings{config_.node.public_url, config_.node.name, config_.mail.from,
                                config_.consent.text_version, config_.candidates.verification_expiry_hours},
      clock_);
  mailer_ = std::make_unique<mail::SpoolMailer>(config_.mail.spool_dir);
  writer_ = std::make_unique<storage::Writer>(env_);
  mail_dispatch_ = std::make_unique<candidates::MailDispatch>(env_, *writer_, *candidates_, *mailer_);
  // Federation registers its own ping and key.rotated handlers.
  federation_ = std::make_unique<federation::Federation>(config_, env_, *writer_, keys_, *ledger_);
  // Profile exchange and handoffs (their handlers and the peer-activated hook register here).
  profiles_ = std::make_unique<federation::ProfileExchange>(*federation_, *candidates_);
  handoffs_ = std::make_unique<federation::Handoffs>(*federation_, *candidates_, *profiles_,
                                                     config_.candidates.handoff_expiry_s);
  handoff_holder_ = std::make_unique<federation::HandoffHolder>(
      *federation_, *candidates_, *profiles_,
      federation::HolderSettings{config_.node.public_url, config_.mail.from, config_.consent.text_version});
  // Erasure reaching every recipient, and the retention limit on received data.
  erasures_ = std::make_unique<federation::Erasures>(*federation_, *candidates_, *handoffs_);
  handoff_holder_->on_late_disclosure([this](storage::WriteTxn& txn, const candidates::CandidateRecord& record) {
    candidate_changed(txn, record);
  });
  // Witnessing peers' checkpoints, and answering witnesses (registers its handlers).
  witness_ = std::make_unique<federation::Witness>(*federation_);
  intake_->on_candidate_changed(
      [this](storage::WriteTxn& txn, const candidates::CandidateRecord& record) { candidate_changed(txn, record); });

  auto keys = keys_.current();
  admin_digest_ = identity::token_digest(keys->token_key, read_token_file(config_.data_dir / "admin_token"));
  auditor_digest_ =
      identity::token_digest(keys->token_key, read_token_file(config_.data_dir / "auditor_token"));

  // The genesis entry names the node's region, credit ratio and keys, so an auditor can
  // recompute balances from the log alone.
  // A changed credit ratio is recorded once, so the log alone still explains every mint.
  auto node_meta = env_.database("node_meta");
  writer_->submit_wait([&](storage::WriteTxn& txn) {
    auto ratio = std::to_string(config_.credits.referrals_per_credit);
    if (ledger_->size(txn) == 0) {
      ledger_->append(txn, protocol::node_initialised(config_.node.region, config_.credits.referrals_per_credit,
                                                      keys->signing.public_key, keys->encryption.public_key));
    } else if (auto recorded = txn.get(node_meta, "referrals_per_credit"); recorded && *recorded != ratio) {
      ledger_->append(txn, protocol::credit_ratio_changed(config_.credits.referrals_per_credit));
    }
    txn.put(node_meta, "referrals_per_credit", ratio);
  });
}

// A rotation stages the new key files in keys/next before it commits. If the node stopped
// after the commit but before the files moved, finish the move; if before, drop them.
void Node::finish_key_rotation() {
  auto keys_dir = config_.data_dir / "keys";
  auto staged = keys_dir / "next" / "signing.key";
  if (!std::filesystem::exists(staged)) return;
  auto seed = crypto::read_secret_file<32>(staged);
  auto staged_key = crypto::to_base64(crypto::Ed25519KeyPair::from_seed(seed).public_key.bytes);
  auto meta = env_.database("federation_meta");
  std::optional<std::string> rotation;
  {
    auto txn = env_.begin_read();
    rotation = txn.get(meta, "rotation");
  }
  if (rotation && nlohmann::json::parse(*rotation).value("new_key", "") == staged_key) {
    identity::complete_staged_rotation(keys_dir);
    keys_.replace(identity::NodeKeys::load(keys_dir));
    spdlog::warn("completed a key rotation interrupted before its key files were moved");
  } else {
    std::filesystem::remove_all(keys_dir / "next");
  }
}

Node::~Node() {
  stop_background();
  if (writer_) writer_->stop();
}

void Node::candidate_changed(storage::WriteTxn& txn, const candidates::CandidateRecord& record) {
  handoff_holder_->candidate_changed(txn, record);
  profiles_->candidate_changed(txn, record);
  if (record.status == candidates::Status::erased) {
    auto tombstone = record;
    erasures_->candidate_erased(txn, tombstone);
  }
}

nlohmann::json Node::balances(const storage::Txn& txn) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& m : members_->list(txn)) out[m.id] = credits_->account(txn, m.id).to_json();
  return out;
}

bool Node::is_admin(std::string_view token) const {
  auto d = identity::token_digest(keys_.current()->token_key, token);
  return d.size() == admin_digest_.size() && crypto::constant_time_equal(d.data(), admin_digest_.data(), d.size());
}

bool Node::is_auditor(std::string_view token) const {
  auto d = identity::token_digest(keys_.current()->token_key, token);
  return d.size() == auditor_digest_.size() &&
         crypto::constant_time_equal(d.data(), auditor_digest_.data(), d.size());
}

void Node::start_background() {
  mail_dispatch_->start();
  federation_->start();
  witness_->start();
  erasures_->start();
}

void Node::stop_background() {
  if (erasures_) erasures_->stop();
  if (witness_) witness_->stop();
  if (federation_) federation_->stop();
  if (mail_dispatch_) mail_dispatch_->stop();
}

}  // namespace relay::node
