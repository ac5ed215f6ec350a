#pragma once
// Obligations between nodes (issue 15, item 1): each delivered cross-node introduction means
// the node whose member asked owes the node that held the candidate one introduction. Both
// sides record it, once, in the Writer request that proves the delivery, with the other side's
// signature as evidence (protocol::obligation_recorded):
//   the requesting node   when it accepts the handoff.deliver (evidence: its envelope signature)
//   the holding node      when the requester's signed receipt comes back (the receipt's)
// A refunded introduction was never delivered, so it never reaches here.
//
// Databases: obligations ("<peer>/<handoff>" -> JSON), obligations_open (the same keys, while
// no agreed statement settled it: a statement reads only these).
// Threads: writes inside Writer requests (their txn); reads from any read txn.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "node/ledger/ledger.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::settlement {

struct Obligation {
  std::string peer;
  std::string handoff;
  bool owed_by_self = false;  // true: this node owes the peer one introduction
  std::int64_t recorded_ms = 0;
  std::string evidence;   // the peer's signature (base64)
  std::string statement;  // the agreed statement that settled it; "" while open

  nlohmann::json to_json() const;
  static std::optional<Obligation> from_json(const nlohmann::json& j);
};

// What is open with one peer.
struct OpenPosition {
  std::uint64_t owed_to_us = 0;
  std::uint64_t owed_by_us = 0;
};

class Obligations {
 public:
  Obligations(storage::Environment& env, ledger::Ledger& ledger);

  // Records the obligation and its ledger entry in txn; false (and nothing written) if this
  // (peer, handoff) was recorded before.
  bool record(storage::WriteTxn& txn, const std::string& peer, const std::string& handoff,
              bool owed_by_self, const std::string& evidence);
  std::optional<Obligation> find(const storage::Txn& txn, const std::string& peer,
                                 const std::string& handoff) const;
  // Open obligations with peer recorded before until_ms, in ascending handoff order, at most max.
  std::vector<Obligation> open_with(const storage::Txn& txn, const std::string& peer,
                                    std::int64_t until_ms, std::size_t max) const;
  OpenPosition open_position(const storage::Txn& txn, const std::string& peer) const;
  // Marks an open obligation settled by `statement`.
  void settle(storage::WriteTxn& txn, Obligation obligation, const std::string& statement);

 private:
  ledger::Ledger& ledger_;
  storage::Database obligations_;
  storage::Database open_;
};

}  // namespace relay::node::settlement
