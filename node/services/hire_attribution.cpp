#include "node/services/hire_attribution.hpp"

#include <vector>

#include "node/statistics/period.hpp"
#include "protocol/event.hpp"

namespace relay::node::services {

nlohmann::json Impact::to_json() const {
  return {{"referred_hired", referred_hired}, {"referred_retained_6m", referred_retained_6m}};
}

HireAttribution::HireAttribution(storage::Environment& env, ledger::Ledger& ledger,
                                 members::Registry& members, referrals::Referrals& referrals)
    : ledger_(ledger),
      members_(members),
      referrals_(referrals),
      impact_(env.database("member_impact")) {}

void HireAttribution::attribute(storage::WriteTxn& txn, const ReferredHire& hire) {
  const char* field = hire.retained_6m ? "retained_6m" : "hired";
  std::vector<std::string> referrers;
  bool newly_marked = false;
  for (const auto& m : members_.list(txn)) {
    if (m.id == hire.hiring_member) continue;
    if (!referrals_.for_person(txn, m.id, hire.pseudonym)) continue;
    referrers.push_back(m.id);
    auto key = m.id + "/" + hire.impact_key;
    auto stored = txn.get(impact_, key);
    auto j = stored ? nlohmann::json::parse(*stored)
                    : nlohmann::json{{"hired", false}, {"retained_6m", false}};
    if (j.value(field, false)) continue;  // reported again: counted once
    j[field] = true;
    j[hire.retained_6m ? "retained_ms" : "hired_ms"] = ledger_.clock().now_ms();
    txn.put(impact_, key, j.dump());
    newly_marked = true;
  }
  if (!hire.retained_6m && newly_marked)
    ledger_.append(txn, protocol::hire_attributed(hire.hire, referrers));
}

Impact HireAttribution::impact(const storage::Txn& txn, const std::string& member_id) const {
  Impact out;
  txn.for_each_prefix(impact_, member_id + "/", [&](std::string_view, std::string_view v) {
    auto j = nlohmann::json::parse(v);
    if (j.value("hired", false)) ++out.referred_hired;
    if (j.value("retained_6m", false)) ++out.referred_retained_6m;
  });
  return out;
}

Impact HireAttribution::impact_in(const storage::Txn& txn, const std::string& member_id,
                                  const std::string& period) const {
  Impact out;
  auto in_period = [&](const nlohmann::json& j, const char* at) {
    return j.contains(at) && statistics::period_of(j.at(at).get<std::int64_t>()) == period;
  };
  txn.for_each_prefix(impact_, member_id + "/", [&](std::string_view, std::string_view v) {
    auto j = nlohmann::json::parse(v);
    if (j.value("hired", false) && in_period(j, "hired_ms")) ++out.referred_hired;
    if (j.value("retained_6m", false) && in_period(j, "retained_ms")) ++out.referred_retained_6m;
  });
  return out;
}

}  // namespace relay::node::services
