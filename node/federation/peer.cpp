#include "node/federation/peer.hpp"

#include "crypto/bytes.hpp"
#include "node/http/client.hpp"
#include "node/members/member.hpp"
#include "node/storage/txn.hpp"
#include "protocol/event.hpp"

namespace relay::node::federation {

namespace {

std::string b64(const std::array<std::uint8_t, 32>& bytes) {
  return crypto::to_base64(bytes);
}

template <class Key>
std::optional<Key> key_from(const nlohmann::json& j, const char* field) {
  if (!j.contains(field) || !j[field].is_string()) return std::nullopt;
  auto bytes = crypto::from_base64(j[field].get<std::string>());
  if (!bytes || bytes->size() != 32) return std::nullopt;
  Key k;
  std::copy(bytes->begin(), bytes->end(), k.bytes.begin());
  return k;
}

Peer from_record(const std::string& text) {
  auto j = nlohmann::json::parse(text);
  Peer p;
  p.name = j.at("name");
  p.url = j.at("url");
  p.fingerprint = j.at("fingerprint");
  p.active = j.at("active");
  p.region = j.value("region", "");
  p.added_ms = j.value("added_ms", std::int64_t{0});
  p.signing_key = key_from<crypto::Ed25519PublicKey>(j, "signing_key");
  p.encryption_key = key_from<crypto::X25519PublicKey>(j, "encryption_key");
  for (const auto& r : j.value("retired", nlohmann::json::array()))
    if (auto k = key_from<crypto::Ed25519PublicKey>(r, "key"))
      p.retired.push_back({*k, r.at("until_ms")});
  return p;
}

bool valid_peer_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  return true;
}

bool valid_fingerprint(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

nlohmann::json Peer::to_json() const {
  nlohmann::json j = {{"name", name},
                      {"url", url},
                      {"fingerprint", fingerprint},
                      {"status", active ? "active" : "suspended"},
                      {"region", region},
                      {"keys_known", signing_key.has_value()},
                      {"added_ms", added_ms}};
  nlohmann::json retired_keys = nlohmann::json::array();
  for (const auto& r : retired)
    retired_keys.push_back({{"fingerprint", r.key.fingerprint()}, {"until_ms", r.until_ms}});
  j["retired_keys"] = retired_keys;
  return j;
}

PeerRegistry::PeerRegistry(storage::Environment& env, ledger::Ledger& ledger, std::string self_name,
                           bool allow_plain_http)
    : ledger_(ledger),
      self_(std::move(self_name)),
      allow_plain_http_(allow_plain_http),
      peers_(env.database("peers")) {}

void PeerRegistry::save(storage::WriteTxn& txn, const Peer& p) {
  nlohmann::json j = {{"name", p.name},     {"url", p.url},       {"fingerprint", p.fingerprint},
                      {"active", p.active}, {"region", p.region}, {"added_ms", p.added_ms}};
  if (p.signing_key) j["signing_key"] = b64(p.signing_key->bytes);
  if (p.encryption_key) j["encryption_key"] = b64(p.encryption_key->bytes);
  nlohmann::json retired = nlohmann::json::array();
  for (const auto& r : p.retired)
    retired.push_back({{"key", b64(r.key.bytes)}, {"until_ms", r.until_ms}});
  j["retired"] = retired;
  txn.put(peers_, p.name, j.dump());
}

AddError PeerRegistry::add(storage::WriteTxn& txn, const std::string& name, const std::string& url,
                           const std::string& fingerprint) {
  if (!valid_peer_name(name)) return AddError::bad_name;
  if (name == self_) return AddError::is_self;
  auto parsed = http::parse_url(url);
  if (!parsed || parsed->target != "/" || url.back() == '/') return AddError::bad_url;
  if (parsed->scheme == "http" && !allow_plain_http_ && !http::is_loopback_host(parsed->host))
    return AddError::plain_http;
  if (!valid_fingerprint(fingerprint)) return AddError::bad_fingerprint;
  if (txn.contains(peers_, name)) return AddError::duplicate;
  Peer p;
  p.name = name;
  p.url = url;
  p.fingerprint = fingerprint;
  p.added_ms = ledger_.clock().now_ms();
  save(txn, p);
  ledger_.append(txn, protocol::peer_added(name, fingerprint));
  if (on_activated_) on_activated_(txn, p);
  return AddError::none;
}

bool PeerRegistry::set_active(storage::WriteTxn& txn, const std::string& name, bool active) {
  auto p = find(txn, name);
  if (!p) return false;
  if (p->active == active) return true;
  p->active = active;
  save(txn, *p);
  if (!active) ledger_.append(txn, protocol::peer_suspended(name));
  if (active && on_activated_) on_activated_(txn, *p);
  return true;
}

std::optional<Peer> PeerRegistry::find(const storage::Txn& txn, const std::string& name) const {
  if (name.empty() || name.size() > 64) return std::nullopt;
  auto v = txn.get(peers_, name);
  if (!v) return std::nullopt;
  return parsed(name, *v);
}

std::vector<Peer> PeerRegistry::list(const storage::Txn& txn) const {
  std::vector<Peer> out;
  txn.for_each_prefix(peers_, "", [&](std::string_view name, std::string_view v) {
    out.push_back(parsed(std::string(name), v));
  });
  return out;
}

Peer PeerRegistry::parsed(const std::string& name, std::string_view stored) const {
  if (auto cached = parsed_.find(name, stored)) return *cached;
  auto p = from_record(std::string(stored));
  parsed_.put(name, std::string(stored), p);
  return p;
}

LearnResult PeerRegistry::learn(storage::WriteTxn& txn, const std::string& name,
                                const protocol::IdentityDocument& doc, std::int64_t now_ms,
                                std::int64_t grace_ms) {
  auto p = find(txn, name);
  if (!p || doc.node != name) return LearnResult::refused;
  auto fp = doc.signing_key.fingerprint();
  if (fp == p->fingerprint) {
    if (p->signing_key == doc.signing_key && p->encryption_key == doc.encryption_key &&
        p->region == doc.region)
      return LearnResult::unchanged;
    p->signing_key = doc.signing_key;
    p->encryption_key = doc.encryption_key;
    p->region = doc.region;
    save(txn, *p);
    return LearnResult::learnt;
  }
  // A rotation is accepted only if the pinned key signed it.
  if (!doc.previous_key || doc.previous_key->fingerprint() != p->fingerprint)
    return LearnResult::refused;
  auto old_key = p->signing_key.value_or(*doc.previous_key);
  p->retired.push_back({old_key, now_ms + grace_ms});
  p->fingerprint = fp;
  p->signing_key = doc.signing_key;
  p->encryption_key = doc.encryption_key;
  p->region = doc.region;
  save(txn, *p);
  return LearnResult::rotated;
}

std::optional<crypto::Ed25519PublicKey> PeerRegistry::key_for(const Peer& peer,
                                                              const std::string& fingerprint,
                                                              std::int64_t now_ms) {
  if (peer.signing_key && fingerprint == peer.fingerprint) return peer.signing_key;
  for (const auto& r : peer.retired)
    if (r.key.fingerprint() == fingerprint && now_ms <= r.until_ms) return r.key;
  return std::nullopt;
}

}  // namespace relay::node::federation
