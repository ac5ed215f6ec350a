#pragma once
// Credit accounts: every `referrals_per_credit` counted (verified, distinct) referrals mint one
// credit for the member, in the same transaction as the referral and with its ledger entries.
// Databases: credit_accounts (member -> {counted, minted, spent}),
// credit_history (member "/" 8-byte seq -> {kind, at_ms, ledger_index, balance, ...}).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/ledger/ledger.hpp"
#include "node/storage/environment.hpp"

namespace relay::node::referrals {

struct Account {
  std::uint64_t counted = 0;  // verified distinct referrals
  std::uint64_t minted = 0;
  std::uint64_t spent = 0;
  std::int64_t balance() const { return static_cast<std::int64_t>(minted) - static_cast<std::int64_t>(spent); }
  nlohmann::json to_json() const;
};

class CreditAccounts {
 public:
  CreditAccounts(storage::Environment& env, ledger::Ledger& ledger, std::uint32_t referrals_per_credit);

  // Records a verified referral in the ledger and, if it counts and completes a block of
  // referrals_per_credit, mints a credit. Returns true if a credit was minted.
  bool record_verified(storage::WriteTxn& txn, const std::string& member_id, const std::string& referral_id,
                       const std::string& pseudonym, bool counted);

  Account account(const storage::Txn& txn, const std::string& member_id) const;
  // Newest first, at most limit entries.
  std::vector<nlohmann::json> history(const storage::Txn& txn, const std::string& member_id,
                                      std::size_t limit) const;
  std::uint32_t referrals_per_credit() const { return ratio_; }

 private:
  void add_history(storage::WriteTxn& txn, const std::string& member_id, nlohmann::json item);
  ledger::Ledger& ledger_;
  std::uint32_t ratio_;
  storage::Database accounts_;
  storage::Database history_;
};

}  // namespace relay::node::referrals
