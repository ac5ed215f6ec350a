#include "node/node.hpp"

#include <spdlog/spdlog.h>

#include "crypto/bytes.hpp"
#include "crypto/key_file.hpp"
#include "node/common/secret_file.hpp"
#include "node/http/client.hpp"
#include "node/http/server.hpp"
#include "node/mail/smtp_mailer.hpp"
#include "node/setup.hpp"
#include "node/storage/txn.hpp"
#include "protocol/event.hpp"

namespace relay::node {

namespace {
config::Reference load_reference_or_throw(const std::filesystem::path& dir) {
  auto r = config::load_reference(dir);
  if (!r) throw std::runtime_error(r.error_text());
  spdlog::info("reference data from {}", dir.string());
  return std::move(r).value();
}

// Candidate mail and members' reminders retry on one policy.
common::RetryPolicy mail_retry(const config::NodeConfig& c) {
  return {c.mail.retry_initial_ms, c.mail.retry_max_ms, c.mail.give_up_after_hours};
}

// The spool (development) or the SMTP server; the password is read from its secret file.
std::unique_ptr<mail::Mailer> make_mailer(const config::NodeConfig& c) {
  if (c.mail.mailer == config::Mailer::spool)
    return std::make_unique<mail::SpoolMailer>(c.mail.spool_dir);
  const auto& m = c.mail.smtp;
  mail::SmtpSettings s;
  s.host = m.host;
  s.port = m.port;
  s.starttls = m.starttls == config::StartTls::required ? mail::StartTls::required
               : m.starttls == config::StartTls::never  ? mail::StartTls::never
                                                        : mail::StartTls::when_offered;
  s.username = m.username;
  if (m.password_file)
    s.password = common::read_secret_file(*m.password_file, "mail.smtp.password_file");
  s.helo_name = c.node.name;
  s.ca_file = m.ca_file;
  s.timeout = m.timeout_ms;
  return std::make_unique<mail::SmtpMailer>(std::move(s));
}
}  // namespace

Node::Node(config::NodeConfig config)
    : config_(std::move(config)),
      clock_(common::SystemClock::offset_from_environment()),
      reference_(load_reference_or_throw(config_.reference_dir)),
      keys_(identity::NodeKeys::load(config_.data_dir / "keys")),
      env_(storage::Environment::open(
          config_.data_dir / "lmdb",
          storage::EnvironmentOptions{.map_size_bytes = config_.storage.map_size_mb << 20})) {
  if (clock_.offset().count() != 0)
    spdlog::warn("clock shifted by {} ms (RELAY_TEST_CLOCK_OFFSET_MS): for tests only",
                 clock_.offset().count());
  finish_key_rotation();
  const auto& c = config_;
  domain_ = std::make_unique<LocalDomain>(
      env_, keys_, reference_, clock_,
      LocalDomainSettings{
          c.node.name, c.credits.referrals_per_credit,
          referrals::IntakeSettings{c.node.public_url, c.node.name, c.mail.from,
                                    c.consent.text_version, c.candidates.verification_expiry_hours,
                                    c.credits.alumni_count_toward_credits,
                                    c.limits.confirmation_mails_per_day},
          referrals::HoldRules{std::chrono::hours(24 * c.referrals.holding_days),
                               c.referrals.flag_disposable_domains, c.referrals.velocity_max,
                               std::chrono::minutes(c.referrals.velocity_window_minutes),
                               c.referrals.same_domain_max, c.referrals.similar_max,
                               std::chrono::hours(24 * c.referrals.cluster_window_days)}});
  // Candidate keys (candidates/key_slots.hpp): crash leftovers zeroed, legacy keys moved.
  auto erase_again = domain_->candidates.start_up(c.data_dir / "keys" / "data.key");
  mailer_ = make_mailer(c);
  writer_ = std::make_unique<storage::Writer>(env_);
  domain_->candidates.key_slots().install(*writer_);
  mail_dispatch_ = std::make_unique<candidates::MailDispatch>(
      env_, *writer_, domain_->candidates, *mailer_, std::chrono::seconds(1), clock_, mail_retry(c),
      c.mail.smtp.connections);

  // Federation: registers its own ping and key.rotated handlers; the other parts register theirs
  // as each is built. Peers' https:// certificates chain to the system store or federation.ca_file.
  http::set_trusted_ca_file(c.federation.ca_file);
  federation_ = std::make_unique<federation::Federation>(c, env_, *writer_, keys_, domain_->ledger);
  federation_->outbox().seal_bodies_with(domain_->candidates.key_slots());
  profiles_ = std::make_unique<federation::ProfileExchange>(*federation_, domain_->candidates);
  pool_index_ = std::make_unique<federation::PoolIndex>(*federation_, domain_->candidates,
                                                        *profiles_, c.node.name, c.node.region);
  handoffs_ = std::make_unique<federation::Handoffs>(*federation_, domain_->candidates, *profiles_,
                                                     c.candidates.handoff_expiry_s);
  handoff_holder_ = std::make_unique<federation::HandoffHolder>(
      *federation_, domain_->candidates, *profiles_,
      federation::HolderSettings{c.node.public_url, c.mail.from, c.consent.text_version});
  // Erasure reaching every recipient, and the retention limit on received data.
  erasures_ = std::make_unique<federation::Erasures>(*federation_, domain_->candidates, *handoffs_,
                                                     *handoff_holder_);
  // A message given up (rejected, or undelivered for mail.give_up_after_hours) is an alert.
  mail_dispatch_->on_given_up([this](storage::WriteTxn& txn, const std::string& reason) {
    federation_->raise_alert(txn, "mail_given_up", "", reason);
  });
  // Witnessing peers' checkpoints, and answering witnesses (registers its handlers).
  witness_ = std::make_unique<federation::Witness>(*federation_);

  // The seeds' KPIs and the federated statistics (issue 16): counts kept in the Writer request
  // of each event (StatisticsFeed), the statistics.table handler, the publishing loop.
  tally_ =
      std::make_unique<statistics::Tally>(env_, std::chrono::days(c.statistics.reemployment_days));
  statistics_feed_ =
      std::make_unique<services::StatisticsFeed>(*tally_, domain_->candidates, clock_);
  statistics_ = std::make_unique<services::Statistics>(
      env_, *writer_, *federation_, domain_->ledger, domain_->members, domain_->referrals,
      domain_->credits, *tally_, clock_,
      services::StatisticsSettings{{c.statistics.min_persons, c.statistics.min_companies},
                                   c.statistics.agency_fee_yen,
                                   c.statistics.reemployment_days});
  statistics_publish_ = std::make_unique<common::BackgroundLoop>(
      "statistics", std::chrono::minutes(c.statistics.publish_minutes),
      [this] { statistics_->publish(false); });
  domain_->intake.on_referral([this](storage::WriteTxn& txn, const referrals::Referral& r,
                                     const candidates::CandidateRecord& candidate, bool confirmed,
                                     bool new_person, const candidates::Profile* opened) {
    statistics_feed_->referral(txn, r, candidate, confirmed, new_person, opened);
  });
  // A peer's member introducing a candidate registered here counts in the funnel as a local
  // member's introduction does (when asked, before the person's answer).
  handoff_holder_->on_new_request(
      [this](storage::WriteTxn& txn, const federation::IncomingRequest& r) {
        statistics_feed_->introduced(txn, r.candidate, "peer:" + r.peer);
      });

  // Introductions (issue 14): requisitions, credits spent on introductions, local requests.
  requisitions_ =
      std::make_unique<introductions::Requisitions>(env_, domain_->ledger, reference_, clock_);
  introductions_ = std::make_unique<introductions::Introductions>(
      env_, domain_->ledger, domain_->credits, *requisitions_, clock_,
      introductions::IntroductionSettings{
          std::chrono::hours(24 * c.introductions.answer_within_days),
          std::chrono::hours(24 * c.introductions.deliver_within_days),
          std::chrono::hours(24 * 30)});
  local_requests_ = std::make_unique<introductions::LocalRequests>(env_, clock_);
  // Indexes added after a data directory was first written are built over its records once
  // (storage/index_marks.hpp), before anything is served.
  auto indexed = writer_->submit_wait([this](storage::WriteTxn& txn) {
    return handoffs_->index_existing(txn) + witness_->index_existing(txn) +
           domain_->candidates.index_existing(txn) + domain_->holds.index_existing(txn) +
           domain_->referrals.index_existing(txn) + profiles_->index_existing(txn) +
           federation_->outbox().index_existing(txn, federation::ProfileExchange::outbox_subject) +
           introductions_->index_existing(txn) + requisitions_->index_existing(txn) +
           federation_->alerts().index_existing(txn) + domain_->members.index_existing(txn);
  });
  if (indexed > 0) {
    spdlog::info("storage: indexed {} existing record(s)", indexed);
    // An upgrade's builds read indexes of every referral (and their neighbours, a fault maps
    // 16 pages): 4.5 GiB of data.mdb left mapped at 1M referrals (bench-scale), counted in
    // the RSS until the map budget, started later, released it.
    storage::release_pages_read_once(env_);
  }
  // The ledger tree's hashes in a file read with pread() (ledger/hash_file.hpp): proofs read
  // them there, not through the map the map budget keeps releasing. Committed hashes are
  // copied from LMDB every 0.2 s, 256k leaves a pass (about a second: stop() waits for one pass;
  // the first copy of 10M entries takes 40 passes, back to back).
  domain_->ledger.keep_hashes_in(env_, c.data_dir / ledger::kHashFileName);
  tree_hashes_ = std::make_unique<common::BackgroundLoop>(
      "tree hashes", std::chrono::milliseconds(200),
      [this] {
        constexpr std::uint64_t kPerPass = 1 << 18;
        if (domain_->ledger.write_hash_file(env_, kPerPass) == kPerPass) tree_hashes_->wake();
      },
      common::LoopPriority::background);
  // Referrals' listings an older node did not write, a txn per 1,024 entries, a chunk a pass
  // (so stop() waits for one chunk alone), behind requests: 30 s of writes at a million
  // referrals, which start-up no longer waits for (Referrals::write_listings).
  referral_listings_ = std::make_unique<common::BackgroundLoop>(
      "referral listings", std::chrono::minutes(10),
      [this, visited = std::size_t{0}, done = false]() mutable {
        if (done) return;  // once per data directory: no write txn every period after
        auto n = writer_->submit_wait([this](storage::WriteTxn& txn) {
          return domain_->referrals.write_listings(txn, 1024);
        });
        visited += n;
        if (n > 0) {
          referral_listings_->wake();
          return;
        }
        done = true;
        if (visited > 0) spdlog::info("storage: listed {} existing referral(s)", visited);
      },
      common::LoopPriority::background);
  // The success model (issue 16): retrained on matching.success_retrain_minutes and after every
  // outcome, on its own thread; requests read the last trained snapshot.
  success_ = std::make_unique<services::SuccessForecast>(
      env_, *introductions_, clock_, services::SuccessSettings{c.matching.success_min_outcomes});
  success_training_ = std::make_unique<common::BackgroundLoop>(
      "success model", std::chrono::minutes(c.matching.success_retrain_minutes),
      [this] {
        success_->set_priors(statistics_->peer_priors());  // peers' statistics.table cells
        success_->train();
      },
      common::LoopPriority::background);
  introducing_ = std::make_unique<services::Introducing>(
      env_, *writer_, reference_, domain_->ledger, domain_->members, domain_->candidates,
      domain_->referrals, domain_->credits, *requisitions_, *introductions_, *local_requests_,
      *profiles_, *pool_index_, *handoffs_, *success_, clock_,
      services::IntroducingSettings{c.node.name, c.node.region, c.node.public_url, c.mail.from},
      statistics_feed_.get());
  introducing_->on_outcome_recorded([this] { success_training_->wake(); });
  // Settlement (issue 15): a delivered cross-node introduction is an obligation on both
  // sides (the requester when the delivery arrives, the holder when its receipt comes back);
  // statements of them are proposed on settlement.period and countersigned by peers.
  obligations_ = std::make_unique<settlement::Obligations>(env_, domain_->ledger);
  settlements_ = std::make_unique<settlement::Settlements>(
      *federation_, *obligations_, *writer_,
      settlement::SettlementSettings{c.settlement.enabled, c.settlement.period,
                                     std::chrono::seconds(c.settlement.countersign_within_s),
                                     c.settlement.yen_per_introduction});
  nettings_ =
      std::make_unique<settlement::Nettings>(*federation_, *settlements_, c.settlement.enabled);
  settlement_sweep_ = std::make_unique<common::BackgroundLoop>(
      "settlements", std::chrono::minutes(1), [this] { settlements_->sweep(); });
  handoff_holder_->on_receipt([this](storage::WriteTxn& txn, const federation::IncomingRequest& r,
                                     const std::string& receipt_signature) {
    obligations_->record(txn, r.peer, r.handoff, false, receipt_signature);
  });
  // A peer introduction follows its handoff (delivered, declined, withdrawn, unavailable).
  handoffs_->on_state_changed([this](storage::WriteTxn& txn, const federation::Handoff& h) {
    if (h.state == federation::HandoffState::delivered)
      obligations_->record(txn, h.peer, h.id, true, h.sender_signature);
    introducing_->handoff_changed(txn, h);
  });
  // Outcomes of peer introductions go back to the holding node, which attributes the hire.
  outcome_relay_ = std::make_unique<services::OutcomeRelay>(
      *federation_, *handoff_holder_, domain_->candidates, domain_->ledger, domain_->members,
      domain_->referrals, statistics_feed_.get());
  introducing_->on_peer_outcome(
      [this](storage::WriteTxn& txn, const federation::Handoff& h,
             const introductions::OutcomeRecord& o) { outcome_relay_->send(txn, h, o); });
  introduction_sweep_ = std::make_unique<common::BackgroundLoop>(
      "introductions", std::chrono::minutes(1), [this] { introducing_->sweep(); });
  // Profile syncs a peer started and never finished are dropped (federation.sync_timeout_s),
  // and the profiles every peer has read leave the outbox's feed.
  profile_sync_sweep_ =
      std::make_unique<common::BackgroundLoop>("profile syncs", std::chrono::minutes(1), [this] {
        writer_->submit_wait([this](storage::WriteTxn& txn) {
          profiles_->expire_syncs(txn);
          federation_->compact_feed(txn);
        });
      });

  // Pending registrations whose confirmation links all expired are shredded (issue 17).
  pending_expiry_ = std::make_unique<candidates::PendingExpiry>(env_, domain_->candidates);
  pending_sweep_ = std::make_unique<common::BackgroundLoop>(
      "pending registrations", std::chrono::minutes(1), [this] {
        auto expiry = std::chrono::duration_cast<std::chrono::milliseconds>(
                          config_.candidates.verification_expiry_hours)
                          .count();
        auto ids = writer_->submit_wait([&](storage::WriteTxn& txn) {
          return pending_expiry_->shred(txn, clock_.now_ms(), expiry);
        });
        for (const auto& id : ids) mailer_->sweep(id + "-");
        if (!ids.empty())
          spdlog::info("candidates: shredded {} expired pending registration(s)", ids.size());
      });

  // Reminders of due outcomes to members' contact emails, once each (issue 14, item 5).
  outcome_reminders_ = std::make_unique<services::OutcomeReminders>(
      env_, *writer_, domain_->members, *introductions_, *mailer_, clock_,
      services::ReminderSettings{c.node.name, c.node.public_url, c.mail.from, mail_retry(c)});
  outcome_reminders_->on_given_up([this](storage::WriteTxn& txn, const std::string& reason) {
    federation_->raise_alert(txn, "reminder_given_up", "", reason);
  });
  reminder_sweep_ = std::make_unique<common::BackgroundLoop>(
      "outcome reminders", std::chrono::minutes(1), [this] { outcome_reminders_->sweep(); });

  // Referrals whose holding period ended count (or are dropped); flagged ones wait for the
  // operator's review (issue 17).
  review_ = std::make_unique<services::Review>(env_, *writer_, domain_->holds, domain_->members);
  hold_release_ = std::make_unique<common::BackgroundLoop>(
      "referral holds", std::chrono::minutes(1), [this] { review_->release_due(); });

  // The database's pages a read touched stay mapped (and in VmRSS) until released; past
  // storage.resident_map_mb, or with VmRSS past storage.resident_mb, they go back to the page
  // cache (issue 19: RSS < 200 MiB).
  if (c.storage.resident_map_mb > 0 || c.storage.resident_mb > 0) {
    map_budget_ = std::make_unique<storage::MapBudget>(env_, c.storage.resident_map_mb << 20,
                                                       c.storage.resident_mb << 20);
  }

  // Every change to a local candidate fans out the same way, wherever it starts.
  candidate_changes_ = std::make_unique<services::CandidateChanges>(
      *handoff_holder_, *profiles_, *erasures_, *introductions_, *local_requests_,
      statistics_feed_.get());
  auto changed = [this](storage::WriteTxn& txn, const candidates::CandidateRecord& record) {
    candidate_changes_->changed(txn, record);
  };
  handoff_holder_->on_late_disclosure(changed);
  domain_->intake.on_candidate_changed(changed);

  // Every durable commit wakes the loops that act on committed work, so no caller has to
  // remember to: queued candidate mail, and the federation outbox.
  writer_->on_commit([this] {
    mail_dispatch_->wake();
    federation_->notify();
  });
  // A batch's replies that waited for its commit reach the server in one post (server.hpp).
  writer_->around_resolution(http::WakeGroup::open, http::WakeGroup::close);

  // The use-case services, each with only the parts it needs.
  access_ = std::make_unique<services::Access>(
      env_, domain_->members, keys_, c.data_dir / "admin_token", c.data_dir / "auditor_token");
  credential_guard_ = std::make_unique<services::CredentialGuard>(
      clock_, services::CredentialGuard::Limits{.max_failures = c.http.credential_guesses});
  console_sessions_ = std::make_unique<console::Sessions>(
      clock_, console::Sessions::Limits{std::chrono::minutes(c.console.session_minutes),
                                        std::chrono::hours(c.console.session_max_hours)});
  candidate_rights_ = std::make_unique<services::CandidateRights>(
      env_, *writer_, domain_->candidates, domain_->ledger, domain_->members, domain_->referrals,
      *handoff_holder_, *mailer_, *candidate_changes_, *introducing_, clock_,
      services::CandidateRights::Settings{c.consent.text_version, c.node.public_url, c.mail.from});
  if (auto n = candidate_rights_->erase_again(erase_again))
    spdlog::warn("candidates: erased {} candidate(s) again from the erasure journal", n);
  auto rule = [](const config::RateRule& r) {
    return services::RateLimit::Rule{r.requests, r.per_seconds};
  };
  request_limits_ = std::make_unique<services::RequestLimits>(
      clock_, services::RequestLimits::Rules{rule(c.limits.per_ip), rule(c.limits.per_member),
                                             rule(c.limits.per_link), rule(c.limits.per_address),
                                             c.limits.tracked_keys});
  intake_ =
      std::make_unique<services::Intake>(env_, *writer_, domain_->intake, request_limits_.get());
  membership_ =
      std::make_unique<services::Membership>(env_, *writer_, domain_->members, domain_->referrals,
                                             domain_->credits, reference_, statistics_feed_.get());
  peering_ = std::make_unique<services::Peering>(env_, *writer_, *federation_, keys_);
  handoff_requests_ = std::make_unique<services::HandoffRequests>(
      env_, *writer_, *handoffs_, *pool_index_,
      services::HandoffSettings{c.node.name, c.node.region, 500}, statistics_feed_.get());
  alumni_ = std::make_unique<services::Alumni>(
      env_, *writer_, domain_->referrals, domain_->candidates,
      [this](const std::string& candidate_id) { return profiles_->ref_of(candidate_id); },
      c.node.name);
  secondment_ =
      std::make_unique<services::Secondment>(env_, domain_->members, *requisitions_, reference_);
  audit_ = std::make_unique<services::Audit>(env_, domain_->ledger, keys_, domain_->members,
                                             domain_->credits, *witness_, c.node.name);
  operations_ = std::make_unique<services::Operations>(
      env_, *writer_, domain_->ledger, *federation_, *witness_, domain_->candidates, clock_);
  services_ = std::make_unique<api::Services>(
      api::Services{*access_,
                    *credential_guard_,
                    *request_limits_,
                    *candidate_rights_,
                    *intake_,
                    *membership_,
                    *peering_,
                    *handoff_requests_,
                    *audit_,
                    *introducing_,
                    *alumni_,
                    *secondment_,
                    reference_,
                    api::NodeFacts{c.node.name,
                                   c.node.public_url,
                                   c.consent.text_version,
                                   c.node.region,
                                   {c.operator_.name, c.operator_.contact, c.operator_.privacy_url},
                                   c.tls.enabled() || c.node.public_url.starts_with("https://")},
                    *operations_,
                    *review_,
                    *console_sessions_,
                    *statistics_,
                    *settlements_,
                    *nettings_,
                    *witness_});

  record_genesis();
}

// The genesis entry names the node's region, credit ratio and keys, so an auditor can
// recompute balances from the log alone. A changed credit ratio is recorded once, so the log
// alone still explains every mint.
void Node::record_genesis() {
  auto keys = keys_.current();
  auto node_meta = env_.database("node_meta");
  auto& ledger = domain_->ledger;
  writer_->submit_wait([&](storage::WriteTxn& txn) {
    auto ratio = std::to_string(config_.credits.referrals_per_credit);
    if (ledger.size(txn) == 0) {
      ledger.append(
          txn, protocol::node_initialised(config_.node.region, config_.credits.referrals_per_credit,
                                          keys->signing.public_key, keys->encryption.public_key));
    } else if (auto recorded = txn.get(node_meta, "referrals_per_credit");
               recorded && *recorded != ratio) {
      ledger.append(txn, protocol::credit_ratio_changed(config_.credits.referrals_per_credit));
    }
    txn.put(node_meta, "referrals_per_credit", ratio);
    // Whether alumni referrals count: recorded when it differs from the rule in force (none
    // recorded: they do not count), so an auditor applies the same rule from the log alone.
    const std::string alumni = config_.credits.alumni_count_toward_credits ? "true" : "false";
    if (txn.get(node_meta, "alumni_count_toward_credits").value_or("false") != alumni)
      ledger.append(txn, protocol::alumni_credit_rule(config_.credits.alumni_count_toward_credits));
    txn.put(node_meta, "alumni_count_toward_credits", alumni);
    // The holding period, likewise (none recorded: no hold, the rule before issue 17).
    const auto hold = std::to_string(config_.referrals.holding_days);
    if (txn.get(node_meta, "referral_holding_days").value_or("0") != hold)
      ledger.append(txn, protocol::referral_hold_rule(config_.referrals.holding_days));
    txn.put(node_meta, "referral_holding_days", hold);
  });
}

// A rotation stages the new key files in keys/next before it commits. If the node stopped
// after the commit but before the files moved, finish the move; if before, drop them.
void Node::finish_key_rotation() {
  auto keys_dir = config_.data_dir / "keys";
  auto staged = keys_dir / "next" / "signing.key";
  if (!std::filesystem::exists(staged)) return;
  auto seed = crypto::read_secret_file<crypto::Ed25519Seed>(staged);
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

void Node::start_background() {
  pool_index_->start();
  mail_dispatch_->start();
  federation_->start();
  witness_->start();
  erasures_->start();
  introduction_sweep_->start();
  profile_sync_sweep_->start();
  reminder_sweep_->start();
  pending_sweep_->start();
  hold_release_->start();
  hold_release_->wake();  // holds that ended while the node was stopped end now
  referral_listings_->start();
  referral_listings_->wake();
  tree_hashes_->start();
  tree_hashes_->wake();
  if (map_budget_) map_budget_->start();
  success_training_->start();
  success_training_->wake();  // trained from what is on disk before the first period ends
  statistics_publish_->start();
  settlement_sweep_->start();
}

void Node::stop_background() {
  if (pool_index_) pool_index_->stop();  // first: its start-up build is the longest pass
  if (tree_hashes_) tree_hashes_->stop();
  if (settlement_sweep_) settlement_sweep_->stop();
  if (statistics_publish_) statistics_publish_->stop();
  if (success_training_) success_training_->stop();
  if (hold_release_) hold_release_->stop();
  if (referral_listings_) referral_listings_->stop();
  if (pending_sweep_) pending_sweep_->stop();
  if (reminder_sweep_) reminder_sweep_->stop();
  if (profile_sync_sweep_) profile_sync_sweep_->stop();
  if (introduction_sweep_) introduction_sweep_->stop();
  if (erasures_) erasures_->stop();
  if (witness_) witness_->stop();
  if (federation_) federation_->stop();
  if (mail_dispatch_) mail_dispatch_->stop();
}

}  // namespace relay::node
