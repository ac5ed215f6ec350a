#include "node/candidates/pending_expiry.hpp"

#include <nlohmann/json.hpp>

namespace relay::node::candidates {

PendingExpiry::PendingExpiry(storage::Environment& env, Store& store)
    : store_(store), tokens_(env.database("candidate_tokens")) {}

std::vector<std::string> PendingExpiry::shred(storage::WriteTxn& txn, std::int64_t now_ms,
                                              std::int64_t expiry_ms) {
  std::vector<CandidateRecord> expired;
  // Only the pending records, from their index: this runs on the Writer every minute, and
  // reading every record there held up each request behind it (issue 19). Nor those created
  // in the last expiry_ms, whose id tells their age: they have not expired (`until` below is
  // at least created_ms + expiry_ms), and after a burst of registrations they are most of
  // the index. A second's margin for a clock read twice by an earlier version.
  for (auto& r : store_.pending(txn, now_ms - expiry_ms + 1'000)) {
    // The newest confirmation link decides: registering again sends a fresh one.
    std::int64_t until = r.created_ms + expiry_ms;
    if (r.intake)
      for (const auto& [referral, expires_ms] : r.intake->links)
        until = std::max(until, expires_ms);
    for (const auto& digest : r.tokens()) {  // links mailed before they were record links
      auto info = txn.get(tokens_, digest);
      if (!info) continue;
      auto j = nlohmann::json::parse(*info);
      if (j.value("kind", "") == "verify")
        until = std::max(until, j["extra"].value("expires_ms", std::int64_t{0}));
    }
    if (until < now_ms) expired.push_back(std::move(r));
  }
  std::vector<std::string> ids;
  for (auto& r : expired) {
    store_.erase(txn, r);
    ids.push_back(r.id);
  }
  return ids;
}

}  // namespace relay::node::candidates
