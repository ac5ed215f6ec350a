#include "node/matching/success_evaluation.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace relay::node::matching {

namespace {

template <class T>
const T& pick(const std::vector<T>& list, std::mt19937_64& rng) {
  return list[std::uniform_int_distribution<std::size_t>(0, list.size() - 1)(rng)];
}

bool chance(double p, std::mt19937_64& rng) {
  return std::bernoulli_distribution(p)(rng);
}

double round_to(double v, double scale) {
  return std::round(v * scale) / scale;
}

}  // namespace

SuccessModel SyntheticRule::as_model() const {
  FeatureVector w{};
  if (signal) {
    w[kCategoryMatch] = category_match;
    w[kSamePrefecture] = same_prefecture;
    w[kExperienceFit] = experience_fit;
  }
  return SuccessModel(intercept, w);
}

std::vector<Example> synthetic_examples(const config::Reference& reference,
                                        const SyntheticRule& rule, std::size_t n,
                                        std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, rule.noise_sd);
  Scorer scorer(reference);
  std::vector<std::string> categories, prefectures, bands;
  for (const auto& c : reference.job_categories) categories.push_back(c.code);
  for (const auto& p : reference.prefectures) prefectures.push_back(p.code);
  for (const auto& b : reference.experience_bands) bands.push_back(b.code);
  // A small pool of skills, so that requisitions and profiles share some.
  std::vector<std::string> skills(
      reference.skills.begin(),
      reference.skills.begin() +
          static_cast<std::ptrdiff_t>(std::min<std::size_t>(reference.skills.size(), 12)));
  const auto truth = rule.as_model();
  std::vector<Example> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    Criteria c;
    c.category = pick(categories, rng);
    c.prefectures = {pick(prefectures, rng)};
    if (chance(0.3, rng)) c.prefectures.push_back(pick(prefectures, rng));
    c.experience_band = chance(0.2, rng) ? "" : pick(bands, rng);
    for (int k = std::uniform_int_distribution<int>(0, 3)(rng); k > 0 && !skills.empty(); --k) {
      const auto& s = pick(skills, rng);
      if (std::find(c.required_skills.begin(), c.required_skills.end(), s) ==
          c.required_skills.end())
        c.required_skills.push_back(s);
    }
    for (int k = std::uniform_int_distribution<int>(0, 2)(rng); k > 0 && !skills.empty(); --k) {
      const auto& s = pick(skills, rng);
      if (std::find(c.required_skills.begin(), c.required_skills.end(), s) ==
              c.required_skills.end() &&
          std::find(c.preferred_skills.begin(), c.preferred_skills.end(), s) ==
              c.preferred_skills.end())
        c.preferred_skills.push_back(s);
    }
    AnonymisedProfile p;
    p.ref = "p" + std::to_string(i);
    p.job_category = chance(0.35, rng) ? c.category : pick(categories, rng);
    p.prefecture = chance(0.3, rng) ? pick(c.prefectures, rng) : pick(prefectures, rng);
    p.experience_band = pick(bands, rng);
    for (const auto& s : c.required_skills)
      if (chance(0.5, rng)) p.skills.push_back(s);
    for (int k = std::uniform_int_distribution<int>(0, 3)(rng); k > 0 && !skills.empty(); --k) {
      const auto& s = pick(skills, rng);
      if (std::find(p.skills.begin(), p.skills.end(), s) == p.skills.end()) p.skills.push_back(s);
    }
    p.alumnus = chance(0.05, rng);
    const auto facts = pair_facts(scorer.score(c, p), c, p);
    Example e;
    e.x = facts.values;  // no aggregates: the prior feature is 0
    const double z = std::log(truth.probability(e.x) / (1 - truth.probability(e.x))) + noise(rng);
    e.success = chance(1 / (1 + std::exp(-z)), rng);
    out.push_back(e);
  }
  return out;
}

