#pragma once
// Federation: the one object the rest of the node holds for talking to other nodes. A thin
// composition of four rooms, each with its own header (what it owns, invariants, threads):
//
//   Inbox         inbox.hpp          receive(), typed request handlers (on<Message>), refusals,
//                                    verify before any I/O, the idempotent inbox database
//   Sender        sender.hpp         the durable outbox delivered by one loop per peer, reply
//                                    handlers (on_reply_to<Message>)
//   PeerClient    peer_client.hpp    call(): one signed request answered now; reply verification
//   NodeIdentity  node_identity.hpp  our identity document, make_envelope, seal/open, key
//                                    rotation, identity refreshes of peers (own loop, rate
//                                    limited), offline verification of key.rotated
//
// with the parts they share: PeerRegistry (peer.hpp), Outbox (outbox.hpp), Alerts (alerts.hpp).
// Its methods forward, so callers need not know which room does what; new code may take the
// room it needs (inbox(), sender(), client(), identity()).
//
// Invariant: constructed once per node (node.cpp; tests: support/federation_site.hpp), before
// any handler is registered; the rooms are declared in dependency order.
// Threads: as each room says. start() starts the identity refresh loop and the sender;
// stop() stops both (the destructor too). notify() may be called from any thread, including
// the Writer's commit hook.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/node_config.hpp"
#include "node/federation/alerts.hpp"
#include "node/federation/inbox.hpp"
#include "node/federation/message_types.hpp"
#include "node/federation/node_identity.hpp"
#include "node/federation/outbox.hpp"
#include "node/federation/peer.hpp"
#include "node/federation/peer_client.hpp"
#include "node/federation/sender.hpp"
#include "node/identity/key_ring.hpp"
#include "node/ledger/ledger.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::federation {

class Federation {
 public:
  Federation(const config::NodeConfig& config, storage::Environment& env, storage::Writer& writer,
             identity::KeyRing& keys, ledger::Ledger& ledger);
  ~Federation();
  Federation(const Federation&) = delete;
  Federation& operator=(const Federation&) = delete;

  // Handlers (Inbox, Sender): register before the node serves.
  void on_request(const std::string& type, RequestHandler handler) {
    inbox_.on_request(type, std::move(handler));
  }
  void on_reply(const std::string& type, ReplyHandler handler) {
    sender_.on_reply(type, std::move(handler));
  }
  // A typed request handler for Message (see Inbox::on).
  template <class Message>
  void on(TypedRequestHandler<Message> handler) {
    inbox_.on<Message>(std::move(handler));
  }
  template <class Message>
  void on_reply_to(ReplyHandler handler) {
    sender_.on_reply_to<Message>(std::move(handler));
  }
  // What follows when a Message is given up undelivered (see Sender: give-up).
  template <class Message>
  void on_give_up_of(GiveUpHandler handler) {
    sender_.on_give_up(std::string(Message::type), std::move(handler));
  }
  // Messages of this type carry a person's rights: never given up, escalated instead.
  template <class Message>
  void never_give_up() {
    sender_.never_give_up(std::string(Message::type));
  }
  // Queues a typed message for peer in txn (see Outbox::enqueue, and its subject for
  // Outbox::drop_about); returns the message id.
  template <class Message>
  std::string enqueue(storage::WriteTxn& txn, const std::string& peer, const Message& message,
                      const std::string& re = "", const std::string& subject = "") {
    return outbox_.enqueue(
        txn, peer, std::string(Message::type),
        [&](const std::string&) { return message.to_json(); }, re, subject);
  }

  // Drops the feed's messages every peer has read (every minute, with the profile syncs'
  // sweep); returns how many.
  std::size_t compact_feed(storage::WriteTxn& txn);

  // The one place envelopes from this node are built (NodeIdentity::make_envelope).
  std::string make_envelope(const std::string& type, const std::string& id, const std::string& re,
                            const std::string& to, const nlohmann::json& body) const {
    return identity_.make_envelope(type, id, re, to, body);
  }

  // One received envelope (Inbox::receive).
  Received receive(std::string_view envelope_bytes) { return inbox_.receive(envelope_bytes); }
  std::vector<Refusal> refusals() const { return inbox_.refusals(); }

  PeerRegistry& peers() { return peers_; }
  Outbox& outbox() { return outbox_; }
  const std::string& self() const { return identity_.self(); }

  // One request straight to a peer, answered now (PeerClient::call). Blocks for up to
  // federation.request_timeout_ms; never call it from a Writer request.
  CallResult call(const std::string& peer, const std::string& type, const nlohmann::json& body) {
    return client_.call(peer, type, body);
  }
  template <class Message>
  CallResult call(const std::string& peer, const Message& message) {
    return call(peer, std::string(Message::type), message.to_json());
  }

  // Identity (NodeIdentity): see node_identity.hpp.
  std::string identity_document() const { return identity_.identity_document(); }
  bool refresh_peer(const std::string& name) { return identity_.refresh_peer(name); }
  bool request_refresh(const std::string& name) { return identity_.request_refresh(name); }
  std::size_t run_refreshes() { return identity_.run_refreshes(); }
  std::optional<nlohmann::json> seal_for(const Peer& peer, const std::string& id,
                                         const nlohmann::json& payload) const {
    return identity_.seal_for(peer, id, payload);
  }
  std::optional<protocol::OpenedBody> open(const protocol::Envelope& envelope,
                                           const Peer& peer) const {
    return identity_.open(envelope, peer);
  }
  // Rotates our keys and wakes the sender for the key.rotated announcements it queued.
  void rotate_keys();

  // Operator alerts (inconsistent checkpoints, refused deliveries, overdue receipts).
  void raise_alert(storage::WriteTxn& txn, const std::string& kind, const std::string& peer,
                   const std::string& message) {
    alerts_.raise(txn, kind, peer, message);
  }
  const Alerts& alerts() const { return alerts_; }
  Alerts& alerts() { return alerts_; }

  // One delivery pass over every peer on the calling thread (tests that drive delivery by
  // hand, with the sender not started); returns how many messages were delivered.
  std::size_t deliver_due() { return sender_.deliver_due(); }
  void start();
  void stop();
  // Wakes the sender (after a commit that queued messages).
  void notify() { sender_.notify(); }

  Inbox& inbox() { return inbox_; }
  Sender& sender() { return sender_; }
  PeerClient& client() { return client_; }
  NodeIdentity& identity() { return identity_; }

  const config::NodeConfig& config() const { return config_; }
  storage::Environment& env() { return env_; }
  storage::Writer& writer() { return writer_; }
  identity::KeyRing& keys() { return keys_; }
  ledger::Ledger& ledger() { return ledger_; }
  const common::Clock& clock() const { return ledger_.clock(); }

 private:
  void register_own_messages();  // ping and key.rotated

  const config::NodeConfig& config_;
  storage::Environment& env_;
  storage::Writer& writer_;
  identity::KeyRing& keys_;
  ledger::Ledger& ledger_;
  PeerRegistry peers_;
  Outbox outbox_;
  Alerts alerts_;
  NodeIdentity identity_;
  PeerClient client_;
  Inbox inbox_;
  Sender sender_;  // last: its loops stop before anything they use goes
};

}  // namespace relay::node::federation
