// Inbox::receive: the checks every incoming envelope passes before its handler runs (see
// inbox.hpp), and idempotent recording of the message id with its reply.
#include "node/federation/inbox.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "protocol/canonical_json.hpp"

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

std::string content_digest(const protocol::Envelope& e) {
  nlohmann::json j = {{"type", e.type}, {"id", e.id}, {"re", e.re},
                      {"from", e.from}, {"to", e.to}, {"body", e.body}};
  return crypto::to_hex(crypto::sha256(crypto::as_bytes(protocol::canonical_dump(j))));
}

Inbox::Inbox(const config::NodeConfig& config, storage::Environment& env, storage::Writer& writer,
             const common::Clock& clock, PeerRegistry& peers, NodeIdentity& identity)
    : config_(config),
      env_(env),
      writer_(writer),
      clock_(clock),
      peers_(peers),
      identity_(identity),
      inbox_(env.database("inbox")) {}

void Inbox::on_request(const std::string& type, RequestHandler handler) {
  handlers_[type] = std::move(handler);
}

std::vector<Refusal> Inbox::refusals() const {
  std::lock_guard lock(refusals_mutex_);
  return {refusals_.begin(), refusals_.end()};
}

Received Inbox::refuse(int status, const std::string& code, const std::string& message,
                       const std::string& from, const std::string& type) {
  log_refusal(from, type, code, message);
  {
    std::lock_guard lock(refusals_mutex_);
    refusals_.push_back({clock_.now_ms(), from, type, code + ": " + message});
    if (refusals_.size() > kMaxRefusalsKept) refusals_.pop_front();
  }
  return {status, error_body(code, message), true};
}

// One warning per claimed sender and code a minute; the rest are counted and the count is
// reported with the next warning, so a flood of forged requests cannot flood the log. A
// sender that is no configured peer is one sender for this purpose: its name is whatever the
// client invents, and a name per request would otherwise be a line per request.
void Inbox::log_refusal(const std::string& from, const std::string& type, const std::string& code,
                        const std::string& message) {
  auto now = clock_.now_ms();
  std::uint64_t suppressed = 0;
  {
    std::lock_guard lock(refusals_mutex_);
    // Claimed names are chosen by the client: bound the table, forgetting every window.
    if (refusal_log_.size() >= kMaxLogWindows) refusal_log_.clear();
    auto& window = refusal_log_[(code == "unknown_peer" ? std::string("*") : from) + "/" + code];
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

std::variant<Received, Inbox::Checked> Inbox::check(std::string_view bytes) {
  auto parsed = protocol::parse_envelope(bytes);
  if (auto* error = std::get_if<protocol::EnvelopeError>(&parsed))
    return refuse(400, "malformed_envelope", error->message, "", "");
  auto& e = std::get<protocol::Envelope>(parsed);
  if (e.from == identity_.self())
    return refuse(403, "reflected", "a message from this node to itself", e.from, e.type);
  if (e.to != identity_.self())
    return refuse(421, "wrong_recipient", "addressed to " + e.to, e.from, e.type);
  std::optional<Peer> peer;
  {
    auto txn = env_.begin_read();
    peer = peers_.find(txn, e.from);
  }
  if (!peer) return refuse(403, "unknown_peer", "sender is not a configured peer", e.from, e.type);
  if (!peer->active) return refuse(403, "peer_suspended", "sender is suspended", e.from, e.type);
  // Only keys already known; no I/O and no commit for a key we do not know.
  auto key = PeerRegistry::key_for(*peer, e.key, clock_.now_ms());
  if (!key) key = identity_.announced_key(*peer, e);
  if (!key) {
    identity_.request_refresh(peer->name);  // rate limited, runs on the refresh loop
    return refuse(403, "unknown_key",
                  "key " + e.key.substr(0, 16) + "... is not (or no longer) accepted", e.from,
                  e.type);
  }
  if (!protocol::verify_envelope(e, *key))
    return refuse(403, "bad_signature", "signature does not verify", e.from, e.type);
  auto now = clock_.now_ms();
  auto window =
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.federation.timestamp_window_s)
          .count();
  if (e.ts_ms < now - window || e.ts_ms > now + window)
    return refuse(400, "outside_window", "timestamp is outside the accepted window", e.from,
                  e.type);
  auto handler = handlers_.find(e.type);
  if (handler == handlers_.end())
    return refuse(400, "unknown_type", "no such message type", e.from, e.type);
  {
    auto txn = env_.begin_read();
    peer = peers_.find(txn, e.from);  // keys may have been learnt above (key.rotated)
  }
  return Checked{std::move(e), std::move(*peer), &handler->second};
}

std::future<Received> Inbox::apply(Checked checked) {
  auto c = std::make_shared<Checked>(std::move(checked));
  auto digest = content_digest(c->envelope);
  auto inbox_key = c->envelope.from + "/" + c->envelope.id;
  auto recorded = writer_.submit([this, c, digest, inbox_key](storage::WriteTxn& txn) -> Recorded {
    const auto& e = c->envelope;
    if (auto existing = txn.get(inbox_, inbox_key)) {
      auto j = nlohmann::json::parse(*existing);
      if (j.at("digest") != digest)
        return {409, {}, "id_reused", "message id already used with different content"};
      return {200, j.at("reply").get<std::string>(), {}, {}};
    }
    auto result = (*c->handler)(txn, e, c->peer);
    if (!result.ok)
      throw storage::Rollback<Recorded>{{result.status, {}, result.code, result.message}};
    auto reply_ts = clock_.now_ms();
    auto reply_bytes = identity_.make_envelope(
        protocol::reply_type(e.type), "msg_" + digest.substr(0, 32), e.id, e.from, result.reply);
    txn.put(inbox_, inbox_key,
            nlohmann::json{
                {"digest", digest}, {"reply", reply_bytes}, {"type", e.type}, {"at_ms", reply_ts}}
                .dump());
    return {200, reply_bytes, {}, {}};
  });
  // Resolved by the caller's wait: the refusal is logged then, on the caller's thread.
  return std::async(std::launch::deferred, [this, c, recorded = std::move(recorded)]() mutable {
    auto r = recorded.get();
    if (!r.refusal_code.empty())
      return refuse(r.status, r.refusal_code, r.refusal_message, c->envelope.from,
                    c->envelope.type);
    return Received{200, std::move(r.body), false};
  });
}

Received Inbox::receive(std::string_view bytes) {
  auto checked = check(bytes);
  if (auto* refused = std::get_if<Received>(&checked)) return std::move(*refused);
  return apply(std::move(std::get<Checked>(checked))).get();
}

std::vector<Received> Inbox::receive_batch(const std::vector<std::string>& envelopes) {
  std::vector<std::variant<Received, std::future<Received>>> pending;
  pending.reserve(envelopes.size());
  for (const auto& bytes : envelopes) {
    auto checked = check(bytes);
    if (auto* refused = std::get_if<Received>(&checked))
      pending.emplace_back(std::move(*refused));
    else
      pending.emplace_back(apply(std::move(std::get<Checked>(checked))));  // queued, not waited
  }
  std::vector<Received> out;
  out.reserve(pending.size());
  for (auto& p : pending) {
    if (auto* done = std::get_if<Received>(&p))
      out.push_back(std::move(*done));
    else
      out.push_back(std::get<std::future<Received>>(p).get());
  }
  return out;
}

}  // namespace relay::node::federation
