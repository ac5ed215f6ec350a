#include "node/federation/sender.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <set>
#include <utility>
#include <vector>

#include "node/common/freed_pages.hpp"
#include "node/common/retry_policy.hpp"
#include "node/federation/inbox.hpp"

namespace relay::node::federation {

namespace {
// The dispatcher's period: how soon a message whose backoff ran out is noticed (as before the
// split, when one sender thread polled every 200 ms).
constexpr std::chrono::milliseconds kDispatchPeriod{200};
// A peer loop is woken by the dispatcher whenever that peer has something due; its own period
// is only a safety net.
constexpr std::chrono::milliseconds kPeerPeriod{5000};
// At most this many messages per pass (a pass re-runs at once when woken meanwhile): a few
// batches.
constexpr std::size_t kPassLimit = 250;
// A batch's bodies stay under this many bytes, well inside a peer's default
// http.max_body_bytes (64 KiB); a peer that still answers 413 gets them one by one.
constexpr std::size_t kBatchBytes = 48 * 1024;
// Why a suspended peer's messages back off (one batch at a time, or one by one).
constexpr const char* kSuspended = "peer suspended";

// Waits for every outcome before any is rethrown: a request still queued may refer to the
// caller's locals.
void wait_all(std::vector<std::future<void>>& outcomes) {
  for (auto& f : outcomes) f.wait();
  for (auto& f : outcomes) f.get();
}
}  // namespace

Sender::Sender(const config::NodeConfig& config, storage::Environment& env, storage::Writer& writer,
               const common::Clock& clock, PeerRegistry& peers, Outbox& outbox, PeerClient& client,
               NodeIdentity& identity, Alerts& alerts)
    : config_(config),
      env_(env),
      writer_(writer),
      clock_(clock),
      peers_(peers),
      outbox_(outbox),
      client_(client),
      identity_(identity),
      alerts_(alerts),
      dispatcher_("federation sender", kDispatchPeriod, [this] { dispatch(); }) {}

Sender::~Sender() {
  stop();
}

void Sender::on_reply(const std::string& type, ReplyHandler handler) {
  reply_handlers_[type] = std::move(handler);
}

void Sender::on_give_up(const std::string& type, GiveUpHandler handler) {
  give_up_handlers_[type] = std::move(handler);
}

void Sender::never_give_up(const std::string& type) {
  never_give_up_.insert(type);
}

std::future<void> Sender::attempt_failed(const OutboxEntry& entry, const std::string& why) {
  const auto now = clock_.now_ms();
  const auto& f = config_.federation;
  const common::RetryPolicy retry{f.retry_initial_ms, f.retry_max_ms, f.give_up_after_s};
  const bool past_horizon = retry.expired(entry.created_ms, now);
  // A feed message is never given up either: it waits for the peer, replaced by its
  // subject's next message if there is one (outbox_feed.hpp).
  const bool keeps_trying = entry.feed_seq > 0 || never_give_up_.count(entry.type) > 0;
  if (past_horizon && !keeps_trying) {
    const auto reason = "given up after " + std::to_string(entry.attempts + 1) +
                        " attempt(s) over " + std::to_string(f.give_up_after_s.count()) +
                        " s: " + why;
    auto handler = give_up_handlers_.find(entry.type);
    return writer_.submit([this, entry, reason, handler](storage::WriteTxn& txn) {
      // Dropped meanwhile (e.g. a withdrawal): nothing was given up, nothing follows.
      if (!outbox_.give_up(txn, entry, reason)) return;
      if (handler != give_up_handlers_.end())
        handler->second(txn, SentMessage{entry.peer, entry.type, entry.id, entry.body});
      alerts_.raise(txn, "delivery_given_up", entry.peer,
                    entry.type + " " + entry.id + " " + reason);
    });
  }
  auto e = entry;
  e.attempts += 1;
  // With jitter: the messages of many nodes to a peer that comes back do not return at once.
  e.next_ms = now + retry.backoff_ms(e.attempts);
  e.last_error = why;
  const bool escalate = past_horizon && keeps_trying && !e.escalated;
  e.escalated = e.escalated || escalate;
  spdlog::debug("federation: {} to {} not delivered ({}), attempt {}", entry.type, entry.peer, why,
                e.attempts);
  return writer_.submit([this, e, escalate](storage::WriteTxn& txn) {
    outbox_.update(txn, e);
    if (escalate)
      alerts_.raise(txn, "delivery_escalated", e.peer,
                    e.type + " " + e.id +
                        " still undelivered past the give-up horizon; it is never given up "
                        "and keeps being retried: " +
                        e.last_error);
  });
}

void Sender::start() {
  {
    std::lock_guard lock(loops_mutex_);
    if (started_) return;
    started_ = true;
    stopping_ = false;
  }
  dispatcher_.start();
  dispatcher_.wake();  // whatever is due from before the start goes now
}

void Sender::stop() {
  stopping_ = true;  // passes in progress stop after the message in flight
  dispatcher_.stop();
  std::map<std::string, std::unique_ptr<common::BackgroundLoop>> loops;
  {
    std::lock_guard lock(loops_mutex_);
    started_ = false;
    loops.swap(loops_);
  }
  // Every loop was told to stop above, so the requests in flight time out side by side: the
  // joins take as long as the slowest one, not their sum.
  for (auto& [peer, loop] : loops) loop->stop();
}

void Sender::notify() {
  dispatcher_.wake();
}

std::size_t Sender::peer_loops() const {
  std::lock_guard lock(loops_mutex_);
  return loops_.size();
}

void Sender::dispatch() {
  std::set<std::string> due;
  {
    auto txn = env_.begin_read();
    due = outbox_.peers_with_due(txn, clock_.now_ms());
  }
  std::lock_guard lock(loops_mutex_);
  if (!started_) return;
  for (const auto& peer : due) {
    auto& loop = loops_[peer];
    if (!loop) {
      // A thread for each peer, mostly waiting on the network: no allocator cache each
      // (common/freed_pages.hpp).
      auto pass = [this, peer] {
        common::disable_thread_cache();
        deliver_due_to(peer);
      };
      loop = std::make_unique<common::BackgroundLoop>("federation sender " + peer, kPeerPeriod,
                                                      std::move(pass));
      loop->start();
    }
    loop->wake();  // never blocks: a loop busy with a slow peer just runs again afterwards
  }
}

void Sender::pass_over_gone(std::vector<OutboxEntry>& due) {
  std::vector<OutboxEntry> gone;
  std::erase_if(due, [&](const OutboxEntry& e) {
    if (e.feed_seq == 0 || !e.body.is_null()) return false;
    gone.push_back(e);
    return true;
  });
  if (!gone.empty())
    writer_.submit_wait([&](storage::WriteTxn& txn) {
      for (const auto& e : gone) outbox_.done(txn, e);
    });
}

std::size_t Sender::deliver_due() {
  std::vector<OutboxEntry> due;
  {
    auto txn = env_.begin_read();
    due = outbox_.due(txn, clock_.now_ms(), kPassLimit);
  }
  pass_over_gone(due);
  std::size_t delivered = 0;
  for (const auto& entry : due)
    if (deliver(entry)) ++delivered;
  return delivered;
}

std::size_t Sender::deliver_due_to(const std::string& peer) {
  std::vector<OutboxEntry> due;
  {
    auto txn = env_.begin_read();
    due = outbox_.due_for(txn, peer, clock_.now_ms(), kPassLimit);
  }
  pass_over_gone(due);
  bool batches = false;
  {
    std::lock_guard lock(loops_mutex_);
    batches = no_batch_.count(peer) == 0;
  }
  std::size_t delivered = 0;
  std::size_t i = 0;
  // A feed message not delivered backs off the peer's whole feed (outbox_feed.hpp): the
  // pass sends none of the rest.
  auto feed_backs_off = [&](std::size_t from) {
    due.erase(std::remove_if(due.begin() + static_cast<std::ptrdiff_t>(from), due.end(),
                             [](const OutboxEntry& e) { return e.feed_seq > 0; }),
              due.end());
  };
  auto has_feed = [](auto first, auto last) {
    return std::any_of(first, last, [](const OutboxEntry& e) { return e.feed_seq > 0; });
  };
  while (i < due.size() && !stopping_) {
    // Oldest first, in batches of up to kMaxBatch messages and kBatchBytes of bodies.
    std::size_t n = 0, bytes = 0;
    while (batches && i + n < due.size() && n < Inbox::kMaxBatch) {
      bytes += due[i + n].body.dump().size() + 512;  // and the envelope around it
      if (n > 0 && bytes > kBatchBytes) break;
      ++n;
    }
    if (n >= 2) {
      std::vector<OutboxEntry> chunk(due.begin() + i, due.begin() + i + n);
      if (auto outcome = deliver_batch(chunk)) {
        delivered += outcome->delivered;
        i += n;
        if (outcome->delivered < n && has_feed(chunk.begin(), chunk.end())) feed_backs_off(i);
        if (outcome->unreachable) {
          // Nothing gets through to the peer now (down, silent, suspended): the rest of the
          // pass backs off with it, unsent, rather than wait out one timeout per batch.
          fail_all({due.begin() + static_cast<std::ptrdiff_t>(i), due.end()},
                   *outcome->unreachable);
          break;
        }
        continue;
      }
      std::lock_guard lock(loops_mutex_);
      batches = no_batch_.count(peer) == 0;
    }
    if (deliver(due[i]))
      ++delivered;
    else if (due[i].feed_seq > 0)
      feed_backs_off(i + 1);
    ++i;
  }
  return delivered;
}

namespace {
// A refusal that sending again would not change. 403 may be transient (the peer has not
// configured us yet, or not learnt our new key): it is retried with backoff like a network
// error, as are 408, 421 and 429; other 4xx are final.
bool refused_for_good(int status) {
  return status >= 400 && status < 500 && status != 403 && status != 408 && status != 429 &&
         status != 421;
}
}  // namespace

void Sender::fail_all(const std::vector<OutboxEntry>& entries, const CallResult& result) {
  // Each entry's outcome is a Writer request of its own (one that throws fails alone), all
  // waited for together so that they share one commit.
  std::vector<std::future<void>> outcomes;
  bool feed = false;
  for (const auto& e : entries) {
    // The feed's messages share one backoff: one outcome sets it.
    if (e.feed_seq > 0 && std::exchange(feed, true)) continue;
    outcomes.push_back(not_delivered(e, result));
  }
  wait_all(outcomes);
}

std::optional<Sender::BatchOutcome> Sender::deliver_batch(const std::vector<OutboxEntry>& entries) {
  std::optional<Peer> peer;
  {
    auto txn = env_.begin_read();
    peer = peers_.find(txn, entries.front().peer);
  }
  // A peer gone or with unknown keys: deliver() handles each entry.
  if (!peer || !peer->signing_key) return std::nullopt;
  auto all_failed = [&](const CallResult& result) {
    fail_all(entries, result);
    BatchOutcome outcome;
    if (!refused_for_good(result.status)) outcome.unreachable = result;
    return outcome;
  };
  if (!peer->active) return all_failed({std::nullopt, 0, kSuspended});
  std::vector<PeerClient::Outgoing> outgoing;
  for (const auto& e : entries) outgoing.push_back({e.type, e.id, e.re, &e.body});
  auto result = client_.exchange_batch(*peer, outgoing);
  if (result.replies.empty()) {
    if (result.status == 404 || result.status == 405) {
      std::lock_guard lock(loops_mutex_);
      no_batch_.insert(peer->name);  // an older node: one message per request from now on
      return std::nullopt;
    }
    if (result.status == 413) return std::nullopt;  // too large for the peer: one by one
    return all_failed({std::nullopt, result.status, result.error});
  }
  {
    auto txn = env_.begin_read();
    peer = peers_.find(txn, entries.front().peer);  // keys may have been learnt while verifying
  }
  if (!peer) return BatchOutcome{};
  // The replies' handlers and removals, and the refusals, go to the Writer together (each a
  // request of its own, waited for together: one commit).
  std::vector<std::future<void>> outcomes;
  BatchOutcome outcome;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto& reply = result.replies[i];
    if (!reply) {
      outcomes.push_back(not_delivered(entries[i], reply));
      continue;
    }
    auto handler = reply_handlers_.find(entries[i].type);
    outcomes.push_back(writer_.submit([&, i, handler](storage::WriteTxn& txn) {
      const auto& entry = entries[i];
      if (handler != reply_handlers_.end())
        handler->second(txn, SentMessage{entry.peer, entry.type, entry.id, entry.body},
                        *result.replies[i].reply, *peer);
      outbox_.done(txn, entry);
    }));
    ++outcome.delivered;
  }
  wait_all(outcomes);
  return outcome;
}

