#pragma once
// Handlers for inter-node message types. A request handler runs inside the Writer request
// that also records the message id (so its effects, its ledger entries and the inbox record
// commit together) and returns the reply body; the reply goes back signed in the HTTP
// response. A reply handler runs on the sending side, inside the Writer request that
// removes the message from the outbox. Handlers may be re-run (map growth): they must only
// read and write through the txn.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "node/federation/peer.hpp"
#include "node/storage/txn.hpp"
#include "protocol/envelope.hpp"
#include "protocol/federation_messages.hpp"

namespace relay::node::federation {

struct HandlerResult {
  bool ok = true;
  nlohmann::json reply = nlohmann::json::object();
  int status = 400;     // when !ok
  std::string code;     // when !ok
  std::string message;  // when !ok

  static HandlerResult accept(nlohmann::json reply) {
    return {true, std::move(reply), 200, {}, {}};
  }
  static HandlerResult refuse(int status, std::string code, std::string message) {
    return {false, nlohmann::json::object(), status, std::move(code), std::move(message)};
  }
};

using RequestHandler = std::function<HandlerResult(
    storage::WriteTxn& txn, const protocol::Envelope& request, const Peer& peer)>;

// A handler of one message type whose body was parsed strictly into Message first
// (Federation::on<Message>). The envelope is there for its id, signature and sealed body.
template <class Message>
using TypedRequestHandler =
    std::function<HandlerResult(storage::WriteTxn& txn, const Message& body,
                                const protocol::Envelope& request, const Peer& peer)>;

// What was sent (as stored in the outbox) and the peer's verified reply.
struct SentMessage {
  std::string peer;
  std::string type;
  std::string id;
  nlohmann::json body;
};
using ReplyHandler = std::function<void(storage::WriteTxn& txn, const SentMessage& sent,
                                        const protocol::Envelope& reply, const Peer& peer)>;
// A message given up undelivered (Sender); runs in the txn that records it.
using GiveUpHandler = std::function<void(storage::WriteTxn& txn, const SentMessage& sent)>;

}  // namespace relay::node::federation
