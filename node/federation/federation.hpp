#pragma once
// Federation between nodes: peers, the signed envelope inbox, the durable outbox and its
// sender thread, the node's identity document and key rotation, operator alerts.
//
// Receiving (receive()): parse strictly; refuse a wrong recipient, a reflected message (from
// ourselves), an unknown or suspended sender, an unknown or retired key, a bad signature, a
// timestamp outside the window, and an id already seen with different content. A retried
// identical message (same id, type and body) gets the original reply and is applied once.
// Every refusal is logged (spdlog, without message bodies) and kept in a bounded list for
// the operator API.
//
// Sending: message types register reply handlers; enqueue through outbox() in the same txn
// as the state change; the sender thread delivers and runs the reply handler.
//
// Threads: receive() from HTTP threads; the sender thread is started by start().
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/node_config.hpp"
#include "node/federation/message_types.hpp"
#include "node/federation/outbox.hpp"
#include "node/federation/peer.hpp"
#include "node/identity/key_ring.hpp"
#include "node/ledger/ledger.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::federation {

struct Received {
  int status = 200;
  std::string body;  // the reply envelope, or a JSON error body
  bool refused = false;
};

// The outcome of Federation::call: the peer's verified reply, or why there is none.
struct CallResult {
  std::optional<protocol::Envelope> reply;
  int status = 0;     // the HTTP status, 0 when no response arrived
  std::string error;  // when !reply: transport error, refusal code or reply problem
  explicit operator bool() const { return reply.has_value(); }
};

struct Refusal {
  std::int64_t at_ms = 0;
  std::string from;  // as claimed
  std::string type;
  std::string reason;
};

class Federation {
 public:
  Federation(const config::NodeConfig& config, storage::Environment& env, storage::Writer& writer,
             identity::KeyRing& keys, ledger::Ledger& ledger);
  ~Federation();

  void on_request(const std::string& type, RequestHandler handler);
  void on_reply(const std::string& type, ReplyHandler handler);

  Received receive(std::string_view envelope_bytes);

  PeerRegistry& peers() { return peers_; }
  Outbox& outbox() { return outbox_; }
  const std::string& self() const { return self_; }

  // Sends one request straight to a peer, not through the outbox, and returns its verified
  // reply (from, to, re, type and signature checked): for queries whose answer is needed now
  // and that are worth nothing later, such as a consistency proof. Blocks for up to
  // federation.request_timeout_ms; never call it from a Writer request.
  CallResult call(const std::string& peer, const std::string& type, const nlohmann::json& body);

  // Our identity document (signed with the current key).
  std::string identity_document() const;
  // Fetches a peer's identity document and learns its keys. False if unreachable or refused.
  bool refresh_peer(const std::string& name);

  // Seals a payload to peer for message id (the peer's keys must be known: refresh first).
  std::optional<nlohmann::json> seal_for(const Peer& peer, const std::string& id,
                                         const nlohmann::json& payload) const;
  // Opens a sealed body of a received envelope (current and retired encryption keys).
  std::optional<protocol::OpenedBody> open(const protocol::Envelope& envelope, const Peer& peer) const;

  // Rotates the node's signing and encryption keys: records key_rotated in the ledger under
  // the old key, publishes the rotation in the identity document and tells every peer.
  void rotate_keys();

  // Operator alerts (inconsistent checkpoints, refused deliveries, overdue receipts).
  void raise_alert(storage::WriteTxn& txn, const std::string& kind, const std::string& peer,
                   const std::string& message);
  std::vector<nlohmann::json> alerts(const storage::Txn& txn) const;
  std::vector<Refusal> refusals() const;

  // One delivery pass on the calling thread; returns how many messages were delivered.
  std::size_t deliver_due();
  void start();
  void stop();
  // Wakes the sender thread (after a commit that queued messages).
  void notify();

  const config::NodeConfig& config() const { return config_; }
  storage::Environment& env() { return env_; }
  storage::Writer& writer() { return writer_; }
  identity::KeyRing& keys() { return keys_; }
  ledger::Ledger& ledger() { return ledger_; }
  const common::Clock& clock() const { return ledger_.clock(); }

 private:
  Received refuse(int status, const std::string& code, const std::string& message, const std::string& from,
                  const std::string& type);
  bool deliver(const OutboxEntry& entry);
  std::optional<crypto::Ed25519PublicKey> sender_key(const Peer& peer, const protocol::Envelope& envelope);
  void load_retired_encryption_keys();

  const config::NodeConfig& config_;
  storage::Environment& env_;
  storage::Writer& writer_;
  identity::KeyRing& keys_;
  ledger::Ledger& ledger_;
  std::string self_;
  PeerRegistry peers_;
  Outbox outbox_;
  storage::Database inbox_;
  storage::Database meta_;
  storage::Database alerts_;
  std::map<std::string, RequestHandler> request_handlers_;
  std::map<std::string, ReplyHandler> reply_handlers_;
  std::vector<crypto::X25519KeyPair> retired_encryption_;

  mutable std::mutex refusals_mutex_;
  std::deque<Refusal> refusals_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool pending_ = false;
  std::thread sender_;
};

// Hex SHA-256 over what makes a message the same message: type, id, re, from, to and body
// (not the timestamp or signature, which change on every retry).
std::string content_digest(const protocol::Envelope& envelope);

}  // namespace relay::node::federation
