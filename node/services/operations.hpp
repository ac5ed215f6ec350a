#pragma once
// What an operator's monitoring watches (GET /metrics, `relay-node status`): ledger size, the
// newest checkpoint peers cosigned and how old its newest cosignature is, the federation
// outbox depth per peer, the candidate mail queue, the operator alerts. Counts only: nothing
// here reads personal data or a message body.
//
// Threads: vitals() from any thread (one read txn).
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "node/candidates/candidate_store.hpp"
#include "node/common/clock.hpp"
#include "node/federation/federation.hpp"
#include "node/federation/witness.hpp"
#include "node/ledger/ledger.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::services {

struct PeerQueue {
  bool active = true;
  federation::PeerDelivery delivery;  // queued, at risk, refused, undelivered
};

struct Vitals {
  std::string node;
  std::uint64_t ledger_size = 0;
  std::optional<std::uint64_t> cosigned_size;  // newest checkpoint size peers cosigned
  std::size_t cosigners = 0;                   // how many peers cosigned it
  // Seconds since the newest cosignature of that checkpoint (its cosignature/v1 timestamp).
  std::optional<std::int64_t> witness_age_s;
  std::map<std::string, PeerQueue> peers;
  std::size_t mail_queue = 0;
  std::size_t alerts = 0;
  storage::WriterStats writer;    // group commits so far (how many requests share an fsync)
  std::size_t writer_queued = 0;  // requests waiting for the next commit
};

class Operations {
 public:
  Operations(storage::Environment& env, const storage::Writer& writer, const ledger::Ledger& ledger,
             federation::Federation& federation, const federation::Witness& witness,
             const candidates::Store& candidates, const common::Clock& clock);

  Vitals vitals() const;

 private:
  storage::Environment& env_;
  const storage::Writer& writer_;
  const ledger::Ledger& ledger_;
  federation::Federation& federation_;
  const federation::Witness& witness_;
  const candidates::Store& candidates_;
  const common::Clock& clock_;
};

}  // namespace relay::node::services
