#include "node/federation/peer_client.hpp"

#include "crypto/random.hpp"
#include "node/http/client.hpp"

namespace relay::node::federation {

namespace {
CallResult failure(int status, std::string error) {
  return {std::nullopt, status, std::move(error)};
}

// The error code of a refusal body ({"error":{"code":...}}), or the status alone.
std::string refusal_text(int status, const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object() &&
      j["error"].contains("code") && j["error"]["code"].is_string())
    return "HTTP " + std::to_string(status) + " " + j["error"]["code"].get<std::string>();
  return "HTTP " + std::to_string(status);
}
}  // namespace

PeerClient::PeerClient(const config::NodeConfig& config, storage::Environment& env,
                       const common::Clock& clock, PeerRegistry& peers, NodeIdentity& identity)
    : config_(config), env_(env), clock_(clock), peers_(peers), identity_(identity) {}

CallResult PeerClient::call(const std::string& name, const std::string& type,
                            const nlohmann::json& body) {
  std::optional<Peer> peer;
  {
    auto txn = env_.begin_read();
    peer = peers_.find(txn, name);
  }
  if (!peer) return failure(0, "no such peer");
  if (!peer->active) return failure(0, "peer suspended");
  if (!peer->signing_key && !identity_.refresh_peer(name))
    return failure(0, "peer identity unavailable");
  return exchange(*peer, type, "msg_" + crypto::random_token(16), "", body);
}

CallResult PeerClient::exchange(const Peer& peer, const std::string& type, const std::string& id,
                                const std::string& re, const nlohmann::json& body) {
  auto bytes = identity_.make_envelope(type, id, re, peer.name, body);
  auto result = http::http_request("POST", peer.url + "/federation/v1/messages", bytes,
                                   {{"Content-Type", "application/json"}},
                                   config_.federation.request_timeout_ms);
  if (!result) return failure(0, result.error);
  int status = result.response->status;
  if (status != 200) return failure(status, refusal_text(status, result.response->body));
  return verify_reply(peer, type, id, status, result.response->body);
}

CallResult PeerClient::verify_reply(const Peer& peer, const std::string& type,
                                    const std::string& id, int status, const std::string& bytes) {
  auto parsed = protocol::parse_envelope(bytes);
  auto* reply = std::get_if<protocol::Envelope>(&parsed);
  if (!reply || reply->from != peer.name || reply->to != identity_.self() || reply->re != id ||
      reply->type != protocol::reply_type(type))
    return failure(status, "malformed reply");
  auto key = reply_key(peer, *reply);
  if (!key || !protocol::verify_envelope(*reply, *key))
    return failure(status, "reply signature invalid");
  return {std::move(*reply), status, {}};
}

PeerClient::BatchResult PeerClient::exchange_batch(const Peer& peer,
                                                   const std::vector<Outgoing>& messages) {
  auto envelopes = nlohmann::json::array();
  for (const auto& m : messages)
    envelopes.push_back(identity_.make_envelope(m.type, m.id, m.re, peer.name, *m.body));
  auto result = http::http_request(
      "POST", peer.url + "/federation/v1/batch", nlohmann::json{{"envelopes", envelopes}}.dump(),
      {{"Content-Type", "application/json"}}, config_.federation.request_timeout_ms);
  if (!result) return {0, result.error, {}};
  const int status = result.response->status;
  if (status != 200) return {status, refusal_text(status, result.response->body), {}};
  auto body = nlohmann::json::parse(result.response->body, nullptr, false);
  if (!body.is_object() || !body.contains("replies") || !body["replies"].is_array() ||
      body["replies"].size() != messages.size())
    return {status, "malformed batch reply", {}};
  BatchResult out{status, {}, {}};
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& r = body["replies"][i];
    auto code = r.is_object() && r.contains("status") && r["status"].is_number_integer()
                    ? r["status"].get<int>()
                    : 0;
    if (code == 200 && r.contains("envelope") && r["envelope"].is_string())
      out.replies.push_back(verify_reply(peer, messages[i].type, messages[i].id, 200,
                                         r["envelope"].get<std::string>()));
    else if (code != 200 && code != 0)
      out.replies.push_back(failure(code, refusal_text(code, r.dump())));
    else
      out.replies.push_back(failure(200, "malformed reply"));
  }
  return out;
}

std::optional<crypto::Ed25519PublicKey> PeerClient::reply_key(const Peer& peer,
                                                              const protocol::Envelope& e) {
  if (auto key = PeerRegistry::key_for(peer, e.key, clock_.now_ms())) return key;
  // We asked this peer: it may have rotated since we learnt its keys.
  identity_.refresh_peer(peer.name);
  auto txn = env_.begin_read();
  auto fresh = peers_.find(txn, peer.name);
  if (!fresh) return std::nullopt;
  return PeerRegistry::key_for(*fresh, e.key, clock_.now_ms());
}

}  // namespace relay::node::federation
