// The success model (issue 16): its features are job-related only (no protected attribute is
// one, and changing one changes nothing); every prediction's drivers are weight × value, sorted
// by |effect|; aggregate priors change predictions; and on synthetic data from a known rule it
// ranks (AUC > 0.7) and is calibrated (ECE < 0.05), while with no signal it shows no skill.
#include "node/matching/success_model.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

#include "config/node_config.hpp"
#include "config/reference.hpp"
#include "node/matching/scorer.hpp"
#include "node/matching/success_evaluation.hpp"
#include "node/matching/success_features.hpp"

namespace matching = relay::node::matching;
using matching::kFeatureCount;
using matching::kSuccessFeatures;

namespace {

const relay::config::Reference& reference() {
  static const auto loaded = [] {
    auto r = relay::config::load_reference(relay::config::default_reference_dir());
    REQUIRE(r);
    return std::move(r).value();
  }();
  return loaded;
}

matching::Criteria forklift_job() {
  matching::Criteria c;
  c.title = "フォークリフト作業員";
  c.category = "H";
  c.required_skills = {"フォークリフト", "玉掛け"};
  c.preferred_skills = {"溶接"};
  c.prefectures = {"JP-28"};
  c.experience_band = "3-5";
  return c;
}

matching::AnonymisedProfile driver() {
  matching::AnonymisedProfile p;
  p.ref = "p_1";
  p.job_category = "H";
  p.skills = {"フォークリフト"};
  p.prefecture = "JP-27";  // Osaka: another prefecture of the same region (Kinki)
  p.experience_band = "6-10";
  p.age_band = "35-44";
  return p;
}

matching::PairFacts facts_of(const matching::Criteria& c, const matching::AnonymisedProfile& p) {
  matching::Scorer scorer(reference());
  return matching::pair_facts(scorer.score(c, p), c, p);
}

}  // namespace

TEST_SUITE_BEGIN("node");

