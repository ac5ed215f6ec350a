#pragma once
// The seeds' KPIs, by name: ids, labels (ja/en), units, notes and formulas in one place
// (README.md explains each). Pure: given the counts of one scope and period, builds the
// `kpis`, `funnel` and `trend` parts of GET /api/v1/kpis.
//
// Threads: any.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "node/statistics/tally.hpp"

namespace relay::node::statistics {

struct KpiInputs {
  Counters counters;                       // the scope (member or node) in the period
  std::uint64_t impact_hired = 0;          // social hiring impact (member: HireAttribution;
  std::uint64_t impact_retained_6m = 0;    // node: persons hired by someone else than a referrer)
  std::optional<std::uint64_t> spend_yen;  // recruiting spend entered; nullopt: unknown
  std::uint64_t agency_fee_yen = 0;        // statistics.agency_fee_yen; 0: unknown
  std::uint32_t reemployment_days = 90;    // statistics.reemployment_days
};

// The ids, in the order the API lists them.
inline const std::vector<std::string> kKpiIds = {"reemployment_rate", "introduction_hire_share",
                                                 "cost_reduction_rate", "social_hiring_impact",
                                                 "time_to_hire_days"};

nlohmann::json kpis_json(const KpiInputs& in);
// rejections -> registrations -> verified -> introduced -> hired -> retained.
nlohmann::json funnel_json(const Counters& c);
// One row of the trend: {period, registrations, verified, introductions, hires}.
nlohmann::json trend_row(const std::string& period, const Counters& c);

}  // namespace relay::node::statistics
