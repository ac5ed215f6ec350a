#pragma once
// The features of the success model (success_model.hpp): what a (profile, requisition) pair is
// to the model, as numbers, and the category × prefecture prior from outcome aggregates.
//
// Only job-related facts are features: the matcher's reasons (category, prefecture, experience,
// skills, desired role, alumni) plus the same region and the prior. Never age band, gender,
// nationality, name, contact or anything like them: kSuccessFeatures is the whole list (a test
// checks it names none of them, and that changing them changes no feature).
//
// Pure functions and immutable values: use from any thread.
#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "node/matching/scorer.hpp"

namespace relay::node::matching {

// One feature: its code and its labels (what a driver shows).
struct FeatureInfo {
  const char* code;
  const char* ja;
  const char* en;
};

// Indexes into a FeatureVector; kSuccessFeatures lists them in this order.
enum Feature : std::size_t {
  kCategoryMatch,    // 1: the profile's job category is the requisition's
  kSamePrefecture,   // 1: the profile's prefecture is one of the requisition's
  kSameRegion,       // 1: not the same prefecture, but one in the same region (地方)
  kExperienceFit,    // 1: a band is wanted and the profile's is at or above it
  kExperienceGap,    // bands below the wanted one (0 when it fits or none is wanted)
  kRequiredSkills,   // share of the required skills the profile lists (0..1; 0 if none)
  kPreferredSkills,  // share of the preferred skills it lists (0..1; 0 if none)
  kDesiredRole,      // 1: a desired role appears in the requisition's title
  kAlumni,           // 1: an alumnus (退職者) of the member asking
  kCategoryPrior,    // the category × prefecture prior, in log-odds against all cells
  kFeatureCount
};

using FeatureVector = std::array<double, kFeatureCount>;

extern const std::array<FeatureInfo, kFeatureCount> kSuccessFeatures;

// The 8 regions (地方) of Japan by ISO prefecture code ("JP-28" -> "kinki"); "" if unknown.
std::string_view region_of(std::string_view prefecture);

// A pair as the model sees it, kept at introduction time (services/success_forecast.hpp):
// the profile's category and prefecture (for the prior, looked up when trained or predicted)
// and every feature but the prior. Codes and numbers only: nothing about a person.
struct PairFacts {
  std::string job_category;
  std::string prefecture;
  FeatureVector values{};  // values[kCategoryPrior] is filled from a PriorTable

  nlohmann::json to_json() const;  // {"job_category","prefecture","features":{code: value}}
  static PairFacts from_json(const nlohmann::json& j);  // unknown codes ignored, missing = 0
};

// The facts of a scored pair, read from the match's reasons (so they agree with what the
// member sees) and the criteria (for the shares of skills and the region).
PairFacts pair_facts(const Match& match, const Criteria& criteria,
                     const AnonymisedProfile& profile);

// Peers' outcome aggregates for one category × prefecture cell (helper K's federated tables,
// summed over age and experience bands by whoever passes them in).
struct OutcomePrior {
  std::string job_category;
  std::string prefecture;
  std::uint64_t introductions = 0;
  std::uint64_t hires = 0;
  std::uint64_t retained_6m = 0;
};

// The prior feature: the cell's hire-and-retain rate (retained_6m / introductions), shrunk
// toward the rate over all cells with kPseudoCount pseudo-introductions, as log-odds minus the
// log-odds of the overall rate. 0 for an unknown cell, and for every cell when there are no
// aggregates: the prior then says nothing.
class PriorTable {
 public:
  static constexpr double kPseudoCount = 20.0;
  PriorTable() = default;
  explicit PriorTable(const std::vector<OutcomePrior>& cells);
  double feature(std::string_view job_category, std::string_view prefecture) const;
  // facts with values[kCategoryPrior] set from this table.
  FeatureVector complete(const PairFacts& facts) const;
  std::size_t cells() const { return cells_.size(); }

 private:
  struct Cell {
    std::string key;
    double feature = 0;
  };
  std::vector<Cell> cells_;  // sorted by key ("<category>/<prefecture>")
};

}  // namespace relay::node::matching
