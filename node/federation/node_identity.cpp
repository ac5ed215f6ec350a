#include "node/federation/node_identity.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "crypto/bytes.hpp"
#include "crypto/key_file.hpp"
#include "crypto/sign.hpp"
#include "node/http/client.hpp"
#include "protocol/event.hpp"
#include "protocol/federation_messages.hpp"

namespace relay::node::federation {

namespace fs = std::filesystem;

namespace {
// The refresh loop is woken by request_refresh(); the period only bounds how long a wake
// that raced with the end of a pass can wait.
constexpr std::chrono::milliseconds kRefreshPeriod{1000};
}  // namespace

NodeIdentity::NodeIdentity(const config::NodeConfig& config, storage::Environment& env,
                           storage::Writer& writer, identity::KeyRing& keys, ledger::Ledger& ledger,
                           PeerRegistry& peers, Outbox& outbox, Alerts& alerts)
    : config_(config),
      env_(env),
      writer_(writer),
      keys_(keys),
      ledger_(ledger),
      peers_(peers),
      outbox_(outbox),
      alerts_(alerts),
      self_(config.node.name),
      meta_(env.database("federation_meta")),
      refresh_loop_("federation identity refresh", kRefreshPeriod, [this] { run_refreshes(); }) {}

NodeIdentity::~NodeIdentity() {
  stop();
}

void NodeIdentity::start() {
  refresh_loop_.start();
}

void NodeIdentity::stop() {
  refresh_loop_.stop();
}

std::int64_t NodeIdentity::grace_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             config_.federation.key_grace_period_s)
      .count();
}

std::string NodeIdentity::make_envelope(const std::string& type, const std::string& id,
                                        const std::string& re, const std::string& to,
                                        const nlohmann::json& body) const {
  protocol::Envelope e;
  e.type = type;
  e.id = id;
  e.re = re;
  e.from = self_;
  e.to = to;
  e.ts_ms = clock().now_ms();
  e.body = body;
  return protocol::encode_envelope(e, keys_.current()->signing);
}

std::string NodeIdentity::identity_document() const {
  auto keys = keys_.current();
  protocol::IdentityDocument doc;
  doc.node = self_;
  doc.region = config_.node.region;
  doc.url = config_.node.public_url;
  doc.signing_key = keys->signing.public_key;
  doc.encryption_key = keys->encryption.public_key;
  doc.issued_ms = clock().now_ms();
  auto txn = env_.begin_read();
  if (auto rotation = txn.get(meta_, "rotation")) {
    auto j = nlohmann::json::parse(*rotation);
    auto prev = crypto::from_base64(j.at("previous_key").get<std::string>());
    auto sig = crypto::from_base64(j.at("signature").get<std::string>());
    if (j.at("new_key") == crypto::to_base64(keys->signing.public_key.bytes) && prev && sig) {
      doc.previous_key = crypto::ed25519_public_key_from(*prev);
      doc.rotation_signature = crypto::ed25519_signature_from(*sig);
    }
  }
  return protocol::encode_identity(doc, keys->signing);
}

std::optional<nlohmann::json> NodeIdentity::seal_for(const Peer& peer, const std::string& id,
                                                     const nlohmann::json& payload) const {
  if (!peer.encryption_key) return std::nullopt;
  auto keys = keys_.current();
  return protocol::seal_body(payload, self_, peer.name, id, keys->signing, *peer.encryption_key);
}

std::optional<protocol::OpenedBody> NodeIdentity::open(const protocol::Envelope& e,
                                                       const Peer& peer) const {
  if (!peer.signing_key) return std::nullopt;
  auto keys = keys_.current();  // one snapshot: current and retired keys of the same moment
  std::vector<crypto::Ed25519PublicKey> senders{*peer.signing_key};
  for (const auto& r : peer.retired) senders.push_back(r.key);
  for (const auto& sender : senders) {
    if (auto opened = protocol::open_body(e.body, e.from, e.to, e.id, keys->encryption, sender))
      return opened;
    for (const auto& old : keys->retired_encryption)
      if (auto opened = protocol::open_body(e.body, e.from, e.to, e.id, old, sender)) return opened;
  }
  return std::nullopt;
}

