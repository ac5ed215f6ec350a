#include "node/referrals/credit_account.hpp"

#include <iterator>

#include "node/common/key_encoding.hpp"
#include "node/common/text.hpp"
#include "node/members/member.hpp"
#include "protocol/canonical_json.hpp"
#include "protocol/canonical_scan.hpp"

namespace relay::node::referrals {

nlohmann::json Account::to_json() const {
  return {{"verified_referrals", counted}, {"credits_minted", minted},
          {"credits_spent", spent},        {"balance", balance()},
          {"credits_granted", granted},    {"credits_refunded", refunded}};
}

std::string_view to_string(SpendError e) {
  switch (e) {
    case SpendError::no_credit:
      return "no_credit";
    case SpendError::already_spent:
      return "already_spent";
  }
  return "unknown";
}

std::string_view to_string(RefundError e) {
  switch (e) {
    case RefundError::not_spent:
      return "not_spent";
    case RefundError::already_refunded:
      return "already_refunded";
    case RefundError::bad_reason:
      return "bad_reason";
  }
  return "unknown";
}

std::string_view to_string(GrantError e) {
  switch (e) {
    case GrantError::bad_count:
      return "bad_count";
    case GrantError::bad_reason:
      return "bad_reason";
  }
  return "unknown";
}

CreditAccounts::CreditAccounts(storage::Environment& env, ledger::Ledger& ledger,
                               std::uint32_t referrals_per_credit)
    : ledger_(ledger),
      ratio_(referrals_per_credit),
      accounts_(env.database("credit_accounts")),
      history_(env.database("credit_history")),
      spends_(env.database("credit_spends")) {}

Account CreditAccounts::account(const storage::Txn& txn, const std::string& member_id) const {
  Account a;
  if (auto v = txn.get(accounts_, member_id)) {
    auto j = protocol::parse_json(*v);
    a.counted = j.at("counted");
    a.minted = j.at("minted");
    a.spent = j.at("spent");
    // Accounts written before grants and refunds lack these.
    a.granted = j.value("granted", std::uint64_t{0});
    a.refunded = j.value("refunded", std::uint64_t{0});
  }
  return a;
}

void CreditAccounts::save(storage::WriteTxn& txn, const std::string& member_id, const Account& a) {
  txn.put(accounts_, member_id,
          protocol::compact_dump(nlohmann::json{{"counted", a.counted},
                                                {"minted", a.minted},
                                                {"spent", a.spent},
                                                {"granted", a.granted},
                                                {"refunded", a.refunded}}));
}

common::Result<Account, SpendError> CreditAccounts::spend(storage::WriteTxn& txn,
                                                          const std::string& member_id,
                                                          const std::string& introduction_id) {
  const auto key = member_id + "/" + introduction_id;
  if (txn.contains(spends_, key)) return common::fail(SpendError::already_spent);
  auto a = account(txn, member_id);
  if (a.balance() <= 0) return common::fail(SpendError::no_credit);
  ++a.spent;
  auto index = ledger_.append(txn, protocol::credit_spent(member_id, introduction_id, a.balance()));
  txn.put(spends_, key, protocol::compact_dump(nlohmann::json{{"state", "spent"}}));
  add_history(txn, member_id,
              {{"kind", "credit_spent"},
               {"at_ms", ledger_.clock().now_ms()},
               {"ledger_index", index},
               {"introduction", introduction_id},
               {"balance", a.balance()}});
  save(txn, member_id, a);
  return a;
}

common::Result<Account, RefundError> CreditAccounts::refund(storage::WriteTxn& txn,
                                                            const std::string& member_id,
                                                            const std::string& introduction_id,
                                                            std::string_view reason) {
  if (!protocol::is_refund_reason(reason)) return common::fail(RefundError::bad_reason);
  const auto key = member_id + "/" + introduction_id;
  auto stored = txn.get(spends_, key);
  if (!stored) return common::fail(RefundError::not_spent);
  if (nlohmann::json::parse(*stored).at("state") != "spent")
    return common::fail(RefundError::already_refunded);
  auto a = account(txn, member_id);
  ++a.refunded;
  auto index = ledger_.append(
      txn, protocol::credit_refunded(member_id, introduction_id, reason, a.balance()));
  txn.put(spends_, key,
          protocol::compact_dump(nlohmann::json{{"state", "refunded"}, {"reason", reason}}));
  add_history(txn, member_id,
              {{"kind", "credit_refunded"},
               {"at_ms", ledger_.clock().now_ms()},
               {"ledger_index", index},
               {"introduction", introduction_id},
               {"reason", reason},
               {"balance", a.balance()}});
  save(txn, member_id, a);
  return a;
}

common::Result<Account, GrantError> CreditAccounts::grant(storage::WriteTxn& txn,
                                                          const std::string& member_id,
                                                          std::uint64_t n,
                                                          std::string_view reason) {
  if (n == 0 || n > kMaxGrant) return common::fail(GrantError::bad_count);
  auto cleaned = common::clean_text(reason, 200);
  if (!cleaned) return common::fail(GrantError::bad_reason);
  auto a = account(txn, member_id);
  a.granted += n;
  auto index = ledger_.append(txn, protocol::credit_granted(member_id, n, *cleaned, a.balance()));
  add_history(txn, member_id,
              {{"kind", "credit_granted"},
               {"at_ms", ledger_.clock().now_ms()},
               {"ledger_index", index},
               {"credits", n},
               {"reason", *cleaned},
               {"balance", a.balance()}});
  save(txn, member_id, a);
  return a;
}

void CreditAccounts::add_history(storage::WriteTxn& txn, const std::string& member_id,
                                 nlohmann::json item) {
  auto prefix = member_id + "/";
  std::uint64_t next = 0;
  // The last key under the prefix gives the next sequence number.
  auto cursor = txn.cursor(history_);
  auto after = cursor.seek(member_id + "0");  // '0' sorts right after '/'
  auto last = after ? cursor.prev() : cursor.last();
  if (last && last->first.compare(0, prefix.size(), prefix) == 0)
    next = common::from_be64(std::string_view(last->first).substr(prefix.size())) + 1;
  txn.put(history_, prefix + common::be64(next), protocol::compact_dump(item));
}

bool CreditAccounts::record_verified(storage::WriteTxn& txn, const std::string& member_id,
                                     const std::string& referral_id, const std::string& pseudonym,
                                     bool counted, std::string_view referral_kind) {
  if (counted) {
    // Ledger version 2 counts only through a hold: counted at verification is a zero hold.
    record_held(txn, member_id, referral_id, pseudonym, ledger_.clock().now_ms(), referral_kind);
    return record_counted(txn, member_id, referral_id, pseudonym);
  }
  auto a = account(txn, member_id);
  auto index = ledger_.append(txn, protocol::referral_verified(member_id, referral_id, pseudonym,
                                                               false, a.counted, referral_kind));
  add_history(txn, member_id,
              {{"kind", "referral_verified"},
               {"at_ms", ledger_.clock().now_ms()},
               {"ledger_index", index},
               {"referral", referral_id},
               {"counted", false},
               {"balance", a.balance()}});
  return false;
}

void CreditAccounts::record_held(storage::WriteTxn& txn, const std::string& member_id,
                                 const std::string& referral_id, const std::string& pseudonym,
                                 std::int64_t until_ms, std::string_view referral_kind) {
  auto a = account(txn, member_id);
  auto index = ledger_.append(
      txn, protocol::referral_held(member_id, referral_id, pseudonym, until_ms, referral_kind));
  add_history(txn, member_id,
              {{"kind", "referral_held"},
               {"at_ms", ledger_.clock().now_ms()},
               {"ledger_index", index},
               {"referral", referral_id},
               {"until_ms", until_ms},
               {"balance", a.balance()}});
}

bool CreditAccounts::record_counted(storage::WriteTxn& txn, const std::string& member_id,
                                    const std::string& referral_id, const std::string& pseudonym) {
  auto a = account(txn, member_id);
  ++a.counted;
  auto index =
      ledger_.append(txn, protocol::referral_counted(member_id, referral_id, pseudonym, a.counted));
  add_history(txn, member_id,
              {{"kind", "referral_counted"},
               {"at_ms", ledger_.clock().now_ms()},
               {"ledger_index", index},
               {"referral", referral_id},
               {"balance", a.balance()}});
  bool minted = mint_due(txn, member_id, a);
  save(txn, member_id, a);
  return minted;
}

// Mint up to floor(counted / ratio): the rule an auditor recomputes from the log. After a
// ratio change this may mint more than one credit at once; it never takes one back.
bool CreditAccounts::mint_due(storage::WriteTxn& txn, const std::string& member_id, Account& a) {
  bool minted = false;
  while (a.minted < a.counted / ratio_) {
    ++a.minted;
    minted = true;
    auto mint_index =
        ledger_.append(txn, protocol::credit_minted(member_id, a.minted, a.balance()));
    add_history(txn, member_id,
                {{"kind", "credit_minted"},
                 {"at_ms", ledger_.clock().now_ms()},
                 {"ledger_index", mint_index},
                 {"balance", a.balance()}});
  }
  return minted;
}

std::shared_ptr<const std::string> CreditAccounts::history_array(const storage::Txn& txn,
                                                                 const std::string& member_id,
                                                                 std::size_t limit) const {
  const auto prefix = member_id + "/";
  // Items are only ever appended, under a growing sequence number: while the member's newest
  // key stands, so does the array. Checking it is one cursor step where rendering is one per
  // item (GET /api/v1/credits at 20 items: 46.9k -> 41-42k instructions, scripts/bench-read-
  // instructions). Only read txns fill the cache: a write txn's newest item may yet roll back,
  // and its key be used again.
  std::string newest;
  txn.for_each_prefix_reverse(history_, prefix, [&](std::string_view key, std::string_view) {
    newest.assign(key);
    return false;
  });
  newest += '#' + std::to_string(limit);
  if (auto cached = rendered_.find(member_id, newest)) return cached;
  // Newest first, from the member's last key backwards: reads `limit` items, not the history
  // (GET /api/v1/credits parsed every item a member ever earned or spent). One string: a
  // string per item was a fifth of the reply's cost (callgrind).
  std::string out = "[";
  out.reserve(limit > 32 ? 4096 : 128 * limit + 2);
  std::size_t n = 0;
  if (limit > 0) {
    txn.for_each_prefix_reverse(history_, prefix, [&](std::string_view, std::string_view item) {
      if (n++ > 0) out += ',';
      out += item;
      return n < limit;
    });
  }
  out += ']';
  if (txn.read_only()) return rendered_.put(member_id, std::move(newest), std::move(out));
  return std::make_shared<const std::string>(std::move(out));
}

std::vector<nlohmann::json> CreditAccounts::history(const storage::Txn& txn,
                                                    const std::string& member_id,
                                                    std::size_t limit) const {
  auto items = nlohmann::json::parse(*history_array(txn, member_id, limit));
  return {std::make_move_iterator(items.begin()), std::make_move_iterator(items.end())};
}

}  // namespace relay::node::referrals
