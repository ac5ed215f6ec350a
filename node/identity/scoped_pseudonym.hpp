#pragma once
// The pseudonym a ledger entry carries for a candidate (ledger version 2, issue 17): a keyed
// hash (the node's pseudonym key) of a scope and the candidate's node pseudonym, so that
// entries of different scopes never share a value and the public ledger links nobody across
// members or peers, while one scope sees one person as one value (the auditor's "a member
// earns at most once per person" check keeps working). Scopes:
//   "member/<member id>"  referral events, introductions and reports naming a member
//   "peer/<peer name>"    handoff_sent and erasure_requested to that peer
//   "erased"              candidate_erased
// The pseudonym key never rotates (NodeKeys::rotated keeps it), so a scope's value is stable.
#include <string>
#include <string_view>

#include "node/identity/key_ring.hpp"

namespace relay::node::identity {

// Hex keyed BLAKE2b of "ledger/" scope "/" pseudonym.
std::string scoped_pseudonym(const KeyRing& keys, std::string_view scope,
                             std::string_view pseudonym);
std::string member_pseudonym(const KeyRing& keys, std::string_view member_id,
                             std::string_view pseudonym);
std::string peer_pseudonym(const KeyRing& keys, std::string_view peer_name,
                           std::string_view pseudonym);

}  // namespace relay::node::identity
