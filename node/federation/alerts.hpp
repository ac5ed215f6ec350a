#pragma once
// Operator alerts raised by federation (an identity refused against its pinned fingerprint, a
// delivery refused outright, an inconsistent checkpoint, an overdue receipt): logged at error
// level and kept for GET /api/v1/alerts. An alert names a peer and a kind; its message never
// carries personal data or message bodies.
//
// Database: alerts (8-byte time || random -> {kind, peer, message, at_ms}).
// Threads: raise() inside a Writer request (its txn); list() from any thread's read txn.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "node/common/clock.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::federation {

class Alerts {
 public:
  Alerts(storage::Environment& env, const common::Clock& clock);

  // Records an alert in txn and logs it.
  void raise(storage::WriteTxn& txn, const std::string& kind, const std::string& peer,
             const std::string& message);
  // Every alert, oldest first.
  std::vector<nlohmann::json> list(const storage::Txn& txn) const;
  // How many there are, from the database's own count: alerts are kept, and /metrics asks
  // at every scrape (it parsed them all to take the size of the list).
  std::size_t count(const storage::Txn& txn) const { return txn.count(alerts_); }

 private:
  const common::Clock& clock_;
  storage::Database alerts_;
};

}  // namespace relay::node::federation
