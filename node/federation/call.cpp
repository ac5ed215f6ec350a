// Federation::call: one signed request straight to a peer, answered in the HTTP response.
// The outbox is for messages that must arrive eventually; a call is for a question whose
// answer matters only now (a witness asking for a consistency proof), so nothing is stored
// on this side and a failure is simply reported.
#include <spdlog/spdlog.h>

#include "crypto/random.hpp"
#include "node/federation/federation.hpp"
#include "node/http/client.hpp"
#include "node/members/member.hpp"

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

CallResult Federation::call(const std::string& name, const std::string& type,
                            const nlohmann::json& body) {
  std::optional<Peer> peer;
  {
    auto txn = env_.begin_read();
    peer = peers_.find(txn, name);
  }
  if (!peer) return failure(0, "no such peer");
  if (!peer->active) return failure(0, "peer suspended");
  if (!peer->signing_key && !refresh_peer(name)) return failure(0, "peer identity unavailable");

  auto id = "msg_" + crypto::random_token(16);
  auto bytes = make_envelope(type, id, "", name, body);
  auto result = http::http_request("POST", peer->url + "/federation/v1/messages", bytes,
                                   {{"Content-Type", "application/json"}},
                                   config_.federation.request_timeout_ms);
  if (!result) return failure(0, result.error);
  int status = result.response->status;
  if (status != 200) return failure(status, refusal_text(status, result.response->body));

  auto parsed = protocol::parse_envelope(result.response->body);
  auto* reply = std::get_if<protocol::Envelope>(&parsed);
  if (!reply || reply->from != name || reply->to != self_ || reply->re != id ||
      reply->type != protocol::reply_type(type))
    return failure(status, "malformed reply");
  auto key = reply_key(*peer, *reply);
  if (!key || !protocol::verify_envelope(*reply, *key))
    return failure(status, "reply signature invalid");
  return {std::move(*reply), status, {}};
}

}  // namespace relay::node::federation
