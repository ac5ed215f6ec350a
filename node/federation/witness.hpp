#pragma once
// Witnessing: peers cosign each other's checkpoints, so a node cannot show one history to one
// peer and another history to a second (DESIGN.md, "The ledger").
//
// As a witness, every federation.witness_interval_s, for each active peer with known keys:
//   1. GET <peer>/audit/v1/checkpoint and open it as a C2SP signed checkpoint with the peer's
//      note key (name = peer name, Ed25519 = its current signing key, or a retired one still
//      within the grace period); the origin must be the peer's name.
//   2. Compare with the last checkpoint witnessed from that peer:
//        none yet                      -> accept (trust on first witness)
//        same size, same root          -> nothing to do (already cosigned)
//        smaller size, or same size
//        with another root             -> inconsistent
//        larger size                   -> ask the peer ("ledger.consistency" {from: m, to: n},
//                                         a direct call) for an RFC 9162 consistency proof and
//                                         verify it from our old root to the new root.
//   3. Inconsistent: raise the alert "checkpoint_inconsistent" naming the peer and the sizes
//      (once per distinct bad checkpoint), never cosign, keep the old witnessed state.
//      Consistent: cosign (tlog-cosignature/v1 with this node's name and signing key,
//      timestamp = now in seconds), queue "checkpoint.cosignature" {checkpoint, cosignature}
//      in the outbox and store the new witnessed state, in one transaction.
//
// As a log, it answers "ledger.consistency" with the proof and both roots, and accepts
// "checkpoint.cosignature" only if the cosignature verifies with the sender's key and the
// checkpoint is one of ours (origin is this node, and our root at that size is its root).
//
// Databases:
//   witnessed     peer name -> {"size","root" (base64),"note","at_ms",
//                               "inconsistent": {"size","root","reason","at_ms"} (optional)}
//   cosignatures  8-byte big-endian size || peer name -> the cosignature line ("— name b64\n")
//   cosigned_by   peer name -> 8-byte big-endian size: the latest size the peer cosigned
//                 (status() without walking every cosignature; written with the cosignature,
//                 built once for older data directories by index_existing())
//
// The C2SP tlog-witness protocol (witness_protocol.cpp, protocol/tlog_witness.hpp):
//   as a witness  POST /witness/v1/add-checkpoint: a peer (the log) submits its checkpoint with
//                 a consistency proof from the size we last cosigned; the check against the
//                 witnessed state and its update happen in one Writer request; the
//                 cosignature is the answer (409 with our size when the log's view is stale,
//                 422 for a bad proof: alert checkpoint_inconsistent)
//   as a log      the witness policy (federation.witnesses, witness_quorum): each pass submits
//                 our checkpoint to every witness of the policy, peers or outside witnesses
//                 (URL and vkey), and stores the cosignatures they return; a checkpoint counts
//                 as witnessed once witness_quorum of them cosigned it (status(), policy()).
// With federation.witness_pull false the pass no longer fetches and cosigns every peer.
//
// Threads: the witness thread (start()/stop(), or witness_all() from one thread at a time)
// makes HTTP calls and Writer requests; the message handlers run inside Writer requests on
// HTTP threads and only touch their txn; witnessed_checkpoint() and status() read with the
// caller's txn from any thread.
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "node/common/background_loop.hpp"
#include "node/federation/federation.hpp"
#include "protocol/checkpoint.hpp"

namespace relay::node::federation {

// What one witnessing attempt of one peer came to.
enum class WitnessResult {
  first,         // no earlier checkpoint: accepted and cosigned
  consistent,    // grew consistently: cosigned
  unchanged,     // the checkpoint we already cosigned
  inconsistent,  // a fork or a rollback: alert raised, not cosigned
  unverified,    // the checkpoint did not verify with the peer's keys (logged)
  unavailable,   // the peer or its proof could not be reached / was refused (retried later)
};
std::string_view to_string(WitnessResult result);

// The last checkpoint this node witnessed (and cosigned) from a peer.
struct WitnessedCheckpoint {
  std::uint64_t size = 0;
  protocol::Hash root{};
  std::string note;
  std::int64_t at_ms = 0;
};

// Our checkpoint at the latest size peers have cosigned, with their cosignature lines.
struct CosignedCheckpoint {
  std::uint64_t size = 0;
  std::string note;                    // a C2SP signed note: our signature, then the cosignatures
  std::vector<std::string> witnesses;  // peer names, in the order of their lines
};

// The answer to one add-checkpoint request (status, body, Content-Type).
struct AddCheckpointAnswer {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
};

class Witness {
 public:
  // Opens the databases and registers the "ledger.consistency" and "checkpoint.cosignature"
  // request handlers (before the node serves requests).
  explicit Witness(Federation& federation);
  ~Witness();
  Witness(const Witness&) = delete;
  Witness& operator=(const Witness&) = delete;

