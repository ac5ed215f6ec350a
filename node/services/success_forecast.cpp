#include "node/services/success_forecast.hpp"

#include <spdlog/spdlog.h>

#include "node/storage/txn.hpp"

namespace relay::node::services {

using introductions::Introduction;
using introductions::IntroductionState;
using introductions::Outcome;

SuccessForecast::SuccessForecast(storage::Environment& env,
                                 const introductions::Introductions& introductions,
                                 const common::Clock& clock, SuccessSettings settings)
    : env_(env),
      introductions_(introductions),
      clock_(clock),
      settings_(settings),
      facts_(env.database("success_facts")) {}

void SuccessForecast::record(storage::WriteTxn& txn, const std::string& introduction,
                             const matching::PairFacts& facts) {
  txn.put(facts_, introduction, facts.to_json().dump());
}

std::optional<bool> SuccessForecast::label(const Introduction& i) {
  if (i.state != IntroductionState::delivered) return std::nullopt;
  if (i.has(Outcome::retained_6m) || i.has(Outcome::retained_12m)) return true;
  if (i.has(Outcome::not_hired) || i.has(Outcome::left)) return false;
  return std::nullopt;
}

std::size_t SuccessForecast::train() {
  std::vector<matching::OutcomePrior> priors;
  {
    std::lock_guard lock(mutex_);
    priors = priors_;
  }
  auto table = matching::PriorTable(priors);
  std::vector<matching::Example> examples;
  std::size_t successes = 0;
  {
    auto txn = env_.begin_read();
    std::vector<std::pair<std::string, matching::PairFacts>> kept;
    txn.for_each_prefix(facts_, "", [&](std::string_view id, std::string_view value) {
      kept.emplace_back(std::string(id),
                        matching::PairFacts::from_json(nlohmann::json::parse(value)));
    });
    for (const auto& [id, facts] : kept) {
      auto intro = introductions_.get(txn, id);
      if (!intro) continue;
      auto success = label(*intro);
      if (!success) continue;
      examples.push_back({table.complete(facts), *success});
      successes += *success;
    }
  }
  const auto n = examples.size();
  std::shared_ptr<const SuccessSnapshot> next;
  if (n >= settings_.min_outcomes && successes > 0 && successes < n)
    next = std::make_shared<const SuccessSnapshot>(SuccessSnapshot{
        matching::SuccessModel::fit(examples), std::move(table), n, successes, clock_.now_ms()});
  // Counts only (one line per pass: after each outcome, and each period).
  spdlog::info("success model: {} ({} resolved outcome(s), {} successful, {} needed)",
               next ? "trained" : "not trained", n, successes, settings_.min_outcomes);
  {
    std::lock_guard lock(mutex_);
    snapshot_ = std::move(next);
  }
  return n;
}

std::shared_ptr<const SuccessSnapshot> SuccessForecast::current() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

void SuccessForecast::set_priors(std::vector<matching::OutcomePrior> priors) {
  std::lock_guard lock(mutex_);
  priors_ = std::move(priors);
}

}  // namespace relay::node::services
