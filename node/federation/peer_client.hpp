#pragma once
// PeerClient: this node's side of one request to a peer. Builds the signed envelope
// (NodeIdentity::make_envelope), POSTs it to <peer>/federation/v1/messages and verifies the
// reply envelope (from, to, re, type, and the signature with a key of that peer) before
// anyone sees it. Used by the Sender for outbox entries and by call() for questions whose
// answer matters only now (a witness asking for a consistency proof): nothing is stored.
//
// Invariant: a CallResult carries a reply only once it verified; a reply signed with a key we
// do not know triggers one identity refresh of that peer (we contacted it, so this is not
// reachable by an anonymous client), never more.
// Threads: any thread but an HTTP or Writer thread (each exchange blocks for up to
// federation.request_timeout_ms, plus a refresh). Holds no mutable state of its own.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "config/node_config.hpp"
#include "node/common/clock.hpp"
#include "node/federation/node_identity.hpp"
#include "node/federation/peer.hpp"
#include "node/storage/environment.hpp"
#include "protocol/envelope.hpp"

namespace relay::node::federation {

// The outcome of a request to a peer: its verified reply, or why there is none.
struct CallResult {
  std::optional<protocol::Envelope> reply;
  int status = 0;     // the HTTP status, 0 when no response arrived
  std::string error;  // when !reply: transport error, refusal code or reply problem
  explicit operator bool() const { return reply.has_value(); }
};

class PeerClient {
 public:
  PeerClient(const config::NodeConfig& config, storage::Environment& env,
             const common::Clock& clock, PeerRegistry& peers, NodeIdentity& identity);

  // Sends one request straight to peer `name`, not through the outbox, with a fresh id, and
  // returns its verified reply. Fails without I/O for an unknown or suspended peer; learns the
  // peer's keys first if they are not known yet.
  CallResult call(const std::string& name, const std::string& type, const nlohmann::json& body);

  // Sends the message (type, id, re, body) to `peer` (active, keys known) signed afresh, and
  // verifies the reply. On a non-200 response: status set, error "HTTP <status>[ <code>]".
  CallResult exchange(const Peer& peer, const std::string& type, const std::string& id,
                      const std::string& re, const nlohmann::json& body);

  // One message of a batch.
  struct Outgoing {
    std::string type;
    std::string id;
    std::string re;
    const nlohmann::json* body = nullptr;
  };
  struct BatchResult {
    int status = 0;                   // of the HTTP response; 0 when none arrived
    std::string error;                // when the batch as a whole failed (replies empty)
    std::vector<CallResult> replies;  // one per message, in order, each verified as exchange()
  };
  // Sends the messages (at most Inbox::kMaxBatch) to POST /federation/v1/batch in one request.
  // A peer that does not take batches answers 404 (or 405): the caller sends them one by one.
  BatchResult exchange_batch(const Peer& peer, const std::vector<Outgoing>& messages);

  // The key of a reply from a peer we contacted: known keys first, else one identity refresh.
  std::optional<crypto::Ed25519PublicKey> reply_key(const Peer& peer,
                                                    const protocol::Envelope& reply);

 private:
  // The reply to (type, id) from peer: well formed, addressed to us, and verified.
  CallResult verify_reply(const Peer& peer, const std::string& type, const std::string& id,
                          int status, const std::string& bytes);

  const config::NodeConfig& config_;
  storage::Environment& env_;
  const common::Clock& clock_;
  PeerRegistry& peers_;
  NodeIdentity& identity_;
};

}  // namespace relay::node::federation
