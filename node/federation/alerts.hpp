#pragma once
// Operator alerts raised by federation (an identity refused against its pinned fingerprint, a
// delivery refused outright, an inconsistent checkpoint, an overdue receipt) and by mail given
// up: logged at error level and kept for GET /api/v1/alerts. An alert names a peer and a kind;
// its message never carries personal data or message bodies.
//
// Databases: alerts (8-byte time || random -> {kind, peer, message, at_ms}), alerts_by_kind
// (kind "/" the alert's key -> ""). Alerts are kept: a year of bounced addresses or a peer
// gone for good is thousands of them, so a page reads only its own, newest first or oldest
// first, and one kind (the console's overdue erasures) is read from its own keys, not picked
// out of the rest.
// Threads: raise() inside a Writer request (its txn); reads from any thread's read txn.
#include <cstddef>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "node/common/clock.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::federation {

// Which alerts to read: those of `kind` (every kind if empty), in the order asked, from the one
// after the alert `after` (its id; "" from the start), at most `limit`.
struct AlertQuery {
  std::string kind;
  std::string after;
  std::size_t limit = std::numeric_limits<std::size_t>::max();
  bool newest_first = false;
};

struct AlertPage {
  // {at_ms, id, kind, message, peer}: the stored alert and its id (the hex of its key).
  std::vector<nlohmann::json> alerts;
  bool more = false;  // others follow the last one
};

class Alerts {
 public:
  Alerts(storage::Environment& env, const common::Clock& clock);

  // Records an alert in txn and logs it.
  void raise(storage::WriteTxn& txn, const std::string& kind, const std::string& peer,
             const std::string& message);
  // The alerts the query asks for; nullopt if `after` is not the id of an alert (of that kind).
  std::optional<AlertPage> read(const storage::Txn& txn, const AlertQuery& query) const;
  // How many there are, from the database's own count: alerts are kept, and /metrics asks
  // at every scrape (it parsed them all to take the size of the list).
  std::size_t count(const storage::Txn& txn) const { return txn.count(alerts_); }
  // At start-up, once per data directory from before alerts_by_kind: indexes the alerts kept.
  // Returns how many.
  std::size_t index_existing(storage::WriteTxn& txn);

 private:
  const common::Clock& clock_;
  storage::Database alerts_;
  storage::Database by_kind_;
  storage::Database index_marks_;
};

}  // namespace relay::node::federation
