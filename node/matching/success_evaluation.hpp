#pragma once
// Evaluating the success model on data generated from a known rule (scripts/evaluate runs
// relay-evaluate, which calls evaluate() below; a unit test runs a small version).
//
// The synthetic rule: random requisitions and profiles drawn from the reference data are
// scored by the real Scorer and turned into features by the real pair_facts; the outcome is
//   logit P = -2.5 + 2.0·category_match + 1.0·same_prefecture + 0.8·experience_fit + ε,
//   ε ~ Normal(0, 0.5)
// (every other feature has a true weight of 0), and success ~ Bernoulli(P). Without signal the
// outcome is Bernoulli(σ(-2.5)) whatever the features. The model is fitted on the training rows
// and measured on the test rows: AUC (the rank statistic) and calibration (10 equal-width bins
// of the predicted probability: mean predicted vs observed, and the expected calibration error
// ECE = Σ bin share × |observed − mean predicted|).
//
// Pure functions of their inputs and seed: use from any thread.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "config/reference.hpp"
#include "node/matching/success_model.hpp"

namespace relay::node::matching {

// The true rule's parameters (documented above; kSyntheticRule is the default).
struct SyntheticRule {
  double intercept = -2.5;
  double category_match = 2.0;
  double same_prefecture = 1.0;
  double experience_fit = 0.8;
  double noise_sd = 0.5;
  bool signal = true;             // false: the outcome ignores every feature
  SuccessModel as_model() const;  // the rule without its noise, as model parameters
};

// n examples from rule, drawn with seed.
std::vector<Example> synthetic_examples(const config::Reference& reference,
                                        const SyntheticRule& rule, std::size_t n,
                                        std::uint64_t seed);

// The area under the ROC curve, as the Mann-Whitney rank statistic (ties count one half);
// 0.5 when either class is empty.
double auc(const std::vector<double>& scores, const std::vector<bool>& labels);

struct CalibrationBin {
  double lower = 0, upper = 0;
  std::size_t count = 0;
  double mean_predicted = 0;
  double observed = 0;  // share of successes
};
struct Calibration {
  std::vector<CalibrationBin> bins;  // 10 equal-width bins over 0..1
  double ece = 0;
};
Calibration calibration(const std::vector<double>& scores, const std::vector<bool>& labels,
                        std::size_t bins = 10);

struct EvaluationReport {
  SyntheticRule rule;
  std::size_t train = 0, test = 0;
  std::uint64_t seed = 0;
  double base_rate = 0;  // share of successes in the test rows
  double auc = 0;
  double oracle_auc = 0;  // the true rule's (noise-free) AUC on the same test rows
  Calibration calibration;
  SuccessModel model;
  nlohmann::json to_json() const;
};

// Fits SuccessModel on `train` rows and measures it on `test` rows (different seeds).
EvaluationReport evaluate(const config::Reference& reference, const SyntheticRule& rule,
                          std::size_t train, std::size_t test, std::uint64_t seed);

}  // namespace relay::node::matching
