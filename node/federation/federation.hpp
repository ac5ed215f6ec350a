#pragma once
// Federation between nodes: peers, the signed envelope inbox, the durable outbox and its
// sender thread, the node's identity document and key rotation, operator alerts.
//
// Receiving (receive()): parse strictly; refuse a wrong recipient, a reflected message (from
// ourselves), an unknown or suspended sender, an unknown or retired key, a bad signature, a
// timestamp outside the window, and an id already seen with different content. A retried
// identical message (same id, type and body) gets the original reply and is applied once.
// Every refusal is kept in a bounded list for the operator API and logged (spdlog, without
// message bodies), at most one line per peer and refusal code a minute, with a count of the
// ones left out.
//
// Verify before any I/O: the sender's key is looked up among the keys already known (current,
// or retired within the grace period), from a read txn. An unknown key is refused at once
// (403 unknown_key) without any outbound request and without a commit; instead a background
// identity refresh of that configured, active peer is scheduled, at most one per peer per
// federation.identity_refresh_min_s, and run on the sender thread. A key.rotated announcement
// may carry the new identity document: it is verified offline (self-signed, chained to the
// pinned key by the rotation signature) and the envelope's signature is checked with the
// announced key before anything is committed.
//
// Sending: message types register reply handlers; enqueue through outbox() in the same txn
// as the state change; the sender thread delivers and runs the reply handler.
//
// Keys: our current and retired keys live in one identity::KeyRing snapshot; rotate_keys()
// publishes the next snapshot atomically (rotations are serialised among themselves).
//
// Threads: receive() from HTTP threads (it never blocks on the network); the sender thread
// is started by start() and runs identity refreshes and outbox delivery.
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

  // Registers a typed request handler for Message (a protocol/federation_messages.hpp
  // struct): the body is parsed with Message::parse and refused 400 Message::bad_body_code
  // before the handler runs; the handler gets the parsed body with the envelope and sender.
  template <class Message>
  void on(TypedRequestHandler<Message> handler) {
    on_request(std::string(Message::type),
               [handler = std::move(handler)](storage::WriteTxn& txn, const protocol::Envelope& e,
                                              const Peer& peer) {
                 auto body = Message::parse(e.body);
                 if (!body)
                   return HandlerResult::refuse(400, std::string(Message::bad_body_code),
                                                std::string(Message::bad_body_message));
                 return handler(txn, *body, e, peer);
               });
  }
  template <class Message>
  void on_reply_to(ReplyHandler handler) {
    on_reply(std::string(Message::type), std::move(handler));
  }
  // Queues a typed message for peer in txn (see Outbox::enqueue); returns the message id.
  template <class Message>
  std::string enqueue(storage::WriteTxn& txn, const std::string& peer, const Message& message,
                      const std::string& re = "") {
    return outbox_.enqueue(
        txn, peer, std::string(Message::type),
        [&](const std::string&) { return message.to_json(); }, re);
  }

  // The one place envelopes from this node are built: from us to `to`, stamped now, signed
  // with the current key; returns the wire bytes.
  std::string make_envelope(const std::string& type, const std::string& id, const std::string& re,
                            const std::string& to, const nlohmann::json& body) const;

  Received receive(std::string_view envelope_bytes);

  PeerRegistry& peers() { return peers_; }
  Outbox& outbox() { return outbox_; }
  const std::string& self() const { return self_; }

  // Sends one request straight to a peer, not through the outbox, and returns its verified
  // reply (from, to, re, type and signature checked): for queries whose answer is needed now
  // and that are worth nothing later, such as a consistency proof. Blocks for up to
  // federation.request_timeout_ms; never call it from a Writer request.
  CallResult call(const std::string& peer, const std::string& type, const nlohmann::json& body);
  template <class Message>
  CallResult call(const std::string& peer, const Message& message) {
    return call(peer, std::string(Message::type), message.to_json());
  }

  // Our identity document (signed with the current key).
  std::string identity_document() const;
  // Fetches a peer's identity document and learns its keys. False if unreachable or refused.
  // Blocks for up to federation.request_timeout_ms: never from an HTTP request handler that
  // an anonymous client can reach (use request_refresh()).
  bool refresh_peer(const std::string& name);
  // Schedules a background refresh of peer `name` unless one was attempted less than
  // federation.identity_refresh_min_s ago; wakes the sender. True if scheduled. Thread-safe,
  // never blocks on I/O.
  bool request_refresh(const std::string& name);
  // Runs the scheduled refreshes on the calling thread (the sender thread calls it before
  // every delivery pass); returns how many were attempted.
  std::size_t run_refreshes();

  // Seals a payload to peer for message id (the peer's keys must be known: refresh first).
  std::optional<nlohmann::json> seal_for(const Peer& peer, const std::string& id,
                                         const nlohmann::json& payload) const;
  // Opens a sealed body of a received envelope (current and retired encryption keys, all
  // from one KeyRing snapshot).
  std::optional<protocol::OpenedBody> open(const protocol::Envelope& envelope,
                                           const Peer& peer) const;

  // Rotates the node's signing and encryption keys: records key_rotated in the ledger under
  // the old key, publishes the rotation in the identity document and tells every peer.
  // Concurrent calls are serialised.
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
  Received refuse(int status, const std::string& code, const std::string& message,
                  const std::string& from, const std::string& type);
  bool deliver(const OutboxEntry& entry);
  // The key of a reply from a peer we contacted (sender or caller thread, never HTTP): known
  // keys first, else one identity refresh.
  std::optional<crypto::Ed25519PublicKey> reply_key(const Peer& peer,
                                                    const protocol::Envelope& envelope);
  // The key of an unknown-key key.rotated announcement, verified offline (see above) and
  // learnt in one commit only once the envelope's signature verified with it.
  std::optional<crypto::Ed25519PublicKey> announced_key(const Peer& peer,
                                                        const protocol::Envelope& envelope);
  void register_own_messages();  // ping and key.rotated
  void log_refusal(const std::string& from, const std::string& type, const std::string& code,
                   const std::string& message);

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
  std::mutex rotate_mutex_;  // one rotation at a time (each builds on the snapshot before it)

  mutable std::mutex refusals_mutex_;
  std::deque<Refusal> refusals_;
  struct LogWindow {
    std::int64_t started_ms = 0;
    std::uint64_t suppressed = 0;
  };
  std::map<std::string, LogWindow> refusal_log_;  // "peer/code" -> this minute's window

  std::mutex refresh_mutex_;
  std::map<std::string, std::int64_t> refresh_attempted_ms_;  // peer -> last attempt (any thread)
  std::vector<std::string> refresh_wanted_;                   // scheduled, not yet run

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
