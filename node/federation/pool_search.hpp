#pragma once
// Searching the candidate pool a member may ask introductions from: this node's own
// candidates who consented to circulate within the region, and the anonymised profiles peers
// circulate to us (profile_exchange.hpp). Only anonymised profiles are returned (the five
// fields of anonymised_profile()), never names or contact data.
//
// Threads: any thread, with its own read txn.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "node/candidates/candidate_store.hpp"
#include "node/federation/profile_exchange.hpp"

namespace relay::node::federation {

// Every set field must match; skill must be one of the profile's (normalised) skill tags.
struct PoolQuery {
  std::optional<std::string> job_category{};
  std::optional<std::string> prefecture{};
  std::optional<std::string> skill{};
  std::optional<std::string> age_band{};
  std::optional<std::string> experience_band{};

  bool matches(const nlohmann::json& profile) const;
};

// The five fields of anonymised_profile().
struct PoolProfile {
  std::string job_category;
  std::string prefecture;
  std::string age_band;
  std::string experience_band;
  std::vector<std::string> skills;

  // From anonymised_profile()'s JSON: a missing field is "", a skill that is no string skipped.
  static PoolProfile from_json(const nlohmann::json& profile);
  nlohmann::json to_json() const;
};

struct PoolHit {
  std::string node;    // this node's name, or the peer's
  std::string region;  // the holding node's region
  std::string ref;
  PoolProfile profile;

  nlohmann::json to_json() const;  // {node, region, ref, profile}
};

struct PoolResult {
  std::vector<PoolHit> hits;
  bool truncated = false;  // more matched than `limit`
};

// Local matches first (node = self_name, region = self_region), then the peers'.
PoolResult search_pool(const storage::Txn& txn, const ProfileExchange& exchange,
                       const candidates::Store& store, const std::string& self_name,
                       const std::string& self_region, const PoolQuery& query, std::size_t limit);

}  // namespace relay::node::federation
