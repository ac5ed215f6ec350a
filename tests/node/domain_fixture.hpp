#pragma once
// The node's local domain wired as node/node.cpp wires it (node/wiring.hpp), on a real LMDB
// environment in a temporary directory, with freshly generated keys: for tests of members,
// referrals, credits and candidates without HTTP. Header-only; used by tests/node/*_test.cpp.
#include <filesystem>
#include <string>
#include <system_error>

#include "config/node_config.hpp"
#include "config/reference.hpp"
#include "node/candidates/candidate_store.hpp"
#include "node/common/clock.hpp"
#include "node/identity/key_ring.hpp"
#include "node/ledger/ledger.hpp"
#include "node/members/member.hpp"
#include "node/referrals/credit_account.hpp"
#include "node/referrals/intake.hpp"
#include "node/referrals/referral.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/writer.hpp"
#include "node/wiring.hpp"
#include "support/temp_dir.hpp"
#include "support/vectors.hpp"

namespace relay::test {

inline config::Reference load_test_reference() {
  auto loaded = config::load_reference(config::default_reference_dir());
  if (!loaded) throw std::runtime_error(loaded.error_text());
  return std::move(loaded).value();
}

// The local domain wired as the node wires it (node/wiring.hpp). Members are destroyed in
// reverse order: the Writer stops before the Environment closes, and the directory goes last.
struct Domain {
  // alumni_count_toward_credits: credits.alumni_count_toward_credits (the node also records
  // it in the ledger as alumni_credit_rule; a test that sets it appends that entry itself).
  // holds: the holding period and farming checks (default none: a referral counts at once).
  explicit Domain(std::uint32_t referrals_per_credit = 10, bool alumni_count_toward_credits = false,
                  node::referrals::HoldRules holds = {})
      : local(env, keys, reference, clock,
              node::LocalDomainSettings{
                  "unit.relaynode", referrals_per_credit,
                  node::referrals::IntakeSettings{
                      "http://127.0.0.1:9", "unit.relaynode", "relay@unit.relaynode", "2026-11-01",
                      std::chrono::hours(72), alumni_count_toward_credits},
                  holds}) {
    // As the node does (node.cpp): new keys synced before each commit, released ones zeroed
    // after it.
    local.candidates.key_slots().install(writer);
  }

  TempDir dir{"domain"};
  config::Reference reference = load_test_reference();
  node::identity::KeyRing keys{node::identity::NodeKeys::generate()};
  node::storage::Environment env = node::storage::Environment::open(dir.path / "lmdb");
  node::common::ManualClock clock;
  node::LocalDomain local;
  node::ledger::Ledger& ledger = local.ledger;
  node::members::Registry& members = local.members;
  node::candidates::Store& candidates = local.candidates;
  node::referrals::Referrals& referrals = local.referrals;
  node::referrals::CreditAccounts& credits = local.credits;
  node::referrals::Intake& intake = local.intake;
  node::referrals::Holds& holds = local.holds;
  node::storage::Writer writer{env};

  // Runs fn(WriteTxn&) through the Writer and returns its result once durable.
  template <class F>
  auto write(F fn) {
    return writer.submit_wait(std::move(fn));
  }

  std::uint64_t ledger_size() {
    auto txn = env.begin_read();
    return ledger.size(txn);
  }

  // Admits a member and returns it with its API key; the test fails loudly if it cannot.
  node::members::Admitted admit(const std::string& name) {
    auto result = write([&](node::storage::WriteTxn& txn) { return members.admit(txn, name); });
    if (!result) throw std::runtime_error("admit failed: " + name);
    return std::move(result).value();
  }
};

}  // namespace relay::test
