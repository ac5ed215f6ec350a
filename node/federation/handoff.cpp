#include "node/federation/handoff.hpp"

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "node/federation/body_fields.hpp"
#include "node/storage/txn.hpp"
#include "protocol/event.hpp"

namespace relay::node::federation {

namespace {

Handoff from_json(nlohmann::json j) {
  Handoff h;
  h.id = j.at("id");
  h.member = j.at("member");
  h.company = j.at("company");
  h.peer = j.at("peer");
  h.ref = j.at("ref");
  h.state = j.at("state");
  h.created_ms = j.at("created_ms");
  h.record = std::move(j);
  return h;
}

bool live(const std::string& state) {
  return state == "requested" || state == "awaiting_consent" || state == "delivered";
}

bool awaiting(const std::string& state) {
  return state == "requested" || state == "awaiting_consent";
}

std::optional<std::vector<std::string>> string_list(const nlohmann::json& j, const char* field,
                                                    std::size_t max) {
  if (!j.contains(field)) return std::vector<std::string>{};
  if (!j[field].is_array() || j[field].size() > max) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& item : j[field]) {
    auto t = body::text(nlohmann::json{{"v", item}}, "v", 200);
    if (!t) return std::nullopt;
    out.push_back(*t);
  }
  return out;
}

}  // namespace

nlohmann::json Handoff::to_member_json() const {
  nlohmann::json j = {{"id", id},
                      {"node", peer},
                      {"ref", ref},
                      {"state", state},
                      {"created_ms", created_ms},
                      {"updated_ms", record.value("updated_ms", created_ms)}};
  for (const char* optional : {"reason", "delivered_ms", "expires_ms"})
    if (record.contains(optional)) j[optional] = record[optional];
  return j;
}

std::optional<candidates::Profile> parse_delivered_profile(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  for (const auto& [key, value] : j.items()) {
    (void)value;
    if (key != "job_category" && key != "skills" && key != "prefecture" && key != "age_band" &&
        key != "experience_band" && key != "desired_roles")
      return std::nullopt;
  }
  candidates::Profile p;
  auto category = body::text(j, "job_category", 16);
  auto prefecture = body::text(j, "prefecture", 16);
  auto age = body::text(j, "age_band", 16);
  auto experience = body::text(j, "experience_band", 16);
  auto skills = string_list(j, "skills", 50);
  auto roles = string_list(j, "desired_roles", 50);
  if (!category || !prefecture || !age || !experience || !skills || !roles || !j.contains("skills"))
    return std::nullopt;
  return candidates::Profile{*category, *skills, *prefecture, *age, *experience, *roles};
}

Handoffs::Handoffs(Federation& federation, candidates::Store& candidates, ProfileExchange& exchange,
                   std::chrono::seconds expiry)
    : federation_(federation),
      candidates_(candidates),
      exchange_(exchange),
      expiry_(expiry),
      handoffs_(federation.env().database("handoffs")) {
  federation_.on_reply_to<protocol::HandoffRequest>(
      [this](storage::WriteTxn& txn, const SentMessage& sent, const protocol::Envelope& reply,
             const Peer&) { on_request_reply(txn, sent, reply); });
  // The body is the seal: parse() checks its shape, on_deliver opens it with the envelope.
  federation_.on<protocol::HandoffDeliver>(
      [this](storage::WriteTxn& txn, const protocol::HandoffDeliver&, const protocol::Envelope& e,
             const Peer& p) { return on_deliver(txn, e, p); });
  federation_.on<protocol::HandoffDeclined>(
      [this](storage::WriteTxn& txn, const protocol::HandoffDeclined& m, const protocol::Envelope&,
             const Peer& p) { return on_declined(txn, m, p); });
}

void Handoffs::save(storage::WriteTxn& txn, Handoff& h, const std::string& state) {
  h.state = state;
  h.record["state"] = state;
  h.record["updated_ms"] = federation_.clock().now_ms();
  txn.put(handoffs_, h.id, h.record.dump());
  if (state_changed_) state_changed_(txn, h);
}

RequestResult Handoffs::request(storage::WriteTxn& txn, const members::Member& member,
                                const std::string& peer_name, const std::string& ref) {
  RequestResult result;
  auto peer = federation_.peers().find(txn, peer_name);
  if (!peer || !peer->active) {
    result.error = RequestError::not_a_peer;
    return result;
  }
  if (!exchange_.pool_entry(txn, peer_name, ref)) {
    result.error = RequestError::not_in_pool;
    return result;
  }
  for (auto& existing : for_member(txn, member.id))
    if (existing.peer == peer_name && existing.ref == ref && live(existing.state)) {
      result.handoff = std::move(existing);
      return result;
    }
  Handoff h;
  h.id = "h_" + crypto::random_token(12);
  h.member = member.id;
  h.company = member.name;
  h.peer = peer_name;
  h.ref = ref;
  h.created_ms = federation_.clock().now_ms();
  h.record = {{"id", h.id},     {"member", h.member}, {"company", h.company},
              {"peer", h.peer}, {"ref", h.ref},       {"created_ms", h.created_ms}};
  h.record["request_msg"] = federation_.enqueue(
      txn, peer_name,
      protocol::HandoffRequest{h.id, ref, member.name, federation_.config().node.region});
  save(txn, h, "requested");
  result.handoff = std::move(h);
  result.created = true;
  return result;
}