double auc(const std::vector<double>& scores, const std::vector<bool>& labels) {
  const std::size_t n = scores.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  // Mid-ranks (1-based) for ties, then the positives' rank sum.
  double positive_ranks = 0, positives = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (std::size_t k = i; k < j; ++k)
      if (labels[order[k]]) {
        positive_ranks += rank;
        ++positives;
      }
    i = j;
  }
  const double negatives = static_cast<double>(n) - positives;
  if (positives == 0 || negatives == 0) return 0.5;
  return (positive_ranks - positives * (positives + 1) / 2) / (positives * negatives);
}

Calibration calibration(const std::vector<double>& scores, const std::vector<bool>& labels,
                        std::size_t bins) {
  Calibration c;
  c.bins.resize(bins);
  for (std::size_t b = 0; b < bins; ++b) {
    c.bins[b].lower = static_cast<double>(b) / static_cast<double>(bins);
    c.bins[b].upper = static_cast<double>(b + 1) / static_cast<double>(bins);
  }
  for (std::size_t i = 0; i < scores.size(); ++i) {
    auto b = static_cast<std::size_t>(scores[i] * static_cast<double>(bins));
    b = std::min(b, bins - 1);
    c.bins[b].count++;
    c.bins[b].mean_predicted += scores[i];
    c.bins[b].observed += labels[i] ? 1 : 0;
  }
  for (auto& bin : c.bins) {
    if (bin.count == 0) continue;
    bin.mean_predicted /= static_cast<double>(bin.count);
    bin.observed /= static_cast<double>(bin.count);
    c.ece += static_cast<double>(bin.count) / static_cast<double>(scores.size()) *
             std::abs(bin.observed - bin.mean_predicted);
  }
  return c;
}

nlohmann::json EvaluationReport::to_json() const {
  nlohmann::json bins = nlohmann::json::array();
  for (const auto& b : calibration.bins)
    bins.push_back({{"lower", b.lower},
                    {"upper", b.upper},
                    {"count", b.count},
                    {"mean_predicted", round_to(b.mean_predicted, 10000)},
                    {"observed", round_to(b.observed, 10000)}});
  const auto truth = rule.as_model();
  nlohmann::json weights = nlohmann::json::array();
  weights.push_back({{"feature", "intercept"},
                     {"true", truth.intercept()},
                     {"learned", round_to(model.intercept(), 1000)}});
  for (std::size_t i = 0; i < kFeatureCount; ++i)
    weights.push_back({{"feature", kSuccessFeatures[i].code},
                       {"true", truth.weights()[i]},
                       {"learned", round_to(model.weights()[i], 1000)}});
  return {{"signal", rule.signal},
          {"rule",
           {{"intercept", rule.intercept},
            {"category_match", rule.signal ? rule.category_match : 0},
            {"same_prefecture", rule.signal ? rule.same_prefecture : 0},
            {"experience_fit", rule.signal ? rule.experience_fit : 0},
            {"noise_sd", rule.noise_sd}}},
          {"train", train},
          {"test", test},
          {"seed", seed},
          {"base_rate", round_to(base_rate, 10000)},
          {"auc", round_to(auc, 10000)},
          {"oracle_auc", round_to(oracle_auc, 10000)},
          {"ece", round_to(calibration.ece, 10000)},
          {"calibration", std::move(bins)},
          {"weights", std::move(weights)}};
}

EvaluationReport evaluate(const config::Reference& reference, const SyntheticRule& rule,
                          std::size_t train, std::size_t test, std::uint64_t seed) {
  const auto train_rows = synthetic_examples(reference, rule, train, seed);
  const auto test_rows = synthetic_examples(reference, rule, test, seed + 1);
  EvaluationReport r{rule, train, test, seed, 0, 0, 0, {}, SuccessModel::fit(train_rows)};
  const auto truth = rule.as_model();
  std::vector<double> predicted, oracle;
  std::vector<bool> labels;
  for (const auto& e : test_rows) {
    predicted.push_back(r.model.probability(e.x));
    oracle.push_back(truth.probability(e.x));
    labels.push_back(e.success);
    r.base_rate += e.success ? 1 : 0;
  }
  if (!test_rows.empty()) r.base_rate /= static_cast<double>(test_rows.size());
  r.auc = auc(predicted, labels);
  r.oracle_auc = auc(oracle, labels);
  r.calibration = calibration(predicted, labels);
  return r;
}

}  // namespace relay::node::matching
