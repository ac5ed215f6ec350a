// Federation::receive: the checks every incoming envelope passes before its handler runs
// (see federation.hpp), and idempotent recording of the message id with its reply.
#include <spdlog/spdlog.h>

#include "node/federation/federation.hpp"
#include "node/http/message.hpp"
#include "node/members/member.hpp"

namespace relay::node::federation {

namespace {
constexpr std::size_t kMaxRefusalsKept = 200;

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
  spdlog::warn("federation: refused message (type {}, from {}): {}: {}", type.empty() ? "?" : type,
               from.empty() ? "?" : from, code, message);
  {
    std::lock_guard lock(refusals_mutex_);
    refusals_.push_back({clock().now_ms(), from, type, code + ": " + message});
    if (refusals_.size() > kMaxRefusalsKept) refusals_.pop_front();
  }
  return {status, error_body(code, message), true};
}

std::optional<crypto::Ed25519PublicKey> Federation::sender_key(const Peer& peer, const protocol::Envelope& e) {
  auto now = clock().now_ms();
  if (auto key = PeerRegistry::key_for(peer, e.key, now)) return key;
  // An unknown key: the peer may have rotated. Learn from the announcement itself or from
  // the peer's identity document; either must chain to the pinned key.
  if (e.type == "key.rotated" && e.body.contains("identity") && e.body["identity"].is_string()) {
    if (auto doc = protocol::parse_identity(e.body["identity"].get<std::string>())) {
      auto grace = std::chrono::duration_cast<std::chrono::milliseconds>(config_.federation.key_grace_period_s).count();
      writer_.submit_wait([&](storage::WriteTxn& txn) { return peers_.learn(txn, peer.name, *doc, now, grace); });
    }
  } else {
    refresh_peer(peer.name);
  }
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
  if (e.from == self_) return refuse(403, "reflected", "a message from this node to itself", e.from, e.type);
  if (e.to != self_) return refuse(421, "wrong_recipient", "addressed to " + e.to, e.from, e.type);
  std::optional<Peer> peer;
  {
    auto txn = env_.begin_read();
    peer = peers_.find(txn, e.from);
  }
  if (!peer) return refuse(403, "unknown_peer", "sender is not a configured peer", e.from, e.type);
  if (!peer->active) return refuse(403, "peer_suspended", "sender is suspended", e.from, e.type);
  auto key = sender_key(*peer, e);
  if (!key) return refuse(403, "unknown_key", "key " + e.key.substr(0, 16) + "... is not (or no longer) accepted", e.from, e.type);
  if (!protocol::verify_envelope(e, *key)) return refuse(403, "bad_signature", "signature does not verify", e.from, e.type);
  auto now = clock().now_ms();
  auto window = std::chrono::duration_cast<std::chrono::milliseconds>(config_.federation.timestamp_window_s).count();
  if (e.ts_ms < now - window || e.ts_ms > now + window)
    return refuse(400, "outside_window", "timestamp is outside the accepted window", e.from, e.type);
  auto handler = request_handlers_.find(e.type);
  if (handler == request_handlers_.end())
    return refuse(400, "unknown_type", "no such message type", e.from, e.type);
  {
    auto txn = env_.begin_read();
    peer = peers_.find(txn, e.from);  // keys may have been learnt above
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
    if (!result.ok) throw storage::Rollback<Recorded>{{result.status, {}, result.code, result.message}};
    protocol::Envelope reply;
    reply.type = e.type + ".reply";
    reply.id = "msg_" + digest.substr(0, 32);
    reply.re = e.id;
    reply.from = self_;
    reply.to = e.from;
    reply.ts_ms = clock().now_ms();
    reply.body = result.reply;
    auto reply_bytes = protocol::encode_envelope(reply, keys_.current()->signing);
    txn.put(inbox_, inbox_key,
            nlohmann::json{{"digest", digest}, {"reply", reply_bytes}, {"type", e.type}, {"at_ms", reply.ts_ms}}.dump());
    return {200, reply_bytes, {}, {}};
  });
  if (!recorded.refusal_code.empty())
    return refuse(recorded.status, recorded.refusal_code, recorded.refusal_message, e.from, e.type);
  return {200, recorded.body, false};
}

}  // namespace relay::node::federation
