#include "node/services/audit.hpp"

#include <algorithm>

#include "crypto/bytes.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::services {

using common::fail;

nlohmann::json balances(const storage::Txn& txn, const members::Registry& members,
                        const referrals::CreditAccounts& credits) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& m : members.list(txn)) out[m.id] = credits.account(txn, m.id).to_json();
  return out;
}

Audit::Audit(storage::Environment& env, const ledger::Ledger& ledger, const identity::KeyRing& keys,
             const members::Registry& members, const referrals::CreditAccounts& credits,
             const federation::Witness& witness, std::string node_name)
    : env_(env),
      ledger_(ledger),
      keys_(keys),
      members_(members),
      credits_(credits),
      witness_(witness),
      node_name_(std::move(node_name)) {}

Health Audit::health() const {
  auto txn = env_.begin_read();
  return Health{node_name_, ledger_.size(txn)};
}

std::string Audit::checkpoint_note() const {
  auto txn = env_.begin_read();
  return ledger_.checkpoint(txn).note;
}

KeyInfo Audit::key() const {
  auto keys = keys_.current();
  return KeyInfo{ledger_.origin(), ledger_.verifier_key(),
                 crypto::to_base64(keys->signing.public_key.bytes),
                 keys->signing.public_key.fingerprint()};
}

EntriesPage Audit::entries(std::optional<std::uint64_t> start,
                           std::optional<std::uint64_t> limit) const {
  auto txn = env_.begin_read();
  EntriesPage page;
  page.size = ledger_.size(txn);
  page.start = start.value_or(0);
  auto count = std::min(limit.value_or(kMaxEntriesPerPage), kMaxEntriesPerPage);
  for (auto i = page.start; i < page.size && i < page.start + count; ++i)
    page.entries.push_back(*ledger_.entry(txn, i));
  return page;
}

common::Result<Proof, AuditError> Audit::inclusion(std::uint64_t index,
                                                   std::optional<std::uint64_t> size) const {
  auto txn = env_.begin_read();
  auto n = size.value_or(ledger_.size(txn));
  auto proof = ledger_.inclusion_proof(txn, index, n);
  if (!proof) return fail(AuditError::bad_inclusion_range);
  return Proof{index, n, std::move(*proof)};
}

common::Result<Proof, AuditError> Audit::consistency(std::uint64_t from,
                                                     std::optional<std::uint64_t> to) const {
  auto txn = env_.begin_read();
  auto n = to.value_or(ledger_.size(txn));
  if (from > n) return fail(AuditError::from_after_to);
  auto proof = ledger_.consistency_proof(txn, from, n);
  if (!proof) return fail(AuditError::bad_consistency_range);
  return Proof{from, n, std::move(*proof)};
}

Balances Audit::balances() const {
  auto txn = env_.begin_read();
  return Balances{ledger_.size(txn), services::balances(txn, members_, credits_)};
}

common::Result<std::string, AuditError> Audit::witnessed_checkpoint_note() const {
  auto txn = env_.begin_read();
  auto cosigned = witness_.witnessed_checkpoint(txn);
  if (!cosigned) return fail(AuditError::not_cosigned);
  return cosigned->note;
}

nlohmann::json Audit::witness_status() const {
  auto txn = env_.begin_read();
  return witness_.status(txn);
}

}  // namespace relay::node::services
