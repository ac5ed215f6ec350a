#pragma once
// The local domain of a node, wired once: ledger, members, candidates, referrals, credit
// accounts, referral holds and the referral intake over one LMDB environment and key ring. The
// composition root (node.hpp) builds a node around it; tests (tests/node/domain_fixture.hpp) build
// the same wiring without federation or HTTP, so the two cannot drift apart.
//
// Invariant: members are declared in dependency order (each refers only to those above it).
// Threads: as each part says; the wiring itself is done once, on one thread.
#include <cstdint>
#include <string>

#include "config/reference.hpp"
#include "node/candidates/candidate_store.hpp"
#include "node/common/clock.hpp"
#include "node/identity/key_ring.hpp"
#include "node/ledger/ledger.hpp"
#include "node/members/member.hpp"
#include "node/referrals/credit_account.hpp"
#include "node/referrals/hold.hpp"
#include "node/referrals/intake.hpp"
#include "node/referrals/referral.hpp"
#include "node/storage/environment.hpp"

namespace relay::node {

struct LocalDomainSettings {
  std::string node_name;  // the ledger's origin
  std::uint32_t referrals_per_credit = 10;
  referrals::IntakeSettings intake;
  // The holding period and farming checks (default: no hold, no checks; the node passes
  // config "referrals").
  referrals::HoldRules holds;
};

struct LocalDomain {
  LocalDomain(storage::Environment& env, const identity::KeyRing& keys,
              const config::Reference& reference, const common::Clock& clock,
              const LocalDomainSettings& settings);
  LocalDomain(const LocalDomain&) = delete;
  LocalDomain& operator=(const LocalDomain&) = delete;

  ledger::Ledger ledger;
  members::Registry members;
  candidates::Store candidates;
  referrals::Referrals referrals;
  referrals::CreditAccounts credits;
  referrals::Holds holds;
  referrals::Intake intake;
};

}  // namespace relay::node
