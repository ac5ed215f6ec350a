// Federation::deliver_due: the sender side of the outbox (see outbox.hpp).
#include <spdlog/spdlog.h>

#include "node/federation/federation.hpp"
#include "node/http/client.hpp"
#include "node/members/member.hpp"

namespace relay::node::federation {

std::size_t Federation::deliver_due() {
  std::vector<OutboxEntry> due;
  {
    auto txn = env_.begin_read();
    due = outbox_.due(txn, clock().now_ms(), 64);
  }
  std::size_t delivered = 0;
  for (const auto& entry : due)
    if (deliver(entry)) ++delivered;
  return delivered;
}

bool Federation::deliver(const OutboxEntry& entry) {
  std::optional<Peer> peer;
  {
    auto txn = env_.begin_read();
    peer = peers_.find(txn, entry.peer);
  }
  auto backoff = [&](const std::string& why) {
    auto e = entry;
    e.attempts += 1;
    auto initial = config_.federation.retry_initial_ms.count();
    auto cap = config_.federation.retry_max_ms.count();
    auto delay = initial << std::min<std::uint32_t>(e.attempts - 1, 20);
    e.next_ms = clock().now_ms() + std::min<std::int64_t>(delay, cap);
    e.last_error = why;
    writer_.submit_wait([&](storage::WriteTxn& txn) { outbox_.update(txn, e); });
    spdlog::debug("federation: {} to {} not delivered ({}), attempt {}", entry.type, entry.peer,
                  why, e.attempts);
    return false;
  };
  if (!peer) {
    writer_.submit_wait([&](storage::WriteTxn& txn) { outbox_.remove(txn, entry.key); });
    return false;
  }
  if (!peer->active) return backoff("peer suspended");
  if (!peer->signing_key && !refresh_peer(peer->name)) return backoff("peer identity unavailable");

  auto bytes = make_envelope(entry.type, entry.id, entry.re, entry.peer, entry.body);
  auto result = http::http_request("POST", peer->url + "/federation/v1/messages", bytes,
                                   {{"Content-Type", "application/json"}},
                                   config_.federation.request_timeout_ms);
  if (!result) return backoff(result.error);
  int status = result.response->status;
  if (status != 200) {
    // 403 may be transient (the peer has not configured us yet, or not learnt our new key):
    // retry it with backoff like a network error; other 4xx are final.
    bool permanent = status >= 400 && status < 500 && status != 403 && status != 408 &&
                     status != 429 && status != 421;
    if (!permanent) return backoff("HTTP " + std::to_string(status));
    auto failed = entry;
    failed.state = "failed";
    failed.last_error = "refused by peer: HTTP " + std::to_string(status);
    writer_.submit_wait([&](storage::WriteTxn& txn) {
      outbox_.update(txn, failed);
      raise_alert(txn, "delivery_refused", entry.peer,
                  entry.type + " " + entry.id + " refused: HTTP " + std::to_string(status));
    });
    return false;
  }
  auto parsed = protocol::parse_envelope(result.response->body);
  auto* reply = std::get_if<protocol::Envelope>(&parsed);
  if (!reply || reply->from != entry.peer || reply->to != self_ || reply->re != entry.id ||
      reply->type != protocol::reply_type(entry.type))
    return backoff("malformed reply");
  auto key = reply_key(*peer, *reply);
  if (!key || !protocol::verify_envelope(*reply, *key)) return backoff("reply signature invalid");
  {
    auto txn = env_.begin_read();
    peer = peers_.find(txn, entry.peer);
  }
  SentMessage sent{entry.peer, entry.type, entry.id, entry.body};
  auto handler = reply_handlers_.find(entry.type);
  writer_.submit_wait([&](storage::WriteTxn& txn) {
    if (handler != reply_handlers_.end()) handler->second(txn, sent, *reply, *peer);
    outbox_.remove(txn, entry.key);
  });
  return true;
}

}  // namespace relay::node::federation
