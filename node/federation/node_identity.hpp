#pragma once
// NodeIdentity: who this node is to its peers, and what it knows of who they are.
//
// Owns: our identity document (signed with the current key, carrying the rotation chain), the
// one place our envelopes are built (make_envelope), sealing to and opening from peers, key
// rotation, the identity refresh of peers (fetch GET <peer>/federation/v1/identity and learn
// its keys), and the offline verification of a key.rotated announcement.
//
// Invariants:
// - Our current and retired keys are read from one identity::KeyRing snapshot per operation,
//   so a rotation on another thread is seen whole or not at all.
// - Peer keys are learnt only from a document that matches the pinned fingerprint or chains
//   to it by a rotation signature (PeerRegistry::learn); nothing is trusted on first use.
// - Refreshes are rate limited: at most one fetch per peer per
//   federation.identity_refresh_min_s is *scheduled* (every fetch, from any thread, counts).
//   Scheduled refreshes run on this class's own BackgroundLoop, never on an HTTP thread.
//
// Database: federation_meta ("rotation" -> the last rotation statement).
// Threads: every method is safe from any thread. refresh_peer() blocks for up to
// federation.request_timeout_ms (callers: the refresh loop, the per-peer sender loops, the
// witness loop, operator routes); request_refresh() never blocks on I/O. rotate_keys() runs
// two Writer requests and is serialised with itself.
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/node_config.hpp"
#include "node/common/background_loop.hpp"
#include "node/federation/alerts.hpp"
#include "node/federation/outbox.hpp"
#include "node/federation/peer.hpp"
#include "node/identity/key_ring.hpp"
#include "node/ledger/ledger.hpp"
#include "node/storage/writer.hpp"
#include "protocol/envelope.hpp"

namespace relay::node::federation {

class NodeIdentity {
 public:
  NodeIdentity(const config::NodeConfig& config, storage::Environment& env, storage::Writer& writer,
               identity::KeyRing& keys, ledger::Ledger& ledger, PeerRegistry& peers, Outbox& outbox,
               Alerts& alerts);
  ~NodeIdentity();
  NodeIdentity(const NodeIdentity&) = delete;
  NodeIdentity& operator=(const NodeIdentity&) = delete;

  // This node's name (config node.name): the `from` of our envelopes.
  const std::string& self() const { return self_; }

  // The one place envelopes from this node are built: from us to `to`, stamped now, signed
  // with the current key; returns the wire bytes.
  std::string make_envelope(const std::string& type, const std::string& id, const std::string& re,
                            const std::string& to, const nlohmann::json& body) const;
  // Our identity document (signed with the current key).
  std::string identity_document() const;

  // Seals a payload to peer for message id (the peer's keys must be known: refresh first).
  std::optional<nlohmann::json> seal_for(const Peer& peer, const std::string& id,
                                         const nlohmann::json& payload) const;
  // Opens a sealed body of a received envelope (current and retired encryption keys, all
  // from one KeyRing snapshot).
  std::optional<protocol::OpenedBody> open(const protocol::Envelope& envelope,
                                           const Peer& peer) const;

  // Fetches a peer's identity document and learns its keys. False if unreachable or refused.
  // Blocks for up to federation.request_timeout_ms: never from an HTTP request handler that
  // an anonymous client can reach (use request_refresh()).
  bool refresh_peer(const std::string& name);
  // Schedules a background refresh of peer `name` unless one was attempted less than
  // federation.identity_refresh_min_s ago, and wakes the refresh loop. True if scheduled.
  bool request_refresh(const std::string& name);
  // Runs the scheduled refreshes on the calling thread (the refresh loop's pass; tests call
  // it by hand); returns how many were attempted.
  std::size_t run_refreshes();

  // The key of a key.rotated announcement from `peer` whose key is not known yet, verified
  // offline: its identity document is self-signed, names the sender, carries the envelope's
  // key and chains to the pinned key; the envelope verifies with that key. Only then are the
  // keys learnt (one Writer commit). nullopt for anything else (nothing committed).
  std::optional<crypto::Ed25519PublicKey> announced_key(const Peer& peer,
                                                        const protocol::Envelope& envelope);

  // Rotates the node's signing and encryption keys: records key_rotated in the ledger under
  // the old key, publishes the rotation in the identity document and queues key.rotated to
  // every active peer (the caller wakes the sender). Concurrent calls are serialised.
  void rotate_keys();

  // Starts / stops the refresh loop (idempotent).
  void start();
  void stop();

 private:
  const common::Clock& clock() const { return ledger_.clock(); }
  std::int64_t grace_ms() const;

  const config::NodeConfig& config_;
  storage::Environment& env_;
  storage::Writer& writer_;
  identity::KeyRing& keys_;
  ledger::Ledger& ledger_;
  PeerRegistry& peers_;
  Outbox& outbox_;
  Alerts& alerts_;
  std::string self_;
  storage::Database meta_;
  std::mutex rotate_mutex_;  // one rotation at a time (each builds on the snapshot before it)

  std::mutex refresh_mutex_;
  std::map<std::string, std::int64_t> refresh_attempted_ms_;  // peer -> last attempt (any thread)
  std::vector<std::string> refresh_wanted_;                   // scheduled, not yet run
  common::BackgroundLoop refresh_loop_;  // last: stopped (joined) before the rest goes
};

}  // namespace relay::node::federation