bool NodeIdentity::refresh_peer(const std::string& name) {
  std::optional<Peer> peer;
  {
    auto txn = env_.begin_read();
    peer = peers_.find(txn, name);
  }
  if (!peer) return false;
  {
    std::lock_guard lock(refresh_mutex_);
    refresh_attempted_ms_[name] = clock().now_ms();
  }
  auto result = http::http_request("GET", peer->url + "/federation/v1/identity", {}, {},
                                   config_.federation.request_timeout_ms);
  if (!result || result.response->status != 200) return false;
  auto doc = protocol::parse_identity(result.response->body);
  if (!doc) {
    spdlog::warn("federation: peer {} served an invalid identity document", name);
    return false;
  }
  auto learnt = writer_.submit_wait([&](storage::WriteTxn& txn) {
    auto r = peers_.learn(txn, name, *doc, clock().now_ms(), grace_ms());
    if (r == LearnResult::refused)
      alerts_.raise(txn, "identity_refused", name,
                    "identity document does not match the pinned fingerprint");
    return r;
  });
  if (learnt == LearnResult::rotated) spdlog::info("federation: peer {} rotated its key", name);
  return learnt != LearnResult::refused;
}

bool NodeIdentity::request_refresh(const std::string& name) {
  auto min_gap = std::chrono::duration_cast<std::chrono::milliseconds>(
                     config_.federation.identity_refresh_min_s)
                     .count();
  auto now = clock().now_ms();
  {
    std::lock_guard lock(refresh_mutex_);
    auto last = refresh_attempted_ms_.find(name);
    if (last != refresh_attempted_ms_.end() && now - last->second < min_gap) return false;
    // Counted as attempted from now: the scheduling itself is what is rate limited.
    refresh_attempted_ms_[name] = now;
    refresh_wanted_.push_back(name);
  }
  refresh_loop_.wake();
  return true;
}

std::size_t NodeIdentity::run_refreshes() {
  std::vector<std::string> wanted;
  {
    std::lock_guard lock(refresh_mutex_);
    wanted.swap(refresh_wanted_);
  }
  for (const auto& name : wanted) {
    if (refresh_peer(name))
      spdlog::info("federation: refreshed the identity of peer {}", name);
    else
      spdlog::warn("federation: identity of peer {} could not be refreshed", name);
  }
  return wanted.size();
}

std::optional<crypto::Ed25519PublicKey> NodeIdentity::announced_key(const Peer& peer,
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
  auto learnt = writer_.submit_wait(
      [&](storage::WriteTxn& txn) { return peers_.learn(txn, peer.name, *doc, now, grace_ms()); });
  if (learnt == LearnResult::refused) return std::nullopt;
  return doc->signing_key;
}

void NodeIdentity::rotate_keys() {
  std::lock_guard rotating(rotate_mutex_);
  auto old = keys_.current();
  // The next snapshot carries the old encryption key among its retired ones: messages sealed
  // to it may still be in flight, and readers switch to current + retired in one step.
  auto next = old->rotated(crypto::Ed25519KeyPair::generate(), crypto::X25519KeyPair::generate());
  auto statement = protocol::rotation_statement(
      self_, old->signing.public_key, next.signing.public_key, next.encryption.public_key);
  auto signature = crypto::sign(old->signing.secret_key, crypto::as_bytes(statement));
  // Keep the old encryption key on disk too, for the next start (NodeKeys::load).
  auto keys_dir = config_.data_dir / "keys";
  fs::create_directories(keys_dir / "retired");
  crypto::write_secret_file(
      keys_dir / "retired" /
          ("encryption-" + old->signing.public_key.fingerprint().substr(0, 16) + ".key"),
      old->encryption.secret_key.view());
  // The new key files are staged first and moved into place once the rotation committed
  // (Node completes a staged rotation found at start-up, see node.cpp).
  next.save(keys_dir / "next");
  auto next_keys = std::make_shared<const identity::NodeKeys>(std::move(next));
  writer_.submit_wait([&](storage::WriteTxn& txn) {
    // Signed by the old key, which vouches for the new one; the ring switches inside the same
    // request, so every entry after key_rotated is signed by the new key.
    ledger_.append_signed_by(
        txn,
        protocol::key_rotated(old->signing.public_key, next_keys->signing.public_key,
                              next_keys->encryption.public_key),
        old->signing);
    keys_.replace(next_keys);
    txn.put(meta_, "rotation",
            nlohmann::json{{"previous_key", crypto::to_base64(old->signing.public_key.bytes)},
                           {"new_key", crypto::to_base64(next_keys->signing.public_key.bytes)},
                           {"signature", crypto::to_base64(signature)},
                           {"at_ms", clock().now_ms()}}
                .dump());
  });
  identity::complete_staged_rotation(keys_dir);
  auto identity = identity_document();
  writer_.submit_wait([&](storage::WriteTxn& txn) {
    protocol::KeyRotated announcement{identity};
    for (const auto& peer : peers_.list(txn))
      if (peer.active)
        outbox_.enqueue(txn, peer.name, std::string(protocol::KeyRotated::type),
                        [&](const std::string&) { return announcement.to_json(); });
  });
  spdlog::info("federation: signing key rotated to {}",
               keys_.current()->signing.public_key.fingerprint());
}

}  // namespace relay::node::federation
