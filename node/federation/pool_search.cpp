#include "node/federation/pool_search.hpp"

#include <algorithm>

namespace relay::node::federation {

bool PoolQuery::matches(const nlohmann::json& p) const {
  auto field_is = [&](const char* name, const std::optional<std::string>& want) {
    return !want || (p.contains(name) && p[name] == *want);
  };
  if (!field_is("job_category", job_category) || !field_is("prefecture", prefecture) ||
      !field_is("age_band", age_band) || !field_is("experience_band", experience_band))
    return false;
  if (!skill) return true;
  if (!p.contains("skills") || !p["skills"].is_array()) return false;
  return std::any_of(p["skills"].begin(), p["skills"].end(),
                     [&](const auto& s) { return s == *skill; });
}

PoolProfile PoolProfile::from_json(const nlohmann::json& p) {
  auto field = [&](const char* name) {
    auto it = p.find(name);
    return it != p.end() && it->is_string() ? it->get<std::string>() : std::string{};
  };
  PoolProfile out{
      field("job_category"), field("prefecture"), field("age_band"), field("experience_band"), {}};
  if (auto it = p.find("skills"); it != p.end() && it->is_array())
    for (const auto& s : *it)
      if (s.is_string()) out.skills.push_back(s.get<std::string>());
  return out;
}

nlohmann::json PoolProfile::to_json() const {
  return {{"job_category", job_category},
          {"skills", skills},
          {"prefecture", prefecture},
          {"age_band", age_band},
          {"experience_band", experience_band}};
}

nlohmann::json PoolHit::to_json() const {
  return {{"node", node}, {"region", region}, {"ref", ref}, {"profile", profile.to_json()}};
}

PoolResult search_pool(const storage::Txn& txn, const ProfileExchange& exchange,
                       const candidates::Store& store, const std::string& self_name,
                       const std::string& self_region, const PoolQuery& query, std::size_t limit) {
  PoolResult result;
  auto add = [&](PoolHit hit) {
    if (result.hits.size() >= limit) {
      result.truncated = true;
      return false;
    }
    result.hits.push_back(std::move(hit));
    return true;
  };
  store.for_each(txn, [&](const candidates::CandidateRecord& r) {
    if (r.status != candidates::Status::active || r.origin != "local" || !r.consent.region)
      return true;
    auto opened = store.open(r);
    if (!opened) return true;
    auto profile = anonymised_profile(opened->profile);
    if (!query.matches(profile)) return true;
    return add({self_name, self_region, exchange.ref_of(r.id), PoolProfile::from_json(profile)});
  });
  if (result.truncated) return result;
  for (auto& entry : exchange.peer_pool(txn)) {
    if (!query.matches(entry.profile)) continue;
    if (!add({entry.peer, entry.region, entry.ref, PoolProfile::from_json(entry.profile)})) break;
  }
  return result;
}

}  // namespace relay::node::federation
