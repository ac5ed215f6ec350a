#include "node/wiring.hpp"

namespace relay::node {

LocalDomain::LocalDomain(storage::Environment& env, const identity::KeyRing& keys,
                         const config::Reference& reference, const common::Clock& clock,
                         const LocalDomainSettings& settings)
    : ledger(env, settings.node_name, keys, clock),
      members(env, ledger, keys),
      candidates(env, keys, clock),
      referrals(env, keys, clock),
      credits(env, ledger, settings.referrals_per_credit),
      intake(members, candidates, referrals, credits, reference, settings.intake, clock) {}

}  // namespace relay::node
