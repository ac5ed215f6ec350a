#pragma once
// Peering use cases for the operator (add, suspend, reinstate, ping, list, outbox, refusals,
// alerts, key rotation) and the two public federation endpoints (identity document, inbound
// envelopes). Each method owns its transaction and returns a typed outcome. Work queued for
// peers goes out when the Writer's commit hook wakes the sender.
//
// Threads: any (HTTP threads); rotate_keys() is serialised by Federation.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/common/result.hpp"
#include "node/federation/federation.hpp"
#include "node/federation/outbox.hpp"
#include "node/federation/peer.hpp"
#include "node/identity/key_ring.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::services {

enum class PeeringError { peer_not_found };

// When a new peer's keys are learnt: now (one identity fetch, best effort; the HTTP API) or
// later by the sender (the CLI, which may run while the peer is unreachable).
enum class KeyFetch { now, later };

// Alerts as the operator reads them.
struct AlertsRead {
  federation::AlertPage page;
  std::size_t total = 0;  // every alert kept, of every kind
};

class Peering {
 public:
  Peering(storage::Environment& env, storage::Writer& writer, federation::Federation& federation,
          const identity::KeyRing& keys);

  // Adds a peer and, with KeyFetch::now, tries once to learn its keys (best effort: the
  // sender learns them later otherwise). The error is never AddError::none.
  common::Result<federation::Peer, federation::AddError> add(const std::string& name,
                                                             const std::string& url,
                                                             const std::string& fingerprint,
                                                             KeyFetch fetch = KeyFetch::now);
  common::Result<federation::Peer, PeeringError> set_active(const std::string& name, bool active);
  std::vector<federation::Peer> list() const;
  // Queues a "ping" to the peer; returns the message id.
  common::Result<std::string, PeeringError> ping(const std::string& name);
  // Rotates the node's signing and encryption keys; returns the new key's fingerprint.
  std::string rotate_keys();

  // The alerts the query asks for (federation::Alerts::read) and how many there are of every
  // kind, from one snapshot; nullopt if `after` is not an alert's id (of that kind).
  std::optional<AlertsRead> alerts(const federation::AlertQuery& query) const;
  std::vector<federation::Refusal> refusals() const;
  // The first `limit` outbox entries, bodies unopened (Outbox::list).
  federation::Outbox::Listing outbox(std::size_t limit) const;
  // Per peer: queued, at risk, refused and given-up messages (Outbox::delivery).
  std::map<std::string, federation::PeerDelivery> delivery() const;

  std::string identity_document() const;
  // An envelope from a peer (the inbox verifies it).
  federation::Received receive(std::string_view envelope_bytes);
  // Up to federation::Inbox::kMaxBatch envelopes of one request, applied in one commit.
  std::vector<federation::Received> receive_batch(const std::vector<std::string>& envelopes);

 private:
  storage::Environment& env_;
  storage::Writer& writer_;
  federation::Federation& federation_;
  const identity::KeyRing& keys_;
};

}  // namespace relay::node::services