std::future<void> Sender::not_delivered(const OutboxEntry& entry, const CallResult& result) {
  const int status = result.status;
  if (status == 0 || status == 200) return attempt_failed(entry, result.error);
  if (!refused_for_good(status)) return attempt_failed(entry, "HTTP " + std::to_string(status));
  auto failed = entry;
  failed.state = OutboxState::failed;
  failed.last_error = "refused by peer: HTTP " + std::to_string(status);
  return writer_.submit([this, failed, status](storage::WriteTxn& txn) {
    outbox_.update(txn, failed);
    alerts_.raise(txn, "delivery_refused", failed.peer,
                  failed.type + " " + failed.id + " refused: HTTP " + std::to_string(status));
  });
}

bool Sender::deliver(const OutboxEntry& entry) {
  std::optional<Peer> peer;
  {
    auto txn = env_.begin_read();
    peer = peers_.find(txn, entry.peer);
  }
  auto backoff = [&](const std::string& why) {
    attempt_failed(entry, why).get();
    return false;
  };
  if (!peer) {
    writer_.submit_wait([&](storage::WriteTxn& txn) { outbox_.done(txn, entry); });
    return false;
  }
  if (!peer->active) return backoff(kSuspended);
  if (!peer->signing_key) {
    if (!identity_.refresh_peer(peer->name)) return backoff("peer identity unavailable");
    auto txn = env_.begin_read();
    peer = peers_.find(txn, entry.peer);
    if (!peer) return false;
  }

  auto result = client_.exchange(*peer, entry.type, entry.id, entry.re, entry.body);
  if (!result) {  // incl. a malformed or unsigned reply
    not_delivered(entry, result).get();
    return false;
  }
  {
    auto txn = env_.begin_read();
    peer = peers_.find(txn, entry.peer);  // keys may have been learnt while verifying
  }
  if (!peer) return false;
  SentMessage sent{entry.peer, entry.type, entry.id, entry.body};
  auto handler = reply_handlers_.find(entry.type);
  writer_.submit_wait([&](storage::WriteTxn& txn) {
    if (handler != reply_handlers_.end()) handler->second(txn, sent, *result.reply, *peer);
    outbox_.done(txn, entry);
  });
  return true;
}

}  // namespace relay::node::federation
