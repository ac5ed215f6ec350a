#include "node/referrals/credit_account.hpp"

#include "node/members/member.hpp"
#include "node/common/key_encoding.hpp"

namespace relay::node::referrals {

nlohmann::json Account::to_json() const {
  return {{"verified_referrals", counted}, {"credits_minted", minted}, {"credits_spent", spent},
          {"balance", balance()}};
}

CreditAccounts::CreditAccounts(storage::Environment& env, ledger::Ledger& ledger,
                               std::uint32_t referrals_per_credit)
    : ledger_(ledger),
      ratio_(referrals_per_credit),
      accounts_(env.database("credit_accounts")),
      history_(env.database("credit_history")) {}

Account CreditAccounts::account(const storage::Txn& txn, const std::string& member_id) const {
  Account a;
  if (auto v = txn.get(accounts_, member_id)) {
    auto j = nlohmann::json::parse(*v);
    a.counted = j.at("counted");
    a.minted = j.at("minted");
    a.spent = j.at("spent");
  }
  return a;
}

void CreditAccounts::add_history(storage::WriteTxn& txn, const std::string& member_id, nlohmann::json item) {
  auto prefix = member_id + "/";
  std::uint64_t next = 0;
  // The last key under the prefix gives the next sequence number.
  auto cursor = txn.cursor(history_);
  auto after = cursor.seek(member_id + "0");  // '0' sorts right after '/'
  auto last = after ? cursor.prev() : cursor.last();
  if (last && last->first.compare(0, prefix.size(), prefix) == 0)
    next = common::from_be64(std::string_view(last->first).substr(prefix.size())) + 1;
  txn.put(history_, prefix + common::be64(next), item.dump());
}

bool CreditAccounts::record_verified(storage::WriteTxn& txn, const std::string& member_id,
                                     const std::string& referral_id, const std::string& pseudonym,
                                     bool counted) {
  auto a = account(txn, member_id);
  if (counted) ++a.counted;
  auto index = ledger_.append(txn, protocol::referral_verified(member_id, referral_id, pseudonym, counted, a.counted));
  add_history(txn, member_id,
              {{"kind", "referral_verified"}, {"at_ms", ledger_.clock().now_ms()}, {"ledger_index", index},
               {"referral", referral_id}, {"counted", counted}, {"balance", a.balance()}});
  // Mint up to floor(counted / ratio): the rule an auditor recomputes from the log. After a
  // ratio change this may mint more than one credit at once; it never takes one back.
  bool minted = false;
  while (counted && a.minted < a.counted / ratio_) {
    ++a.minted;
    minted = true;
    auto mint_index = ledger_.append(txn, protocol::credit_minted(member_id, a.minted, a.balance()));
    add_history(txn, member_id,
                {{"kind", "credit_minted"}, {"at_ms", ledger_.clock().now_ms()}, {"ledger_index", mint_index},
                 {"balance", a.balance()}});
  }
  txn.put(accounts_, member_id, nlohmann::json{{"counted", a.counted}, {"minted", a.minted}, {"spent", a.spent}}.dump());
  return minted;
}

std::vector<nlohmann::json> CreditAccounts::history(const storage::Txn& txn, const std::string& member_id,
                                                    std::size_t limit) const {
  std::vector<nlohmann::json> all;
  txn.for_each_prefix(history_, member_id + "/", [&](std::string_view, std::string_view value) {
    all.push_back(nlohmann::json::parse(value));
  });
  std::vector<nlohmann::json> out(all.rbegin(), all.rend());
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace relay::node::referrals
