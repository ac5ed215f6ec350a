#pragma once
// Credit accounts: every `referrals_per_credit` counted (verified, distinct, and since ledger
// version 2 released from their hold) referrals mint one credit for the member, in the same
// transaction as the referral and with its ledger entries.
// The operator may grant credits; a member spends one per introduction, and gets it back
// (refund) when the introduction fails for a reason that is not the member's doing.
//   balance = minted + granted - spent + refunded, never below zero
// (the rule audit/balance_book recomputes from the ledger alone).
// Databases: credit_accounts (member -> {counted, minted, spent, granted, refunded}),
// credit_history (member "/" 8-byte seq -> {kind, at_ms, ledger_index, balance, ...}),
// credit_spends (member "/" introduction -> {"state":"spent"|"refunded","reason"?}).
//
// Threads: the writing methods only inside Writer requests (one writer: a spend reads the
// balance and writes it in the same txn, so two spends of the last credit cannot both pass);
// account() and history() from any thread with its own txn.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/common/result.hpp"
#include "node/ledger/ledger.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/parse_cache.hpp"

namespace relay::node::referrals {

struct Account {
  std::uint64_t counted = 0;  // verified distinct referrals
  std::uint64_t minted = 0;
  std::uint64_t spent = 0;
  std::uint64_t granted = 0;   // by the operator
  std::uint64_t refunded = 0;  // spends given back
  std::int64_t balance() const {
    return static_cast<std::int64_t>(minted + granted) - static_cast<std::int64_t>(spent) +
           static_cast<std::int64_t>(refunded);
  }
  // {verified_referrals, credits_minted, credits_spent, balance, credits_granted,
  // credits_refunded}: the shape audit/balance_book parses.
  nlohmann::json to_json() const;
};

enum class SpendError {
  no_credit,      // balance is 0
  already_spent,  // a credit was already spent on this introduction id
};
enum class RefundError {
  not_spent,         // no credit of this member was spent on this introduction
  already_refunded,  // it was, and has come back already
  bad_reason,        // not one of protocol::refund_reason
};
enum class GrantError {
  bad_count,   // 0, or more than kMaxGrant
  bad_reason,  // empty or not clean text (1..200)
};
std::string_view to_string(SpendError e);
std::string_view to_string(RefundError e);
std::string_view to_string(GrantError e);

class CreditAccounts {
 public:
  // Most credits in one grant: a typo guard, not a policy.
  static constexpr std::uint64_t kMaxGrant = 1000;

  CreditAccounts(storage::Environment& env, ledger::Ledger& ledger,
                 std::uint32_t referrals_per_credit);

  // Records a verified referral in the ledger: not counted, referral_verified; counted, a
  // zero hold (record_held until now, then record_counted: ledger version 2 counts only
  // through a hold; the node itself holds through hold.hpp). Returns true if a credit was
  // minted. referral_kind: "" for a rejection referral, "alumni" for an alumni one.
  bool record_verified(storage::WriteTxn& txn, const std::string& member_id,
                       const std::string& referral_id, const std::string& pseudonym, bool counted,
                       std::string_view referral_kind = {});

  // The holding period (hold.hpp): records referral_held (candidate: the member-scoped
  // pseudonym) in the ledger and the member's history.
  void record_held(storage::WriteTxn& txn, const std::string& member_id,
                   const std::string& referral_id, const std::string& pseudonym,
                   std::int64_t until_ms, std::string_view referral_kind = {});
  // The hold ended and the referral counts: referral_counted, then a credit for every block of
  // referrals_per_credit. Returns true if a credit was minted.
  bool record_counted(storage::WriteTxn& txn, const std::string& member_id,
                      const std::string& referral_id, const std::string& pseudonym);

  // Spends one credit on introduction_id: appends credit_spent. Writes nothing on failure.
  common::Result<Account, SpendError> spend(storage::WriteTxn& txn, const std::string& member_id,
                                            const std::string& introduction_id);
  // Gives back the credit spent on introduction_id (reason: protocol::refund_reason):
  // appends credit_refunded. Writes nothing on failure.
  common::Result<Account, RefundError> refund(storage::WriteTxn& txn, const std::string& member_id,
                                              const std::string& introduction_id,
                                              std::string_view reason);
  // The operator grants n credits with a reason (programme text, never about a person):
  // appends credit_granted. Writes nothing on failure. The caller checks the member exists.
  common::Result<Account, GrantError> grant(storage::WriteTxn& txn, const std::string& member_id,
                                            std::uint64_t n, std::string_view reason);

  Account account(const storage::Txn& txn, const std::string& member_id) const;
  // Newest first, at most limit entries.
  std::vector<nlohmann::json> history(const storage::Txn& txn, const std::string& member_id,
                                      std::size_t limit) const;
  // The same items as a JSON array's text, each item as stored, for replies that pass them on
  // without parsing them. Shared with the cache below, not copied (a long history's is ~30 KB).
  std::shared_ptr<const std::string> history_array(const storage::Txn& txn,
                                                   const std::string& member_id,
                                                   std::size_t limit) const;
  std::uint32_t referrals_per_credit() const { return ratio_; }

 private:
  void add_history(storage::WriteTxn& txn, const std::string& member_id, nlohmann::json item);
  // Mints up to floor(counted / ratio) after a counted referral; true if any was minted.
  bool mint_due(storage::WriteTxn& txn, const std::string& member_id, Account& a);
  void save(storage::WriteTxn& txn, const std::string& member_id, const Account& a);
  ledger::Ledger& ledger_;
  std::uint32_t ratio_;
  storage::Database accounts_;
  storage::Database history_;
  storage::Database spends_;
  // history_array's text by member, valid while the member's newest history key (and the
  // limit) is the one it was rendered at. Bounded: a long history's array is ~30 KB.
  mutable storage::ParseCache<std::string> rendered_{128};
};

}  // namespace relay::node::referrals
