#include "node/services/access.hpp"

#include "crypto/secret.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::services {

Access::Access(storage::Environment& env, const members::Registry& members,
               const identity::KeyRing& keys, const std::filesystem::path& admin_token,
               const std::filesystem::path& auditor_token)
    : env_(env),
      members_(members),
      keys_(keys),
      admin_token_(admin_token, keys),
      auditor_token_(auditor_token, keys) {}

bool Access::matches(std::string_view token, const identity::TokenFile& file) const {
  const auto digest = file.digest();
  auto d = identity::token_digest(keys_.current()->token_key, token);
  return d.size() == digest.size() &&
         crypto::constant_time_equal(d.data(), digest.data(), d.size());
}

bool Access::is_operator(std::string_view token) const {
  return matches(token, admin_token_);
}
bool Access::is_auditor(std::string_view token) const {
  return matches(token, auditor_token_);
}
bool Access::is_known(std::string_view token) const {
  if (is_operator(token) || is_auditor(token)) return true;
  auto txn = env_.begin_read();
  return members_.authenticate(txn, token) != nullptr;
}

common::Result<Caller, AccessError> Access::check(Role role,
                                                  std::optional<std::string_view> token) const {
  using common::fail;
  switch (role) {
    case Role::operator_:
      if (!token) return fail(AccessError::operator_token_missing);
      if (!is_operator(*token)) return fail(AccessError::not_operator);
      return Caller{role, nullptr};
    case Role::auditor:
      if (!token) return fail(AccessError::auditor_token_missing);
      if (!is_auditor(*token) && !is_operator(*token)) return fail(AccessError::not_auditor);
      return Caller{role, nullptr};
    case Role::member_or_operator:
      if (token && is_operator(*token)) return Caller{Role::operator_, nullptr};
      [[fallthrough]];
    case Role::member: {
      if (!token) return fail(AccessError::member_key_missing);
      auto txn = env_.begin_read();
      auto member = members_.authenticate(txn, *token);
      if (!member) return fail(AccessError::unknown_member_key);
      if (!member->active) return fail(AccessError::member_suspended);
      return Caller{Role::member, std::move(member)};
    }
    case Role::everyone:
    case Role::candidate:
    case Role::peer:
      break;
  }
  return Caller{role, nullptr};
}

}  // namespace relay::node::services
