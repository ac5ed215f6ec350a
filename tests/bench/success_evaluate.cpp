// relay-evaluate: the success model (node/matching/success_model.hpp) fitted on synthetic data
// generated from a known rule (node/matching/success_evaluation.hpp), then measured on held-out
// rows: AUC, calibration in 10 bins with the ECE, and the learned weights against the true
// ones; and the same with no signal at all, to show it does not invent skill (AUC ≈ 0.5).
// Prints a summary and writes both reports as JSON. scripts/evaluate builds and runs it.
// Usage: relay-evaluate [--train N] [--test N] [--seed S] [--out FILE]
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "config/node_config.hpp"
#include "config/reference.hpp"
#include "node/matching/success_evaluation.hpp"

namespace matching = relay::node::matching;

namespace {

void print(const char* title, const matching::EvaluationReport& r) {
  std::printf("%s (train %zu, test %zu, seed %llu)\n", title, r.train, r.test,
              static_cast<unsigned long long>(r.seed));
  std::printf("  base rate %.4f   AUC %.4f (true rule %.4f)   ECE %.4f\n", r.base_rate, r.auc,
              r.oracle_auc, r.calibration.ece);
  std::printf("  calibration: bin       n  predicted  observed\n");
  for (const auto& b : r.calibration.bins)
    if (b.count > 0)
      std::printf("               %.1f-%.1f %6zu  %9.4f  %8.4f\n", b.lower, b.upper, b.count,
                  b.mean_predicted, b.observed);
  const auto truth = r.rule.as_model();
  std::printf("  weights:      %-18s %7s %8s\n", "feature", "true", "learned");
  std::printf("                %-18s %7.3f %8.3f\n", "intercept", truth.intercept(),
              r.model.intercept());
  for (std::size_t i = 0; i < matching::kFeatureCount; ++i)
    std::printf("                %-18s %7.3f %8.3f\n", matching::kSuccessFeatures[i].code,
                truth.weights()[i], r.model.weights()[i]);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t train = 20000, test = 5000;
  std::uint64_t seed = 16;
  std::string out = "success-evaluation.json";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    if (flag == "--train") {
      train = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (flag == "--test") {
      test = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (flag == "--seed") {
      seed = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (flag == "--out") {
      out = argv[i + 1];
    } else {
      std::fprintf(stderr, "relay-evaluate: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (argc % 2 == 0 || train < 10 || test < 10) {
    std::fprintf(stderr,
                 "usage: relay-evaluate [--train N>=10] [--test N>=10] [--seed S] [--out FILE]\n");
    return 2;
  }
  auto loaded = relay::config::load_reference(relay::config::default_reference_dir());
  if (!loaded) {
    std::fprintf(stderr, "relay-evaluate: %s\n", loaded.error_text().c_str());
    return 2;
  }
  const auto& reference = loaded.value();

  matching::SyntheticRule rule;
  auto with_signal = matching::evaluate(reference, rule, train, test, seed);
  rule.signal = false;
  auto no_signal = matching::evaluate(reference, rule, train, test, seed);
  print("known rule", with_signal);
  print("no signal", no_signal);

  std::ofstream file(out);
  file << nlohmann::json{{"with_signal", with_signal.to_json()}, {"no_signal", no_signal.to_json()}}
              .dump(2)
       << "\n";
  if (!file) {
    std::fprintf(stderr, "relay-evaluate: cannot write %s\n", out.c_str());
    return 1;
  }
  std::printf("written: %s\n", out.c_str());
  return 0;
}
