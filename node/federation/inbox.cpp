// Federation::receive: the checks every incoming envelope passes before its handler runs
// (see federation.hpp), and idempotent recording of the message id with its reply.
#include <spdlog/spdlog.h>

#include "node/federation/federation.hpp"
#include "node/http/message.hpp"
#include "node/members/member.hpp"

namespace relay::node::federation {

namespace {
constexpr std::size_t kMaxRefusalsKept = 200;
constexpr std::size_t kMaxLogWindows = 1024;
constexpr std::int64_t kLogWindowMs = 60'000;

std::string error_body(const std::string& code, const std::string& message) {
  return nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump();
}

// The outcome of the write request: a stored or new reply, or a refusal.
struct Recorded {
  int status = 200;
  std::string body;
  std::string refusal_code;  // set when refused
  std::string refusal_message;
};
}  // namespace

Received Federation::refuse(int status, const std::string& code, const std::string& message,
                            const std::string& from, const std::string& type) {
  log_refusal(from, type, code, message);
  {
    std::lock_guard lock(refusals_mutex_);
    refusals_.push_back({clock().now_ms(), from, type, code + ": " + message});
    if (refusals_.size() > kMaxRefusalsKept) refusals_.pop_front();
  }
  return {status, error_body(code, message), true};
}

// One warning per claimed sender and code a minute; the rest are counted and the count is
// reported with the next warning, so a flood of forged requests cannot flood the log.
void Federation::log_refusal(const std::string& from, const std::string& type,
                             const std::string& code, const std::string& message) {
  auto now = clock().now_ms();
  std::uint64_t suppressed = 0;
  {
    std::lock_guard lock(refusals_mutex_);
    // Claimed names are chosen by the client: bound the table, forgetting every window.
    if (refusal_log_.size() >= kMaxLogWindows) refusal_log_.clear();
    auto& window = refusal_log_[from + "/" + code];
    if (window.started_ms != 0 && now - window.started_ms < kLogWindowMs) {
      ++window.suppressed;
      return;
    }
    suppressed = window.suppressed;
    window = {now, 0};
  }
  if (suppressed > 0)
    spdlog::warn(
        "federation: refused message (type {}, from {}): {}: {} ({} more like it not logged in the "
        "last minute)",
        type.empty() ? "?" : type, from.empty() ? "?" : from, code, message, suppressed);
  else
    spdlog::warn("federation: refused message (type {}, from {}): {}: {}",
                 type.empty() ? "?" : type, from.empty() ? "?" : from, code, message);
}

std::optional<crypto::Ed25519PublicKey> Federation::announced_key(const Peer& peer,
                                                                  const protocol::Envelope& e) {
  if (e.type != protocol::KeyRotated::type) return std::nullopt;
  auto announcement = protocol::KeyRotated::parse(e.body);
  if (!announcement) return std::nullopt;
  // Offline: the document is self-signed and its rotation statement is signed by the
  // previous key (parse_identity checks both); the previous key must be the pinned one.
  auto doc = protocol::parse_identity(announcement->identity);
  if (!doc || doc->node != peer.name || doc->signing_key.fingerprint() != e.key)
    return std::nullopt;
  bool pinned = doc->signing_key.fingerprint() == peer.fingerprint ||
                (doc->previous_key && doc->previous_key->fingerprint() == peer.fingerprint);
  if (!pinned) return std::nullopt;
  // The envelope must verify with the announced key before anything is committed.
  if (!protocol::verify_envelope(e, doc->signing_key)) return std::nullopt;
  auto now = clock().now_ms();
  auto grace =
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.federation.key_grace_period_s)
          .count();
  auto learnt = writer_.submit_wait(
      [&](storage::WriteTxn& txn) { return peers_.learn(txn, peer.name, *doc, now, grace); });
  if (learnt == LearnResult::refused) return std::nullopt;
  return doc->signing_key;
}