std::optional<Handoff> Handoffs::find(const storage::Txn& txn, const std::string& id) const {
  if (!body::valid_id(id)) return std::nullopt;
  auto v = txn.get(handoffs_, id);
  if (!v) return std::nullopt;
  return from_json(nlohmann::json::parse(*v));
}

std::vector<Handoff> Handoffs::for_member(const storage::Txn& txn,
                                          const std::string& member_id) const {
  std::vector<Handoff> out;
  txn.for_each_prefix(handoffs_, "", [&](std::string_view, std::string_view value) {
    auto j = nlohmann::json::parse(value);
    if (j.at("member") == member_id) out.push_back(from_json(std::move(j)));
  });
  std::stable_sort(out.begin(), out.end(),
                   [](const Handoff& a, const Handoff& b) { return a.created_ms < b.created_ms; });
  return out;
}

std::optional<candidates::Opened> Handoffs::delivered(const storage::Txn& txn,
                                                      const Handoff& h) const {
  if (h.state != "delivered" || !h.record.contains("candidate")) return std::nullopt;
  auto record = candidates_.find(txn, h.record.at("candidate"));
  if (!record) return std::nullopt;
  return candidates_.open(*record);
}

void Handoffs::on_request_reply(storage::WriteTxn& txn, const SentMessage& sent,
                                const protocol::Envelope& reply) {
  auto id = body::text(sent.body, "handoff", 64);
  auto status = body::text(reply.body, "status", 32);
  if (!id || !status) return;
  auto h = find(txn, *id);
  // Only the first answer counts: a delivery or decline may have overtaken this reply.
  if (!h || h->state != "requested") return;
  if (*status == "awaiting_consent")
    save(txn, *h, "awaiting_consent");
  else if (*status == "unavailable")
    save(txn, *h, "unavailable");
}

HandlerResult Handoffs::on_deliver(storage::WriteTxn& txn, const protocol::Envelope& e,
                                   const Peer& peer) {
  auto opened = federation_.open(e, peer);
  if (!opened)
    return HandlerResult::refuse(400, "bad_seal", "the sealed body does not open or verify");
  const auto& p = opened->payload;
  if (!body::has_exactly(p, {"handoff", "personal", "profile", "consent_version"}))
    return HandlerResult::refuse(400, "bad_body",
                                 "expected handoff, personal, profile, consent_version");
  auto id = body::text(p, "handoff", 64);
  auto version = body::text(p, "consent_version", 64);
  const auto& personal = p["personal"];
  auto name = body::text(personal, "name", 200);
  auto email = body::text(personal, "email", 254);
  auto phone = body::optional_text(personal, "phone", 40);
  auto profile = parse_delivered_profile(p["profile"]);
  if (!id || !version || !body::has_exactly(personal, {"name", "email", "phone"}) || !name ||
      !email || !phone || !profile)
    return HandlerResult::refuse(400, "bad_body",
                                 "malformed handoff, personal data, profile or consent_version");
  auto h = find(txn, *id);
  if (!h || h->peer != peer.name)
    return HandlerResult::refuse(404, "unknown_handoff", "no such handoff from this node");
  if (!awaiting(h->state))
    return HandlerResult::refuse(409, "not_awaiting", "the handoff is " + h->state);

  auto now = federation_.clock().now_ms();
  auto expires = now + std::chrono::duration_cast<std::chrono::milliseconds>(expiry_).count();
  candidates::Consent consent{false, false, false, *version, now};
  auto received = candidates_.create_received(
      txn, peer.name, candidates::Opened{{*name, *email, *phone}, *profile}, opened->evidence,
      consent, {{"handoff", h->id}, {"member", h->member}, {"expires_ms", expires}});
  auto digest = crypto::to_hex(crypto::sha256(crypto::as_bytes(opened->evidence)));
  auto signature = crypto::to_base64(e.sig);
  federation_.ledger().append(
      txn, protocol::handoff_received(h->id, peer.name, h->member, signature, digest));
  h->record["candidate"] = received.id;
  h->record["delivered_ms"] = now;
  h->record["expires_ms"] = expires;
  h->record["evidence_digest"] = digest;
  h->record["sender_signature"] = signature;
  h->record["deliver_msg"] = e.id;
  save(txn, *h, "delivered");
  return HandlerResult::accept(
      {{"handoff", h->id}, {"received_ms", now}, {"evidence_digest", digest}});
}

HandlerResult Handoffs::on_declined(storage::WriteTxn& txn, const protocol::HandoffDeclined& m,
                                    const Peer& peer) {
  // The reason is one of two words (HandoffDeclined::parse); the id must be clean text.
  if (!body::clean(m.handoff, 64))
    return HandlerResult::refuse(400, "bad_body",
                                 "expected handoff and reason (declined or withdrawn)");
  auto id = std::optional<std::string>(m.handoff);
  auto reason = std::optional<std::string>(m.reason);
  auto h = find(txn, *id);
  if (!h || h->peer != peer.name)
    return HandlerResult::refuse(404, "unknown_handoff", "no such handoff from this node");
  if (awaiting(h->state)) {
    h->record["reason"] = *reason;
    save(txn, *h, *reason);
  }
  return HandlerResult::accept({{"handoff", h->id}, {"state", h->state}});
}

}  // namespace relay::node::federation
