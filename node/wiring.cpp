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
      holds(env, ledger, keys, members, candidates, referrals, credits, clock, settings.holds),
      intake(members, candidates, referrals, credits, holds, reference, settings.intake, clock) {}

}  // namespace relay::node
