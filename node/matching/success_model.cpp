#include "node/matching/success_model.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace relay::node::matching {

namespace {

constexpr std::size_t kParams = kFeatureCount + 1;  // the intercept, then the weights
using Vec = std::array<double, kParams>;
using Mat = std::array<Vec, kParams>;

double sigmoid(double z) {
  return z >= 0 ? 1 / (1 + std::exp(-z)) : std::exp(z) / (1 + std::exp(z));
}

double round_to(double v, double scale) {
  return std::round(v * scale) / scale;
}

// Solves A x = b for a symmetric positive definite A (Cholesky); false if A is not.
bool solve(Mat a, Vec b, Vec& x) {
  for (std::size_t j = 0; j < kParams; ++j) {
    double d = a[j][j];
    for (std::size_t k = 0; k < j; ++k) d -= a[j][k] * a[j][k];
    if (!(d > 0)) return false;
    a[j][j] = std::sqrt(d);
    for (std::size_t i = j + 1; i < kParams; ++i) {
      double s = a[i][j];
      for (std::size_t k = 0; k < j; ++k) s -= a[i][k] * a[j][k];
      a[i][j] = s / a[j][j];
    }
  }
  for (std::size_t i = 0; i < kParams; ++i) {  // L y = b
    for (std::size_t k = 0; k < i; ++k) b[i] -= a[i][k] * b[k];
    b[i] /= a[i][i];
  }
  for (std::size_t i = kParams; i-- > 0;) {  // Lᵀ x = y
    for (std::size_t k = i + 1; k < kParams; ++k) b[i] -= a[k][i] * b[k];
    b[i] /= a[i][i];
  }
  x = b;
  return true;
}

double linear(const Vec& theta, const FeatureVector& x) {
  double z = theta[0];
  for (std::size_t i = 0; i < kFeatureCount; ++i) z += theta[i + 1] * x[i];
  return z;
}

// The penalised log-likelihood (to be maximised).
double objective(const Vec& theta, const std::vector<Example>& examples, double l2) {
  double ll = 0;
  for (const auto& e : examples) {
    const double z = linear(theta, e.x);
    // log σ(z) or log(1 − σ(z)), computed stably.
    const double s = e.success ? z : -z;
    ll -= s >= 0 ? std::log1p(std::exp(-s)) : -s + std::log1p(std::exp(s));
  }
  for (std::size_t i = 1; i < kParams; ++i) ll -= 0.5 * l2 * theta[i] * theta[i];
  return ll;
}

}  // namespace

nlohmann::json Driver::to_json() const {
  return {{"feature", feature},
          {"label_ja", label_ja},
          {"label_en", label_en},
          {"effect", round_to(effect, 1000)}};
}

nlohmann::json Prediction::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& d : drivers) list.push_back(d.to_json());
  return {{"probability", round_to(probability, 10000)}, {"drivers", std::move(list)}};
}

SuccessModel::SuccessModel(double intercept, const FeatureVector& weights)
    : intercept_(intercept), weights_(weights) {}

SuccessModel SuccessModel::fit(const std::vector<Example>& examples, const FitOptions& options) {
  Vec theta{};
  // Start at the base rate (smoothed), so the first Newton step is already small.
  double positives = 0;
  for (const auto& e : examples) positives += e.success;
  theta[0] = std::log((positives + 0.5) / (static_cast<double>(examples.size()) - positives + 0.5));
  SuccessModel model;
  double current = objective(theta, examples, options.l2);
  for (int it = 0; it < options.max_iterations; ++it) {
    // Gradient and Hessian of the penalised log-likelihood: g = Xᵀ(y − p) − λw,
    // H = XᵀWX + λI (W = p(1 − p); no penalty on the intercept).
    Vec g{};
    Mat h{};
    for (const auto& e : examples) {
      const double p = sigmoid(linear(theta, e.x));
      const double r = (e.success ? 1.0 : 0.0) - p;
      const double w = std::max(p * (1 - p), 1e-12);
      Vec row;
      row[0] = 1;
      for (std::size_t i = 0; i < kFeatureCount; ++i) row[i + 1] = e.x[i];
      for (std::size_t i = 0; i < kParams; ++i) {
        if (row[i] == 0) continue;
        g[i] += r * row[i];
        for (std::size_t j = 0; j <= i; ++j) h[i][j] += w * row[i] * row[j];
      }
    }
    for (std::size_t i = 0; i < kParams; ++i)
      for (std::size_t j = 0; j < i; ++j) h[j][i] = h[i][j];
    for (std::size_t i = 1; i < kParams; ++i) {
      g[i] -= options.l2 * theta[i];
      h[i][i] += options.l2;
    }
    h[0][0] += 1e-9;  // no examples at all still gives a definite system
    Vec step;
    if (!solve(h, g, step)) break;
    // Newton's step, halved until the objective does not get worse (it rarely needs to).
    double scale = 1;
    Vec next{};
    double value = current;
    for (int k = 0; k < 30; ++k) {
      for (std::size_t i = 0; i < kParams; ++i) next[i] = theta[i] + scale * step[i];
      value = objective(next, examples, options.l2);
      if (value >= current - 1e-12) break;
      scale /= 2;
    }
    double moved = 0;
    for (std::size_t i = 0; i < kParams; ++i) moved = std::max(moved, std::abs(next[i] - theta[i]));
    theta = next;
    current = value;
    model.iterations_ = it + 1;
    if (moved < options.tolerance) break;
  }
  model.intercept_ = theta[0];
  for (std::size_t i = 0; i < kFeatureCount; ++i) model.weights_[i] = theta[i + 1];
  return model;
}

double SuccessModel::probability(const FeatureVector& x) const {
  double z = intercept_;
  for (std::size_t i = 0; i < kFeatureCount; ++i) z += weights_[i] * x[i];
  return sigmoid(z);
}

Prediction SuccessModel::predict(const FeatureVector& x) const {
  Prediction p;
  p.probability = probability(x);
  for (std::size_t i = 0; i < kFeatureCount; ++i) {
    const double effect = weights_[i] * x[i];
    if (x[i] == 0 || effect == 0) continue;
    const auto& info = kSuccessFeatures[i];
    p.drivers.push_back({info.code, info.ja, info.en, effect});
  }
  std::stable_sort(p.drivers.begin(), p.drivers.end(), [](const Driver& a, const Driver& b) {
    return std::abs(a.effect) > std::abs(b.effect);
  });
  return p;
}

nlohmann::json SuccessModel::to_json() const {
  nlohmann::json weights = nlohmann::json::object();
  for (std::size_t i = 0; i < kFeatureCount; ++i) weights[kSuccessFeatures[i].code] = weights_[i];
  return {{"intercept", intercept_}, {"weights", std::move(weights)}};
}

}  // namespace relay::node::matching
