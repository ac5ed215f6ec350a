// matching_bench: ranking 100k circulated profiles for one requisition (issue 14: target
// p95 < 50 ms on this machine), measured against a raw limit in the same run: a plain loop
// that reads every profile's feature fields once (category, each skill, prefecture, band,
// each desired role) and does nothing else. The ratio says what scoring costs over touching
// the data at all.
// Usage: matching_bench [--profiles N] [--runs R] [--limit K]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "config/node_config.hpp"
#include "config/reference.hpp"
#include "node/matching/scorer.hpp"

namespace matching = relay::node::matching;
using Clock = std::chrono::steady_clock;

namespace {

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A checksum over every feature byte's length, so the compiler keeps the raw loop.
std::size_t touch(const std::vector<matching::AnonymisedProfile>& profiles) {
  std::size_t sum = 0;
  for (const auto& p : profiles) {
    sum += static_cast<unsigned char>(p.job_category.empty() ? 0 : p.job_category[0]);
    for (const auto& s : p.skills) sum += s.size() + static_cast<unsigned char>(s[0]);
    sum += p.prefecture.size() + p.experience_band.size();
    for (const auto& r : p.desired_roles) sum += r.size();
  }
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 100'000, runs = 50, limit = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    auto value = static_cast<std::size_t>(std::strtoull(argv[i + 1], nullptr, 10));
    if (flag == "--profiles")
      n = value;
    else if (flag == "--runs")
      runs = value;
    else if (flag == "--limit")
      limit = value;
  }
  auto loaded = relay::config::load_reference(relay::config::default_reference_dir());
  if (!loaded) {
    std::fprintf(stderr, "matching_bench: %s\n", loaded.error_text().c_str());
    return 2;
  }
  const auto& ref = loaded.value();
  std::vector<std::string> skills = ref.skills;
  for (int i = 0; i < 200; ++i) skills.push_back("skill-" + std::to_string(i));

  std::mt19937 rng(14);
  auto pick = [&](const auto& v) -> const auto& {
    return v[rng() % v.size()];
  };
  std::vector<matching::AnonymisedProfile> profiles(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto& p = profiles[i];
    p.ref = "c" + std::to_string(i);
    p.job_category = pick(ref.job_categories).code;
    for (int s = 0, k = 2 + static_cast<int>(rng() % 6); s < k; ++s)
      p.skills.push_back(pick(skills));
    p.prefecture = pick(ref.prefectures).code;
    p.experience_band = pick(ref.experience_bands).code;
    p.age_band = pick(ref.age_bands).code;
    if (rng() % 2) p.desired_roles.push_back("倉庫作業");
  }
  matching::Criteria c;
  c.title = "倉庫内フォークリフト作業（倉庫作業）";
  c.category = ref.job_categories.at(8).code;
  c.required_skills = {skills.at(0), skills.at(1), skills.at(2)};
  c.preferred_skills = {skills.at(3), skills.at(4)};
  c.prefectures = {"JP-28", "JP-27"};
  c.experience_band = "3-5";

  matching::Scorer scorer(ref);
  std::vector<double> rank_ms, raw_ms;
  std::size_t sink = 0;
  for (std::size_t r = 0; r < runs; ++r) {
    auto t0 = Clock::now();
    sink += touch(profiles);
    raw_ms.push_back(ms_since(t0));
    auto t1 = Clock::now();
    auto top = scorer.rank(c, profiles, limit);
    rank_ms.push_back(ms_since(t1));
    sink += top.size() + static_cast<std::size_t>(top.empty() ? 0 : top[0].score);
  }
  const double p50 = percentile(rank_ms, 0.50), p95 = percentile(rank_ms, 0.95);
  const double raw50 = percentile(raw_ms, 0.50), raw95 = percentile(raw_ms, 0.95);
  auto best = scorer.rank(c, profiles, 1);
  std::printf("matching_bench: %zu profiles, top %zu, %zu runs (checksum %zu)\n", n, limit, runs,
              sink);
  std::printf("  %-34s %9s %9s\n", "", "p50 ms", "p95 ms");
  std::printf("  %-34s %9.2f %9.2f\n", "raw limit (read every feature once)", raw50, raw95);
  std::printf("  %-34s %9.2f %9.2f\n", "Scorer::rank", p50, p95);
  std::printf("  ratio rank / raw limit (p50)       %9.1fx\n", raw50 > 0 ? p50 / raw50 : 0.0);
  std::printf("  target p95 < 50 ms: %s\n", p95 < 50.0 ? "met" : "NOT met");
  if (!best.empty()) {
    std::printf("  best match %s, score %d:\n", best[0].ref.c_str(), best[0].score);
    for (const auto& reason : best[0].reasons)
      std::printf("    %+4d  %s / %s\n", reason.points, reason.ja.c_str(), reason.en.c_str());
  }
  return p95 < 50.0 ? 0 : 1;
}
