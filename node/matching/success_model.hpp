#pragma once
// The success model: P(an introduction leads to a hire that lasts 6 months) for a (profile,
// requisition) pair, as an L2-regularised logistic regression over the job-related features of
// success_features.hpp, fitted by Newton's method (IRLS) in plain C++.
//
//   logit P = intercept + Σ weight[i] × x[i]
//
// Every prediction carries its drivers: each feature with a non-zero value, its labels and its
// effect = weight × value in log-odds, largest |effect| first. The intercept (the node's base
// rate) is not a driver. The model only estimates; it never decides or introduces anyone.
//
// Threads: a fitted SuccessModel is immutable; predict from any number of threads.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "node/matching/success_features.hpp"

namespace relay::node::matching {

// One resolved introduction: its features (prior included) and whether the person was hired
// and stayed 6 months.
struct Example {
  FeatureVector x{};
  bool success = false;
};

struct Driver {
  std::string feature;
  std::string label_ja;
  std::string label_en;
  double effect = 0;               // weight × value, log-odds
  nlohmann::json to_json() const;  // {"feature","label_ja","label_en","effect"} (3 decimals)
};

struct Prediction {
  double probability = 0;
  std::vector<Driver> drivers;
  nlohmann::json to_json() const;  // {"probability" (4 decimals), "drivers": [...]}
};

struct FitOptions {
  // The penalty λ/2 × |weights|² (the intercept is not penalised). With a few dozen outcomes
  // it keeps a weight from chasing a handful of rows; with thousands it barely matters.
  double l2 = 1.0;
  int max_iterations = 100;
  double tolerance = 1e-9;  // stop when no parameter moves more than this
};

class SuccessModel {
 public:
  // Fits the model to examples (at least one of each class is needed for a meaningful fit;
  // the caller decides how many are enough).
  static SuccessModel fit(const std::vector<Example>& examples, const FitOptions& options = {});
  // From known parameters (tests, the evaluation's true rule).
  SuccessModel(double intercept, const FeatureVector& weights);

  double probability(const FeatureVector& x) const;
  Prediction predict(const FeatureVector& x) const;

  double intercept() const { return intercept_; }
  const FeatureVector& weights() const { return weights_; }
  int iterations() const { return iterations_; }
  // {"intercept", "weights": {code: weight}}
  nlohmann::json to_json() const;

 private:
  SuccessModel() = default;
  double intercept_ = 0;
  FeatureVector weights_{};
  int iterations_ = 0;
};

}  // namespace relay::node::matching
