#include "node/federation/handoff.hpp"

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "node/common/key_encoding.hpp"
#include "node/common/stored_json.hpp"
#include "node/federation/body_fields.hpp"
#include "node/storage/index_marks.hpp"
#include "node/storage/index_page.hpp"
#include "node/storage/txn.hpp"
#include "protocol/event.hpp"

namespace relay::node::federation {

namespace {

bool live(HandoffState state) {
  return state == HandoffState::requested || state == HandoffState::awaiting_consent ||
         state == HandoffState::delivered;
}

bool awaiting(HandoffState state) {
  return state == HandoffState::requested || state == HandoffState::awaiting_consent;
}

// The handoffs_by_member key: the member's handoffs sort oldest first (created_ms is
// storage::next_time's: two requested in one millisecond keep the order they were made).
std::string by_member_key(const Handoff& h) {
  return h.member + "/" + common::be64(static_cast<std::uint64_t>(h.created_ms)) + h.id;
}

// The handoffs_by_candidate prefix of a member's handoffs for one candidate (peer, ref); a key
// is it with the handoff's id.
std::string by_candidate_prefix(const std::string& member, const std::string& peer,
                                const std::string& ref) {
  return member + "/" + peer + "/" + ref + "/";
}

// The handoffs_expiring key of data that expires at expires_ms.
std::string expiry_key(std::int64_t expires_ms, const std::string& id) {
  return common::be64(static_cast<std::uint64_t>(expires_ms)) + id;
}

// Whether h's data is waiting to expire: in handoffs_expiring.
bool expiring(const Handoff& h) {
  return h.state == HandoffState::delivered && !h.hired && h.expires_ms;
}

constexpr auto text = common::stored_text;
constexpr auto number = common::stored_number;

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

std::string_view to_string(HandoffState s) {
  switch (s) {
    case HandoffState::requested:
      return "requested";
    case HandoffState::awaiting_consent:
      return "awaiting_consent";
    case HandoffState::unavailable:
      return "unavailable";
    case HandoffState::delivered:
      return "delivered";
    case HandoffState::declined:
      return "declined";
    case HandoffState::withdrawn:
      return "withdrawn";
    case HandoffState::expired:
      return "expired";
    case HandoffState::erased:
      return "erased";
  }
  return "unknown";
}

std::optional<HandoffState> parse_handoff_state(std::string_view s) {
  for (auto state : {HandoffState::requested, HandoffState::awaiting_consent,
                     HandoffState::unavailable, HandoffState::delivered, HandoffState::declined,
                     HandoffState::withdrawn, HandoffState::expired, HandoffState::erased})
    if (to_string(state) == s) return state;
  return std::nullopt;
}

nlohmann::json Handoff::to_member_json() const {
  nlohmann::json j = {{"id", id},
                      {"node", peer},
                      {"ref", ref},
                      {"state", to_string(state)},
                      {"created_ms", created_ms},
                      {"updated_ms", updated_ms}};
  if (!reason.empty()) j["reason"] = reason;
  if (delivered_ms) j["delivered_ms"] = *delivered_ms;
  if (expires_ms) j["expires_ms"] = *expires_ms;
  return j;
}

nlohmann::json Handoff::to_stored() const {
  nlohmann::json j = {{"id", id},
                      {"member", member},
                      {"company", company},
                      {"peer", peer},
                      {"ref", ref},
                      {"state", to_string(state)},
                      {"created_ms", created_ms},
                      {"updated_ms", updated_ms}};
  auto text_field = [&](const char* name, const std::string& value) {
    if (!value.empty()) j[name] = value;
  };
  auto number_field = [&](const char* name, const std::optional<std::int64_t>& value) {
    if (value) j[name] = *value;
  };
  text_field("request_msg", request_msg);
  text_field("reason", reason);
  text_field("candidate", candidate);
  number_field("delivered_ms", delivered_ms);
  number_field("expires_ms", expires_ms);
  text_field("evidence_digest", evidence_digest);
  text_field("sender_signature", sender_signature);
  text_field("deliver_msg", deliver_msg);
  if (hired) j["hired"] = true;
  number_field("hired_ms", hired_ms);
  number_field("erased_ms", erased_ms);
  return j;
}

Handoff Handoff::from_stored(const nlohmann::json& j) {
  Handoff h;
  h.id = j.at("id");
  h.member = j.at("member");
  h.company = j.at("company");
  h.peer = j.at("peer");
  h.ref = j.at("ref");
  auto state = parse_handoff_state(j.at("state").get<std::string>());
  if (!state) throw std::runtime_error("handoffs: a record with an unknown state");
  h.state = *state;
  h.created_ms = j.at("created_ms");
  h.updated_ms = j.value("updated_ms", h.created_ms);
  h.request_msg = text(j, "request_msg");
  h.reason = text(j, "reason");
  h.candidate = text(j, "candidate");
  h.delivered_ms = number(j, "delivered_ms");
  h.expires_ms = number(j, "expires_ms");
  h.evidence_digest = text(j, "evidence_digest");
  h.sender_signature = text(j, "sender_signature");
  h.deliver_msg = text(j, "deliver_msg");
  h.hired = j.value("hired", false);
  h.hired_ms = number(j, "hired_ms");
  h.erased_ms = number(j, "erased_ms");
  return h;
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
      handoffs_(federation.env().database("handoffs")),
      by_member_(federation.env().database("handoffs_by_member")),
      by_candidate_(federation.env().database("handoffs_by_candidate")),
      expiring_(federation.env().database("handoffs_expiring")),
      index_marks_(federation.env().database(storage::kIndexMarks)) {
  federation_.on_reply_to<protocol::HandoffRequest>(
      [this](storage::WriteTxn& txn, const SentMessage& sent, const protocol::Envelope& reply,
             const Peer&) { on_request_reply(txn, sent, reply); });
  // The holder never heard of the request: the handoff ends unavailable (an introduction
  // behind it is refunded, services/introducing.cpp).
  federation_.on_give_up_of<protocol::HandoffRequest>(
      [this](storage::WriteTxn& txn, const SentMessage& sent) {
        auto id = body::text(sent.body, "handoff", 64);
        auto h = id ? find(txn, *id) : std::nullopt;
        if (!h || h->state != HandoffState::requested) return;
        h->reason = "undelivered";
        save(txn, *h, HandoffState::unavailable);
      });
  // The body is the seal: parse() checks its shape, on_deliver opens it with the envelope.
  federation_.on<protocol::HandoffDeliver>(
      [this](storage::WriteTxn& txn, const protocol::HandoffDeliver&, const protocol::Envelope& e,
             const Peer& p) { return on_deliver(txn, e, p); });
  federation_.on<protocol::HandoffDeclined>(
      [this](storage::WriteTxn& txn, const protocol::HandoffDeclined& m, const protocol::Envelope&,
             const Peer& p) { return on_declined(txn, m, p); });
}

void Handoffs::save(storage::WriteTxn& txn, Handoff& h, HandoffState state) {
  save(txn, h, state, federation_.clock().now_ms());
}

void Handoffs::save(storage::WriteTxn& txn, Handoff& h, HandoffState state, std::int64_t now_ms) {
  h.state = state;
  h.updated_ms = now_ms;
  txn.put(handoffs_, h.id, h.to_stored().dump());
  txn.put(by_member_, by_member_key(h), "");  // member and created_ms never change
  txn.put(by_candidate_, by_candidate_prefix(h.member, h.peer, h.ref) + h.id, "");  // nor these
  // expires_ms is set once, at delivery: the key is written then and deleted when the
  // handoff leaves delivered (expired, erased).
  if (h.expires_ms) {
    if (expiring(h))
      txn.put(expiring_, expiry_key(*h.expires_ms, h.id), "");
    else
      txn.del(expiring_, expiry_key(*h.expires_ms, h.id));
  }
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
  // The member's handoffs for this candidate, not all of theirs: reading every one (parsed) in
  // the Writer on each request cost a member with thousands of them milliseconds a request.
  std::vector<std::string> ids;
  txn.for_each_prefix(by_candidate_, by_candidate_prefix(member.id, peer_name, ref),
                      [&](std::string_view key, std::string_view) {
                        ids.emplace_back(key.substr(key.rfind('/') + 1));
                      });
  for (const auto& id : ids) {
    auto existing = find(txn, id);
    // The fields again: a peer name or ref holding '/' could share another's prefix.
    if (existing && existing->member == member.id && existing->peer == peer_name &&
        existing->ref == ref && live(existing->state)) {
      result.handoff = std::move(existing);
      return result;
    }
  }
  Handoff h;
  h.id = "h_" + crypto::random_token(12);
  h.member = member.id;
  h.company = member.name;
  h.peer = peer_name;
  h.ref = ref;
  h.created_ms = storage::next_time(txn, by_member_, member.id + "/", federation_.clock().now_ms());
  h.request_msg = federation_.enqueue(
      txn, peer_name,
      protocol::HandoffRequest{h.id, ref, member.name, federation_.config().node.region});
  save(txn, h, HandoffState::requested);
  result.handoff = std::move(h);
  result.created = true;
  return result;
}

std::optional<Handoff> Handoffs::find(const storage::Txn& txn, const std::string& id) const {
  if (!body::valid_id(id)) return std::nullopt;
  auto v = txn.get(handoffs_, id);
  if (!v) return std::nullopt;
  return Handoff::from_stored(nlohmann::json::parse(*v));
}

std::optional<HandoffPage> Handoffs::page_for_member(const storage::Txn& txn,
                                                     const std::string& member_id,
                                                     std::size_t limit, const std::string& after,
                                                     bool newest_first) const {
  return storage::member_records(
      txn, by_member_, member_id, after, limit,
      [&](const std::string& id) { return find(txn, id); }, by_member_key, newest_first);
}

std::size_t Handoffs::index_existing(storage::WriteTxn& txn) {
  std::vector<std::string> keys;
  storage::build_index_once(txn, index_marks_, "handoffs_by_member", [&] {
    txn.for_each_prefix(handoffs_, "", [&](std::string_view, std::string_view value) {
      keys.push_back(by_member_key(Handoff::from_stored(nlohmann::json::parse(value))));
    });
    for (const auto& key : keys) txn.put(by_member_, key, "");
  });
  std::vector<std::string> expiring_keys;
  storage::build_index_once(txn, index_marks_, "handoffs_expiring", [&] {
    txn.for_each_prefix(handoffs_, "", [&](std::string_view, std::string_view value) {
      auto h = Handoff::from_stored(nlohmann::json::parse(value));
      if (expiring(h)) expiring_keys.push_back(expiry_key(*h.expires_ms, h.id));
    });
    for (const auto& key : expiring_keys) txn.put(expiring_, key, "");
  });
  std::vector<std::string> candidate_keys;
  storage::build_index_once(txn, index_marks_, "handoffs_by_candidate", [&] {
    txn.for_each_prefix(handoffs_, "", [&](std::string_view, std::string_view value) {
      auto h = Handoff::from_stored(nlohmann::json::parse(value));
      candidate_keys.push_back(by_candidate_prefix(h.member, h.peer, h.ref) + h.id);
    });
    for (const auto& key : candidate_keys) txn.put(by_candidate_, key, "");
  });
  return keys.size() + expiring_keys.size() + candidate_keys.size();
}

std::optional<candidates::Opened> Handoffs::delivered(const storage::Txn& txn,
                                                      const Handoff& h) const {
  if (h.state != HandoffState::delivered || h.candidate.empty()) return std::nullopt;
  auto record = candidates_.find(txn, h.candidate);
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
  if (!h || h->state != HandoffState::requested) return;
  // The reply's status names the next state; any other word is ignored.
  auto next = parse_handoff_state(*status);
  if (next == HandoffState::awaiting_consent || next == HandoffState::unavailable)
    save(txn, *h, *next);
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
    return HandlerResult::refuse(409, "not_awaiting",
                                 "the handoff is " + std::string(to_string(h->state)));

  auto now = federation_.clock().now_ms();
  auto expires = now + std::chrono::duration_cast<std::chrono::milliseconds>(expiry_).count();
  candidates::Consent consent{false, false, false, *version, now};
  auto received = candidates_.create_received(
      txn, peer.name, candidates::Opened{{*name, *email, *phone}, *profile}, opened->evidence,
      consent, candidates::Received{h->id, h->member, expires});
  auto digest = crypto::to_hex(crypto::sha256(crypto::as_bytes(opened->evidence)));
  auto signature = crypto::to_base64(e.sig);
  federation_.ledger().append(
      txn, protocol::handoff_received(h->id, peer.name, h->member, signature, digest));
  h->candidate = received.id;
  h->delivered_ms = now;
  h->expires_ms = expires;
  h->evidence_digest = digest;
  h->sender_signature = signature;
  h->deliver_msg = e.id;
  save(txn, *h, HandoffState::delivered);
  return HandlerResult::accept(
      {{"handoff", h->id}, {"received_ms", now}, {"evidence_digest", digest}});
}

HandlerResult Handoffs::on_declined(storage::WriteTxn& txn, const protocol::HandoffDeclined& m,
                                    const Peer& peer) {
  // The reason is one of two words (HandoffDeclined::parse); the id must be clean text.
  if (!body::clean(m.handoff, 64))
    return HandlerResult::refuse(400, "bad_body",
                                 "expected handoff and reason (declined or withdrawn)");
  auto h = find(txn, m.handoff);
  if (!h || h->peer != peer.name)
    return HandlerResult::refuse(404, "unknown_handoff", "no such handoff from this node");
  // The reason is the state the handoff stops in (declined or withdrawn).
  auto stopped = parse_handoff_state(m.reason);
  if (awaiting(h->state) &&
      (stopped == HandoffState::declined || stopped == HandoffState::withdrawn)) {
    h->reason = m.reason;
    save(txn, *h, *stopped);
  }
  return HandlerResult::accept({{"handoff", h->id}, {"state", to_string(h->state)}});
}

std::vector<Handoff> Handoffs::due_for_expiry(const storage::Txn& txn, std::int64_t now_ms) const {
  std::vector<std::string> ids;
  txn.for_each_range(
      expiring_, "", expiry_key(now_ms + 1, ""),
      [&](std::string_view key, std::string_view) { ids.emplace_back(key.substr(8)); });
  std::vector<Handoff> out;
  for (const auto& id : ids)
    if (auto h = find(txn, id); h && expiring(*h) && *h->expires_ms <= now_ms)
      out.push_back(std::move(*h));
  return out;
}

bool Handoffs::mark_expired(storage::WriteTxn& txn, const std::string& id, std::int64_t now_ms) {
  auto h = find(txn, id);
  if (!h || h->state != HandoffState::delivered || h->hired) return false;
  save(txn, *h, HandoffState::expired, now_ms);
  federation_.ledger().append(txn, protocol::handoff_expired(h->id, h->peer));
  return true;
}

void Handoffs::mark_erased(storage::WriteTxn& txn, Handoff& h, std::int64_t now_ms) {
  if (h.state != HandoffState::delivered && h.state != HandoffState::expired) return;
  h.erased_ms = now_ms;
  save(txn, h, HandoffState::erased, now_ms);
}

bool Handoffs::report_hire(storage::WriteTxn& txn, const std::string& member_id,
                           const std::string& handoff_id) {
  auto h = find(txn, handoff_id);
  if (!h || h->member != member_id || h->state != HandoffState::delivered) return false;
  if (h->hired) return true;
  h->hired = true;
  h->hired_ms = federation_.clock().now_ms();
  if (h->expires_ms) txn.del(expiring_, expiry_key(*h->expires_ms, h->id));
  h->expires_ms.reset();
  // Not a change of state: the hook is not called.
  txn.put(handoffs_, h->id, h->to_stored().dump());
  federation_.ledger().append(txn, protocol::hire_reported(member_id, handoff_id, h->peer));
  return true;
}

}  // namespace relay::node::federation
