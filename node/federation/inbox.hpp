#pragma once
// Inbox: every envelope another node sends us (POST /federation/v1/messages).
//
// Owns: the request-handler registry (typed on<Message>), the checks an envelope passes before
// its handler runs, the idempotent inbox database, and the refusals (a bounded list for the
// operator API; logged at most once a minute per claimed sender and code, all senders that are
// no configured peer counting as one, with a count of the ones left out, so a flood of forged
// requests cannot flood the log).
//
// receive(): parse strictly; refuse a reflected message (from ourselves), a wrong recipient,
// an unknown or suspended sender, an unknown or retired key, a bad signature, a timestamp
// outside the window, an unknown type, a body that does not parse as its struct, and an id
// already seen with different content. A retried identical message (same type, id, re, from,
// to and body) gets the original reply and is applied once.
//
// Invariant, verify before any I/O: the sender's key is looked up among the keys already known
// (current, or retired within the grace period) from a read txn. An unknown key is refused at
// once (403 unknown_key) without any outbound request and without a commit; a background
// refresh of that configured, active peer is scheduled instead (NodeIdentity::request_refresh,
// rate limited). A key.rotated announcement is verified offline (NodeIdentity::announced_key)
// before its keys are learnt.
//
// Database: inbox (from "/" id -> {digest, reply, type, at_ms}).
// Threads: register handlers (on, on_request) before the node serves, on one thread.
// receive() and refusals() from any thread (HTTP threads): read txns, signature checks, then
// one Writer request in which the handler runs; never network I/O.
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/node_config.hpp"
#include "node/federation/message_types.hpp"
#include "node/federation/node_identity.hpp"
#include "node/federation/peer.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::federation {

struct Received {
  int status = 200;
  std::string body;  // the reply envelope, or a JSON error body
  bool refused = false;
};

struct Refusal {
  std::int64_t at_ms = 0;
  std::string from;  // as claimed
  std::string type;
  std::string reason;
};

class Inbox {
 public:
  Inbox(const config::NodeConfig& config, storage::Environment& env, storage::Writer& writer,
        const common::Clock& clock, PeerRegistry& peers, NodeIdentity& identity);

  void on_request(const std::string& type, RequestHandler handler);
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

  // Checks, applies (once) and answers one envelope; see the header comment.
  Received receive(std::string_view envelope_bytes);
  // The same for up to kMaxBatch envelopes of one request (POST /federation/v1/batch): each is
  // checked and answered on its own, and those that pass are applied in one Writer batch (one
  // commit, one fsync). Answers in the order given.
  std::vector<Received> receive_batch(const std::vector<std::string>& envelopes);
  static constexpr std::size_t kMaxBatch = 50;
  // The last refusals (at most 200), oldest first.
  std::vector<Refusal> refusals() const;

 private:
  // An envelope that passed every check, ready to apply.
  struct Checked {
    protocol::Envelope envelope;
    Peer peer;
    const RequestHandler* handler = nullptr;
  };
  // The checks before any commit: a refusal, or the envelope ready to apply.
  std::variant<Received, Checked> check(std::string_view bytes);
  // Queues the idempotent apply of a checked envelope (see receive); wait on the future.
  std::future<Received> apply(Checked checked);

  Received refuse(int status, const std::string& code, const std::string& message,
                  const std::string& from, const std::string& type);
  void log_refusal(const std::string& from, const std::string& type, const std::string& code,
                   const std::string& message);

  const config::NodeConfig& config_;
  storage::Environment& env_;
  storage::Writer& writer_;
  const common::Clock& clock_;
  PeerRegistry& peers_;
  NodeIdentity& identity_;
  storage::Database inbox_;
  std::map<std::string, RequestHandler> handlers_;  // filled before serving, then read-only

  mutable std::mutex refusals_mutex_;
  std::deque<Refusal> refusals_;
  struct LogWindow {
    std::int64_t started_ms = 0;
    std::uint64_t suppressed = 0;
  };
  std::map<std::string, LogWindow> refusal_log_;  // "peer/code" -> this minute's window
};

// Hex SHA-256 over what makes a message the same message: type, id, re, from, to and body
// (not the timestamp or signature, which change on every retry).
std::string content_digest(const protocol::Envelope& envelope);

}  // namespace relay::node::federation
