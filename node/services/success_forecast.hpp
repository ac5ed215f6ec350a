#pragma once
// The success forecast: keeps each introduction's pair facts (matching/success_features.hpp)
// from the moment it is made, trains the success model from the node's resolved outcomes and
// the aggregate priors it is given, and serves the trained model to matching.
//
// Training data: every delivered introduction of this node whose outcome is resolved —
// success when retained_6m (or retained_12m) was reported, failure when not_hired, or left
// before retained_6m; a hire still under 6 months, or with no outcome yet, is left out — with
// the facts kept when it was made. Priors (category × prefecture, from peers' aggregate
// tables) come in through set_priors(); pass peers' cells only, since the node's own
// introductions already train the model directly.
//
// Until there are `min_outcomes` resolved introductions with both results among them, the
// model is "not trained": current() is null and no probability is shown anywhere.
//
// Databases: success_facts (introduction id -> PairFacts JSON: codes and numbers only).
//
// Threads: record() inside a Writer request; train() on the retraining loop's thread (it reads
// one read txn and never waits on the Writer); current() and set_priors() from any thread.
// Requests read an immutable snapshot: train() builds a new one and swaps the pointer.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "node/common/clock.hpp"
#include "node/introductions/introduction.hpp"
#include "node/matching/success_model.hpp"
#include "node/storage/environment.hpp"

namespace relay::node::services {

struct SuccessSettings {
  std::size_t min_outcomes = 30;  // matching.success_min_outcomes
};

// A trained model and the priors it was trained with.
struct SuccessSnapshot {
  matching::SuccessModel model;
  matching::PriorTable priors;
  std::size_t outcomes = 0;   // resolved introductions it was trained on
  std::size_t successes = 0;  // of which hired and retained 6 months
  std::int64_t trained_ms = 0;

  matching::Prediction predict(const matching::PairFacts& facts) const {
    return model.predict(priors.complete(facts));
  }
};

class SuccessForecast {
 public:
  SuccessForecast(storage::Environment& env, const introductions::Introductions& introductions,
                  const common::Clock& clock, SuccessSettings settings);

  // Keeps the facts of an introduction just made, in its txn.
  void record(storage::WriteTxn& txn, const std::string& introduction,
              const matching::PairFacts& facts);
  // Trains from what is committed now and swaps the snapshot (null below the minimum).
  // Returns the number of resolved outcomes found.
  std::size_t train();
  // The trained model, or null when not trained.
  std::shared_ptr<const SuccessSnapshot> current() const;
  // Peers' category × prefecture aggregates; used from the next train().
  void set_priors(std::vector<matching::OutcomePrior> priors);

  // Whether an introduction's outcome is resolved, and how: see above.
  static std::optional<bool> label(const introductions::Introduction& introduction);

 private:
  storage::Environment& env_;
  const introductions::Introductions& introductions_;
  const common::Clock& clock_;
  SuccessSettings settings_;
  storage::Database facts_;
  mutable std::mutex mutex_;  // guards snapshot_ and priors_ (pointer copies only)
  std::shared_ptr<const SuccessSnapshot> snapshot_;
  std::vector<matching::OutcomePrior> priors_;
};

}  // namespace relay::node::services