std::optional<crypto::Ed25519PublicKey> Federation::reply_key(const Peer& peer,
                                                              const protocol::Envelope& e) {
  if (auto key = PeerRegistry::key_for(peer, e.key, clock().now_ms())) return key;
  // We asked this peer (sender or caller thread): it may have rotated since we learnt it.
  refresh_peer(peer.name);
  auto txn = env_.begin_read();
  auto fresh = peers_.find(txn, peer.name);
  if (!fresh) return std::nullopt;
  return PeerRegistry::key_for(*fresh, e.key, clock().now_ms());
}

Received Federation::receive(std::string_view bytes) {
  auto parsed = protocol::parse_envelope(bytes);
  if (auto* error = std::get_if<protocol::EnvelopeError>(&parsed))
    return refuse(400, "malformed_envelope", error->message, "", "");
  auto& e = std::get<protocol::Envelope>(parsed);
  if (e.from == self_)
    return refuse(403, "reflected", "a message from this node to itself", e.from, e.type);
  if (e.to != self_) return refuse(421, "wrong_recipient", "addressed to " + e.to, e.from, e.type);
  std::optional<Peer> peer;
  {
    auto txn = env_.begin_read();
    peer = peers_.find(txn, e.from);
  }
  if (!peer) return refuse(403, "unknown_peer", "sender is not a configured peer", e.from, e.type);
  if (!peer->active) return refuse(403, "peer_suspended", "sender is suspended", e.from, e.type);
  // Only keys already known; no I/O and no commit for a key we do not know.
  auto key = PeerRegistry::key_for(*peer, e.key, clock().now_ms());
  if (!key) key = announced_key(*peer, e);
  if (!key) {
    request_refresh(peer->name);  // rate limited, runs on the sender thread
    return refuse(403, "unknown_key",
                  "key " + e.key.substr(0, 16) + "... is not (or no longer) accepted", e.from,
                  e.type);
  }
  if (!protocol::verify_envelope(e, *key))
    return refuse(403, "bad_signature", "signature does not verify", e.from, e.type);
  auto now = clock().now_ms();
  auto window =
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.federation.timestamp_window_s)
          .count();
  if (e.ts_ms < now - window || e.ts_ms > now + window)
    return refuse(400, "outside_window", "timestamp is outside the accepted window", e.from,
                  e.type);
  auto handler = request_handlers_.find(e.type);
  if (handler == request_handlers_.end())
    return refuse(400, "unknown_type", "no such message type", e.from, e.type);
  {
    auto txn = env_.begin_read();
    peer = peers_.find(txn, e.from);  // keys may have been learnt above (key.rotated)
  }

  auto digest = content_digest(e);
  auto inbox_key = e.from + "/" + e.id;
  auto recorded = writer_.submit_wait([&](storage::WriteTxn& txn) -> Recorded {
    if (auto existing = txn.get(inbox_, inbox_key)) {
      auto j = nlohmann::json::parse(*existing);
      if (j.at("digest") != digest)
        return {409, {}, "id_reused", "message id already used with different content"};
      return {200, j.at("reply").get<std::string>(), {}, {}};
    }
    auto result = handler->second(txn, e, *peer);
    if (!result.ok)
      throw storage::Rollback<Recorded>{{result.status, {}, result.code, result.message}};
    auto reply_ts = clock().now_ms();
    auto reply_bytes = make_envelope(protocol::reply_type(e.type), "msg_" + digest.substr(0, 32),
                                     e.id, e.from, result.reply);
    txn.put(inbox_, inbox_key,
            nlohmann::json{
                {"digest", digest}, {"reply", reply_bytes}, {"type", e.type}, {"at_ms", reply_ts}}
                .dump());
    return {200, reply_bytes, {}, {}};
  });
  if (!recorded.refusal_code.empty())
    return refuse(recorded.status, recorded.refusal_code, recorded.refusal_message, e.from, e.type);
  return {200, recorded.body, false};
}

}  // namespace relay::node::federation
