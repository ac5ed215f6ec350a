#pragma once
// Statistics: the use cases of issue 16 (scope 2, 3, 5) over node/statistics. Every read is
// one read txn over small per-scope counters and per-member rows (Tally) or stored tables
// (Tables): no request scans a whole database.
//
//   kpis(member | node, period)   the seeds' KPIs, the funnel, a 12-month trend, credits
//   insight(member)               where the people it referred went when hired (suppressed),
//                                 and retention of its own hires against theirs
//   view(period)                  operator: own published table, peers' tables, consortium
//   publish(force)                builds this month's and last month's tables (suppressed),
//                                 stores them and sends each changed one (or every one when
//                                 forced) to every active peer as statistics.table; run by a
//                                 BackgroundLoop every statistics.publish_minutes and by
//                                 POST /api/v1/statistics/publish
//   set_spend(member, yen, period?)  the member's recruiting spend for コスト削減率
//
// Receiving: registers the statistics.table handler (stores the latest table per peer and
// period; a part of an older table is answered stored: false).
// Nothing here enters the ledger: statistics are derived data.
// Threads: any; publish() and set_spend() submit one Writer request each.
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "node/common/clock.hpp"
#include "node/common/result.hpp"
#include "node/federation/federation.hpp"
#include "node/matching/success_features.hpp"
#include "node/members/member.hpp"
#include "node/referrals/credit_account.hpp"
#include "node/referrals/referral.hpp"
#include "node/services/hire_attribution.hpp"
#include "node/statistics/suppression.hpp"
#include "node/statistics/table.hpp"
#include "node/statistics/tally.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::services {

struct StatisticsSettings {
  statistics::Thresholds thresholds;
  std::uint64_t agency_fee_yen = 0;
  std::uint32_t reemployment_days = 90;
};

enum class StatisticsError {
  bad_period,  // 400: period is not YYYY-MM (or "all" where allowed)
};

class Statistics {
 public:
  Statistics(storage::Environment& env, storage::Writer& writer, federation::Federation& federation,
             ledger::Ledger& ledger, members::Registry& members, referrals::Referrals& referrals,
             referrals::CreditAccounts& credits, statistics::Tally& tally,
             const common::Clock& clock, StatisticsSettings settings);

  // member: the calling member's KPIs; null: the node's. period "all" or "YYYY-MM".
  common::Result<nlohmann::json, StatisticsError> kpis(const members::Member* member,
                                                       const std::string& period) const;
  nlohmann::json insight(const members::Member& member) const;
  // period "" = the current month.
  common::Result<nlohmann::json, StatisticsError> view(const std::string& period) const;
  // Peers' latest tables of the last 12 months summed by (job category, prefecture): the
  // success model's priors (only peers': the node's own outcomes train it directly).
  std::vector<matching::OutcomePrior> peer_priors() const;
  // Returns {published: [{period, cells, suppressed, sent_to}]}. The tables are built from a
  // read snapshot, then saved and sent in one Writer request: two months of person rows,
  // parsed, held up every write behind them while built inside it. Publications run one at a
  // time, so an older snapshot never replaces a newer one.
  nlohmann::json publish(bool force);
  // period "" = all time.
  common::Result<nlohmann::json, StatisticsError> set_spend(const members::Member& member,
                                                            std::uint64_t yen,
                                                            const std::string& period);

 private:
  federation::HandlerResult on_table(storage::WriteTxn& txn, const protocol::StatisticsTable& m,
                                     const federation::Peer& peer);

  storage::Environment& env_;
  storage::Writer& writer_;
  federation::Federation& federation_;
  members::Registry& members_;
  referrals::CreditAccounts& credits_;
  statistics::Tally& tally_;
  statistics::Tables tables_;
  HireAttribution attribution_;
  const common::Clock& clock_;
  StatisticsSettings settings_;
  std::mutex publishing_;
};

}  // namespace relay::node::services