  // One witnessing pass over every active peer; returns each peer's result.
  std::map<std::string, WitnessResult> witness_all();
  // Witnesses one peer (see the header comment).
  WitnessResult witness_peer(const Peer& peer);

  // POST /witness/v1/add-checkpoint (any HTTP thread: read txns, one Writer request, no I/O).
  AddCheckpointAnswer add_checkpoint(std::string_view body);
  // Submits our checkpoint to every witness of the policy; returns each witness's result.
  std::map<std::string, WitnessResult> submit_to_witnesses();
  // The published policy: {log, witnesses: [{name, vkey}], quorum} (vkeys of known keys).
  nlohmann::json policy() const;

  // Starts / stops the thread that runs a pass (witness_all() unless federation.witness_pull
  // is false, then submit_to_witnesses() if there is a policy) every witness_interval_s.
  void start();
  void stop();

  // The last checkpoint witnessed from peer, if any.
  std::optional<WitnessedCheckpoint> witnessed(const storage::Txn& txn,
                                               const std::string& peer) const;
  // Our checkpoint at the latest size that has cosignatures; nullopt if none has.
  std::optional<CosignedCheckpoint> witnessed_checkpoint(const storage::Txn& txn) const;
  // The operator's view (GET /api/v1/witness).
  nlohmann::json status(const storage::Txn& txn) const;
  // At start-up: fills cosigned_by from cosignatures stored before it existed, once per data
  // directory (storage/index_marks.hpp). Returns how many peers it indexed.
  std::size_t index_existing(storage::WriteTxn& txn);

 private:
  struct PeerStatus {
    std::int64_t checked_ms = 0;
    WitnessResult result = WitnessResult::unavailable;
    std::string error;
  };

  std::optional<protocol::OpenedCheckpoint> open_peer_checkpoint(const Peer& peer,
                                                                 const std::string& note);
  WitnessResult accept(const Peer& peer, const protocol::OpenedCheckpoint& opened,
                       WitnessResult result);
  WitnessResult reject(const Peer& peer, const protocol::Checkpoint& checkpoint,
                       const std::string& reason);
  WitnessResult record(const std::string& peer, WitnessResult result, std::string error = {});
  // The latest size of our ledger that `peer` cosigned.
  std::optional<std::uint64_t> cosigned_size(const storage::Txn& txn,
                                             const std::string& peer) const;

  // The peer's Ed25519 keys that may sign now: the current one, then retired ones in grace.
  static std::vector<crypto::Ed25519PublicKey> keys_in_force(const Peer& peer, std::int64_t now_ms);
  // One witness of the policy, resolved against the peers (or its configured vkey).
  struct PolicyWitness {
    std::string name;
    std::string url;  // where add-checkpoint is POSTed
    std::vector<protocol::NoteVerifierKey> keys;
  };
  std::vector<PolicyWitness> policy_witnesses(const storage::Txn& txn) const;
  WitnessResult submit(const PolicyWitness& w, bool retried = false);
  // Stores a cosignature line of our checkpoint at size by witness `name` (cosigned_by too).
  void store_cosignature(storage::WriteTxn& txn, std::uint64_t size, const std::string& name,
                         const std::string& line);
  // Our checkpoint note at size, signed with the current key.
  std::optional<std::string> our_checkpoint(const storage::Txn& txn, std::uint64_t size) const;
  // The largest size of ours cosigned by at least witness_quorum witnesses of the policy.
  std::optional<std::uint64_t> quorum_size(const storage::Txn& txn) const;
  void pass();

  HandlerResult serve_consistency(storage::WriteTxn& txn,
                                  const protocol::LedgerConsistency& request);
  HandlerResult receive_cosignature(storage::WriteTxn& txn,
                                    const protocol::CheckpointCosignature& request,
                                    const Peer& peer);

  Federation& federation_;
  storage::Database witnessed_;
  storage::Database cosignatures_;
  storage::Database cosigned_by_;
  storage::Database index_marks_;

  mutable std::mutex status_mutex_;
  std::map<std::string, PeerStatus> status_;

  common::BackgroundLoop loop_;  // last: stopped (joined) before the rest goes
};

}  // namespace relay::node::federation
