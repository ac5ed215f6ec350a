#pragma once
// Sender: delivers the durable outbox (outbox.hpp), one queue per peer, and runs the reply
// handlers.
//
// Owns: the reply-handler registry (on_reply_to<Message>), a dispatcher loop and one delivery
// loop per peer (common::BackgroundLoop each). The dispatcher runs when woken (notify(), e.g.
// by the Writer's commit hook) and every 200 ms; it only reads which peers have due messages
// and wakes their loops, creating a peer's loop the first time it has something due. A peer's
// loop delivers that peer's due messages oldest first, each with its own persisted backoff
// (network errors, 5xx, 403, 408, 421, 429 retry; other 4xx mark the entry failed and raise an
// alert). A reply is verified (PeerClient) before its handler runs; the handler and the
// removal of the entry commit in one Writer request. A batch's outcomes (replies, refusals,
// backoffs: a dead or suspended peer fails the whole batch) are one Writer request per entry,
// waited for together, so they share a commit. A batch that failed as a whole for a reason
// that is not a refusal (network error or timeout, 5xx, 403, suspended) backs off the rest of
// the pass with it, unsent: a silent peer costs one timeout a pass, not one a batch.
//
// Give-up: an attempt that fails once the message is federation.give_up_after_s old ends it:
// the entry is kept as undelivered (Outbox::give_up), the type's give-up handler runs (e.g.
// the handoff behind an introduction ends and its credit is refunded) and the operator gets a
// "delivery_given_up" alert, in one Writer request. A type registered with never_give_up
// (erasure and withdrawal: a person's rights do not expire) keeps trying with its backoff and
// raises "delivery_escalated" once instead, and so does a message of the outbox's feed
// (outbox_feed.hpp). A peer's feed backs off as a whole: a failed batch is one outcome for its
// feed messages, and the pass sends none of the rest of the feed. Backoff is driven only by our
// outbound attempts: messages the peer sends us do not reset it.
//
// Invariants:
// - A peer's messages are attempted by that peer's loop only, in outbox order, so a peer that
//   is down or slow holds up its own queue and nobody else's.
// - The dispatcher never does network I/O, so it never waits for a peer.
// - After stop() returns no loop runs; a request in flight when stop() was called is allowed
//   to finish or time out (federation.request_timeout_ms: the HTTP client has no
//   cancellation) and its outcome is recorded; no further message is attempted.
//
// Threads: register reply handlers before start(), on one thread. notify(), start() and stop()
// from any thread. Reply handlers run on the Writer thread. deliver_due() runs one pass over
// every peer on the calling thread: for tests that drive delivery by hand (not while started).
#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "config/node_config.hpp"
#include "node/common/background_loop.hpp"
#include "node/federation/alerts.hpp"
#include "node/federation/message_types.hpp"
#include "node/federation/outbox.hpp"
#include "node/federation/peer.hpp"
#include "node/federation/peer_client.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::federation {

class Sender {
 public:
  Sender(const config::NodeConfig& config, storage::Environment& env, storage::Writer& writer,
         const common::Clock& clock, PeerRegistry& peers, Outbox& outbox, PeerClient& client,
         NodeIdentity& identity, Alerts& alerts);
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  void on_reply(const std::string& type, ReplyHandler handler);
  template <class Message>
  void on_reply_to(ReplyHandler handler) {
    on_reply(std::string(Message::type), std::move(handler));
  }

  // What to do, in the give-up's txn, when a message of `type` is given up (see above).
  void on_give_up(const std::string& type, GiveUpHandler handler);
  // Messages of `type` are never given up (see above).
  void never_give_up(const std::string& type);

  // Starts the dispatcher; peer loops are created as peers have due messages. Idempotent.
  void start();
  // Stops the dispatcher and every peer loop (see the invariants). Idempotent.
  void stop();
  // Asks for a dispatch pass soon (after a commit that queued messages). Never blocks.
  void notify();

  // One pass over every peer's due messages on the calling thread; returns how many were
  // delivered.
  std::size_t deliver_due();
  // One pass over one peer's due messages on the calling thread (a peer loop's pass).
  std::size_t deliver_due_to(const std::string& peer);
  // Peers that have a delivery loop (created lazily).
  std::size_t peer_loops() const;

 private:
  void dispatch();
  bool deliver(const OutboxEntry& entry);
  struct BatchOutcome {
    std::size_t delivered = 0;
    // Why the whole batch failed, when nothing would get through to the peer now (network
    // error, 5xx, 403, suspended): the pass backs off the rest of its messages with it.
    std::optional<CallResult> unreachable;
  };
  // Up to Inbox::kMaxBatch due messages of one peer in one request (POST /federation/v1/batch)
  // and their replies in one commit; nullopt if the peer does not take batches (or not this
  // one: too large), so the caller sends them one by one.
  std::optional<BatchOutcome> deliver_batch(const std::vector<OutboxEntry>& entries);
  // Takes out of `due` the feed's messages that can no longer be completed (null body: what
  // they were about is gone) and marks them read, unsent.
  void pass_over_gone(std::vector<OutboxEntry>& due);
  // The outcome of a failed attempt for each of entries (one for the feed's), in one commit.
  void fail_all(const std::vector<OutboxEntry>& entries, const CallResult& result);
  // What follows an attempt that did not deliver: backoff, give-up, or refused for good. A
  // Writer request of its own; the caller waits for it (with the rest of a batch's, so that
  // they share one commit).
  std::future<void> not_delivered(const OutboxEntry& entry, const CallResult& result);
  // A failed attempt: backs the entry off, or past the horizon gives it up or escalates it.
  std::future<void> attempt_failed(const OutboxEntry& entry, const std::string& why);

  const config::NodeConfig& config_;
  storage::Environment& env_;
  storage::Writer& writer_;
  const common::Clock& clock_;
  PeerRegistry& peers_;
  Outbox& outbox_;
  PeerClient& client_;
  NodeIdentity& identity_;
  Alerts& alerts_;
  std::map<std::string, ReplyHandler> reply_handlers_;     // filled before start, then read-only
  std::map<std::string, GiveUpHandler> give_up_handlers_;  // likewise
  std::set<std::string> never_give_up_;                    // likewise

  std::atomic<bool> stopping_{false};  // seen by passes between messages
  mutable std::mutex loops_mutex_;
  bool started_ = false;                                                  // under loops_mutex_
  std::map<std::string, std::unique_ptr<common::BackgroundLoop>> loops_;  // under loops_mutex_
  std::set<std::string> no_batch_;     // peers that answered 404 to a batch; under loops_mutex_
  common::BackgroundLoop dispatcher_;  // last: stopped (joined) before the rest goes
};

}  // namespace relay::node::federation
