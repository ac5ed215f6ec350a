#include "node/matching/success_features.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace relay::node::matching {

const std::array<FeatureInfo, kFeatureCount> kSuccessFeatures = {{
    {"category_match", "希望職種が同じ", "Same job category"},
    {"same_prefecture", "勤務地と同じ都道府県", "Same prefecture"},
    {"same_region", "勤務地と同じ地方（別の都道府県）", "Same region (another prefecture)"},
    {"experience_fit", "経験年数が条件以上", "Experience meets the band"},
    {"experience_gap", "経験年数が条件より短い（段階数）", "Experience bands below the wanted one"},
    {"required_skills", "必須スキルの充足率", "Share of required skills held"},
    {"preferred_skills", "歓迎スキルの充足率", "Share of preferred skills held"},
    {"desired_role", "希望する職務が求人名にある", "Desired role in the title"},
    {"alumni", "この会社の退職者（再雇用）", "Alumni of this company (re-hire)"},
    {"category_prior", "この職種×都道府県の紹介実績（集計）",
     "Track record of this category × prefecture (aggregates)"},
}};

std::string_view region_of(std::string_view prefecture) {
  if (prefecture.size() != 5 || prefecture.substr(0, 3) != "JP-") return {};
  const int a = prefecture[3] - '0', b = prefecture[4] - '0';
  if (a < 0 || a > 9 || b < 0 || b > 9) return {};
  const int n = a * 10 + b;
  if (n == 1) return "hokkaido";
  if (n >= 2 && n <= 7) return "tohoku";
  if (n >= 8 && n <= 14) return "kanto";
  if (n >= 15 && n <= 23) return "chubu";
  if (n >= 24 && n <= 30) return "kinki";
  if (n >= 31 && n <= 35) return "chugoku";
  if (n >= 36 && n <= 39) return "shikoku";
  if (n >= 40 && n <= 47) return "kyushu";
  return {};
}

nlohmann::json PairFacts::to_json() const {
  nlohmann::json features = nlohmann::json::object();
  for (std::size_t i = 0; i < kFeatureCount; ++i)
    if (i != kCategoryPrior && values[i] != 0) features[kSuccessFeatures[i].code] = values[i];
  return {{"job_category", job_category}, {"prefecture", prefecture}, {"features", features}};
}

PairFacts PairFacts::from_json(const nlohmann::json& j) {
  PairFacts f;
  f.job_category = j.value("job_category", "");
  f.prefecture = j.value("prefecture", "");
  if (auto it = j.find("features"); it != j.end() && it->is_object())
    for (std::size_t i = 0; i < kFeatureCount; ++i)
      if (i != kCategoryPrior)
        if (auto v = it->find(kSuccessFeatures[i].code); v != it->end() && v->is_number())
          f.values[i] = v->get<double>();
  return f;
}

PairFacts pair_facts(const Match& match, const Criteria& criteria,
                     const AnonymisedProfile& profile) {
  PairFacts f;
  f.job_category = profile.job_category;
  f.prefecture = profile.prefecture;
  auto& v = f.values;
  double required = 0, preferred = 0;
  for (const auto& r : match.reasons) {
    if (r.feature == "category") v[kCategoryMatch] = 1;
    if (r.feature == "prefecture") v[kSamePrefecture] = 1;
    if (r.feature == "experience") v[kExperienceFit] = 1;
    if (r.feature == "experience_below") v[kExperienceGap] = r.points / Points::experience_below;
    if (r.feature == "required_skill") ++required;
    if (r.feature == "preferred_skill") ++preferred;
    if (r.feature == "desired_role") v[kDesiredRole] = 1;
    if (r.feature == "alumni") v[kAlumni] = 1;
  }
  if (!criteria.required_skills.empty())
    v[kRequiredSkills] = required / static_cast<double>(criteria.required_skills.size());
  if (!criteria.preferred_skills.empty())
    v[kPreferredSkills] = preferred / static_cast<double>(criteria.preferred_skills.size());
  const auto region = region_of(profile.prefecture);
  if (v[kSamePrefecture] == 0 && !region.empty())
    for (const auto& p : criteria.prefectures)
      if (region_of(p) == region) v[kSameRegion] = 1;
  return f;
}

namespace {
double logit(double p) {
  p = std::clamp(p, 1e-4, 1 - 1e-4);
  return std::log(p / (1 - p));
}
std::string cell_key(std::string_view category, std::string_view prefecture) {
  return std::string(category) + "/" + std::string(prefecture);
}
}  // namespace

PriorTable::PriorTable(const std::vector<OutcomePrior>& input) {
  // Cells may repeat (one per peer, or per age and experience band): sum them first.
  std::map<std::string, std::pair<double, double>> sums;  // introductions, retained
  double total = 0, retained = 0;
  for (const auto& c : input) {
    if (c.introductions == 0) continue;
    // A table claiming more retained than introduced is clipped, not trusted.
    const auto kept = static_cast<double>(std::min(c.retained_6m, c.introductions));
    auto& s = sums[cell_key(c.job_category, c.prefecture)];
    s.first += static_cast<double>(c.introductions);
    s.second += kept;
    total += static_cast<double>(c.introductions);
    retained += kept;
  }
  if (total == 0) return;
  const double overall = retained / total;
  for (const auto& [key, s] : sums) {
    const double rate = (s.second + kPseudoCount * overall) / (s.first + kPseudoCount);
    cells_.push_back({key, logit(rate) - logit(overall)});
  }
}

double PriorTable::feature(std::string_view job_category, std::string_view prefecture) const {
  const auto key = cell_key(job_category, prefecture);
  auto it = std::lower_bound(cells_.begin(), cells_.end(), key,
                             [](const Cell& c, const std::string& k) { return c.key < k; });
  return it != cells_.end() && it->key == key ? it->feature : 0.0;
}

FeatureVector PriorTable::complete(const PairFacts& facts) const {
  auto x = facts.values;
  x[kCategoryPrior] = feature(facts.job_category, facts.prefecture);
  return x;
}

}  // namespace relay::node::matching
