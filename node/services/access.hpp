#pragma once
// Who is calling: the roles a route may require and the check of a bearer token against them.
// Operator and auditor tokens are compared as keyed digests in constant time; a member is
// found by the digest of its API key and must be active.
//
// Invariant: a Caller for Role::member always holds an active member; for operator/auditor
// it holds none. Threads: any (check() opens its own read txn; TokenFile guards its digest).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "node/common/result.hpp"
#include "node/identity/key_ring.hpp"
#include "node/identity/token_file.hpp"
#include "node/members/member.hpp"
#include "node/storage/environment.hpp"

namespace relay::node::services {

// What a route requires. `candidate` routes carry a capability token in their path that the
// page itself checks; `peer` routes carry a signed envelope that the inbox checks; both pass
// the role check like `everyone`.
// member_or_operator: a route answering both (for the calling member, or the whole node); the
// Caller's role says which passed (member or operator_).
enum class Role { everyone, candidate, member, operator_, auditor, peer, member_or_operator };

// The authenticated caller a handler receives.
struct Caller {
  Role role = Role::everyone;                     // the role it passed as
  std::shared_ptr<const members::Member> member;  // set for Role::member
  const members::Member& the_member() const { return *member; }
};

// Why a caller was refused (api/errors maps each to its 401/403 reply).
enum class AccessError {
  operator_token_missing,
  not_operator,
  auditor_token_missing,
  not_auditor,
  member_key_missing,
  unknown_member_key,
  member_suspended,
};

class Access {
 public:
  // admin_token / auditor_token: the token files of the data directory, re-read when they
  // change (identity/token_file.hpp), so a rotated token works at once and the old one stops.
  // Throws std::runtime_error naming a file that is missing, too short or not private.
  Access(storage::Environment& env, const members::Registry& members, const identity::KeyRing& keys,
         const std::filesystem::path& admin_token, const std::filesystem::path& auditor_token);

  // Checks the bearer token (nullopt when absent) against `role`; the auditor role also
  // admits the operator token.
  common::Result<Caller, AccessError> check(Role role, std::optional<std::string_view> token) const;

  bool is_operator(std::string_view token) const;
  bool is_auditor(std::string_view token) const;
  // True if the token is any credential this node issued (operator, auditor, or a member's key,
  // suspended or not): a refusal of such a token is a wrong role, not a guess.
  bool is_known(std::string_view token) const;

 private:
  bool matches(std::string_view token, const identity::TokenFile& file) const;
  storage::Environment& env_;
  const members::Registry& members_;
  const identity::KeyRing& keys_;
  identity::TokenFile admin_token_;
  identity::TokenFile auditor_token_;
};

}  // namespace relay::node::services