TEST_CASE("success model: the feature list has no protected attribute, and they change nothing") {
  const char* protected_words[] = {
      "age",   "gender",   "sex",     "nationality", "national", "birth", "name",   "email",
      "phone", "religion", "disabil", "marital",     "family",   "race",  "ethnic", "pregnan",
      "union", "health",   "origin",  "address",     "contact",  "photo"};
  for (const auto& f : kSuccessFeatures) {
    std::string code = f.code;
    // Compare whole words of the code ("category_match" has "age" in no word).
    std::vector<std::string> words;
    std::string word;
    for (char ch : code + "_") {
      if (ch == '_') {
        words.push_back(word);
        word.clear();
      } else {
        word += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
    }
    for (const auto* bad : protected_words)
      for (const auto& w : words) {
        INFO(code);
        CHECK(w.rfind(bad, 0) != 0);
      }
    CHECK(std::string(f.ja).find("年齢") == std::string::npos);
    CHECK(std::string(f.ja).find("性別") == std::string::npos);
    CHECK(std::string(f.ja).find("国籍") == std::string::npos);
  }

  const auto c = forklift_job();
  const auto base = facts_of(c, driver());
  auto other = driver();
  other.age_band = "55-64";
  other.age = 58;
  other.gender = "female";
  other.nationality = "VN";
  other.name = "山田 花子";
  other.email = "hanako@example.jp";
  const auto changed = facts_of(c, other);
  CHECK(changed.values == base.values);
  CHECK(changed.to_json() == base.to_json());
  CHECK(base.to_json().dump().find("35-44") == std::string::npos);  // the age band is not kept
}

TEST_CASE("success model: pair facts mirror the matcher's reasons") {
  const auto f = facts_of(forklift_job(), driver());
  CHECK(f.values[matching::kCategoryMatch] == 1);
  CHECK(f.values[matching::kSamePrefecture] == 0);
  CHECK(f.values[matching::kSameRegion] == 1);  // JP-27 and JP-28 are both Kinki
  CHECK(f.values[matching::kExperienceFit] == 1);
  CHECK(f.values[matching::kExperienceGap] == 0);
  CHECK(f.values[matching::kRequiredSkills] == doctest::Approx(0.5));
  CHECK(f.values[matching::kPreferredSkills] == 0);
  CHECK(f.values[matching::kDesiredRole] == 0);
  CHECK(f.values[matching::kAlumni] == 0);
  CHECK(matching::PairFacts::from_json(f.to_json()).values == f.values);
  CHECK(matching::region_of("JP-13") == "kanto");
  CHECK(matching::region_of("JP-47") == "kyushu");
  CHECK(matching::region_of("XX-01").empty());

  auto junior = driver();
  junior.experience_band = "0";  // two bands below 3-5
  junior.prefecture = "JP-13";   // another region
  const auto j = facts_of(forklift_job(), junior);
  CHECK(j.values[matching::kExperienceFit] == 0);
  CHECK(j.values[matching::kExperienceGap] == 2);
  CHECK(j.values[matching::kSameRegion] == 0);
}

TEST_CASE("success model: drivers are weight × value, sorted by |effect|, with labels") {
  matching::FeatureVector w{};
  w[matching::kCategoryMatch] = 1.2;
  w[matching::kRequiredSkills] = 0.8;
  w[matching::kExperienceGap] = -0.9;
  w[matching::kSameRegion] = 0.1;
  const matching::SuccessModel model(-2.0, w);
  matching::FeatureVector x{};
  x[matching::kCategoryMatch] = 1;
  x[matching::kRequiredSkills] = 0.5;
  x[matching::kExperienceGap] = 2;
  const auto p = model.predict(x);
  const double z = -2.0 + 1.2 + 0.4 - 1.8;
  CHECK(p.probability == doctest::Approx(1 / (1 + std::exp(-z))));
  REQUIRE(p.drivers.size() == 3);  // same_region is 0: not a driver
  CHECK(p.drivers[0].feature == "experience_gap");
  CHECK(p.drivers[0].effect == doctest::Approx(-1.8));
  CHECK(p.drivers[1].feature == "category_match");
  CHECK(p.drivers[1].effect == doctest::Approx(1.2));
  CHECK(p.drivers[1].label_ja == "希望職種が同じ");
  CHECK(p.drivers[1].label_en == "Same job category");
  CHECK(p.drivers[2].feature == "required_skills");
  CHECK(p.drivers[2].effect == doctest::Approx(0.4));
  const auto j = p.to_json();
  CHECK(j.at("drivers").size() == 3);
  CHECK(j.at("drivers")[0].at("effect").get<double>() == doctest::Approx(-1.8));
  CHECK(j.at("probability").get<double>() == doctest::Approx(p.probability).epsilon(1e-3));
}

TEST_CASE("success model: aggregate priors change predictions") {
  // Outcomes whose rate depends on the profile's category × prefecture cell, and peers' tables
  // that know those cells: the model learns to trust the prior.
  std::vector<matching::OutcomePrior> priors = {
      {"H", "JP-28", 400, 200, 160},  // 40% hired and retained
      {"B", "JP-13", 400, 60, 20},    // 5%
  };
  const matching::PriorTable table(priors);
  CHECK(table.feature("H", "JP-28") > 0);
  CHECK(table.feature("B", "JP-13") < 0);
  CHECK(table.feature("C", "JP-01") == 0);  // unknown cell: no information
  CHECK(matching::PriorTable().feature("H", "JP-28") == 0);

  std::vector<matching::Example> examples;
  for (int i = 0; i < 400; ++i) {
    matching::PairFacts f;
    const bool good_cell = i % 2 == 0;
    f.job_category = good_cell ? "H" : "B";
    f.prefecture = good_cell ? "JP-28" : "JP-13";
    f.values[matching::kCategoryMatch] = i % 3 == 0 ? 1 : 0;
    // 40% vs 5% successes, deterministic.
    const bool success = good_cell ? (i % 10 < 4) : (i % 40 == 1);
    examples.push_back({table.complete(f), success});
  }
  const auto model = matching::SuccessModel::fit(examples);
  CHECK(model.weights()[matching::kCategoryPrior] > 0.5);

  matching::PairFacts pair;
  pair.job_category = "H";
  pair.prefecture = "JP-28";
  pair.values[matching::kCategoryMatch] = 1;
  const auto with_priors = model.predict(table.complete(pair));
  const auto without = model.predict(matching::PriorTable().complete(pair));
  const auto other_priors = model.predict(
      matching::PriorTable({{"H", "JP-28", 400, 100, 8}, {"B", "JP-13", 400, 100, 80}})
          .complete(pair));
  CHECK(with_priors.probability > without.probability + 0.05);
  CHECK(other_priors.probability < without.probability - 0.05);
  CHECK(std::any_of(with_priors.drivers.begin(), with_priors.drivers.end(),
                    [](const auto& d) { return d.feature == "category_prior" && d.effect > 0; }));
}

TEST_CASE("success model: a known rule is learned (AUC > 0.7, ECE < 0.05); no signal, no skill") {
  matching::SyntheticRule rule;
  const auto learned = matching::evaluate(reference(), rule, 3000, 3000, 7);
  INFO(learned.to_json().dump());
  CHECK(learned.auc > 0.7);
  CHECK(learned.calibration.ece < 0.05);
  // The true weights are recovered within the noise of 3000 rows (the logit noise shrinks them
  // a little), and features the rule ignores stay near 0.
  CHECK(learned.model.weights()[matching::kCategoryMatch] ==
        doctest::Approx(rule.category_match).epsilon(0.25));
  CHECK(learned.model.weights()[matching::kSamePrefecture] ==
        doctest::Approx(rule.same_prefecture).epsilon(0.35));
  CHECK(std::abs(learned.model.weights()[matching::kDesiredRole]) < 0.3);
  CHECK(learned.model.weights()[matching::kCategoryPrior] == 0);  // no aggregates: no weight

  rule.signal = false;
  const auto none = matching::evaluate(reference(), rule, 3000, 3000, 7);
  INFO(none.to_json().dump());
  CHECK(none.auc > 0.45);
  CHECK(none.auc < 0.55);
  CHECK(none.calibration.ece < 0.05);
}

TEST_CASE("success model: AUC and calibration arithmetic") {
  CHECK(matching::auc({0.1, 0.2, 0.3, 0.4}, {false, false, true, true}) == 1.0);
  CHECK(matching::auc({0.4, 0.3, 0.2, 0.1}, {false, false, true, true}) == 0.0);
  CHECK(matching::auc({0.5, 0.5, 0.5, 0.5}, {false, true, false, true}) == 0.5);
  CHECK(matching::auc({0.1, 0.2}, {true, true}) == 0.5);
  const auto c = matching::calibration({0.05, 0.05, 0.95, 0.95}, {false, true, true, true});
  REQUIRE(c.bins.size() == 10);
  CHECK(c.bins[0].count == 2);
  CHECK(c.bins[0].observed == 0.5);
  CHECK(c.bins[9].observed == 1.0);
  CHECK(c.ece == doctest::Approx(0.5 * 0.45 + 0.5 * 0.05));
}
