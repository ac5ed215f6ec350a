#include "node/federation/handoff_holder.hpp"

#include <algorithm>

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"
#include "node/candidates/candidate_mail.hpp"
#include "node/common/stored_json.hpp"
#include "node/federation/body_fields.hpp"
#include "node/storage/txn.hpp"
#include "protocol/event.hpp"

namespace relay::node::federation {

namespace {

constexpr auto text = common::stored_text;
constexpr auto number = common::stored_number;

std::string by_candidate(const std::string& candidate, const std::string& id) {
  return "c/" + candidate + "/" + id;
}
std::string by_handoff(const std::string& peer, const std::string& handoff) {
  return "h/" + peer + "/" + handoff;
}

// The wire form of an envelope (protocol/envelope.hpp), so that an auditor can re-check it.
nlohmann::json envelope_json(const protocol::Envelope& e) {
  return {{"body", e.body}, {"from", e.from},
          {"id", e.id},     {"key", e.key},
          {"re", e.re},     {"sig", crypto::to_base64(e.sig)},
          {"to", e.to},     {"ts", e.ts_ms},
          {"type", e.type}, {"v", protocol::kEnvelopeVersion}};
}

candidates::Disclosure disclosure(const IncomingRequest& r, std::int64_t at_ms,
                                  const std::string& consent_version) {
  return {r.handoff, r.company, r.peer, r.region, at_ms, consent_version, "", std::nullopt};
}

}  // namespace

std::string_view to_string(RequestState s) {
  switch (s) {
    case RequestState::pending:
      return "pending";
    case RequestState::accepted:
      return "accepted";
    case RequestState::delivered:
      return "delivered";
    case RequestState::declined:
      return "declined";
    case RequestState::withdrawn:
      return "withdrawn";
  }
  return "unknown";
}

std::optional<RequestState> parse_request_state(std::string_view s) {
  for (auto state : {RequestState::pending, RequestState::accepted, RequestState::delivered,
                     RequestState::declined, RequestState::withdrawn})
    if (to_string(state) == s) return state;
  return std::nullopt;
}

nlohmann::json IncomingRequest::to_stored() const {
  nlohmann::json j = {{"id", id},
                      {"candidate", candidate},
                      {"peer", peer},
                      {"handoff", handoff},
                      {"company", company},
                      {"region", region},
                      {"state", to_string(state)},
                      {"created_ms", created_ms},
                      {"updated_ms", updated_ms}};
  if (!deliver_msg.empty()) j["deliver_msg"] = deliver_msg;
  if (accepted_ms) j["accepted_ms"] = *accepted_ms;
  if (!consent_version.empty()) j["consent_version"] = consent_version;
  if (receipt_ms) {
    j["receipt_ms"] = *receipt_ms;
    j["evidence_digest"] = evidence_digest;  // "" if the receipt named none
  }
  if (!receipt_envelope.is_null()) j["receipt_envelope"] = receipt_envelope;
  return j;
}

IncomingRequest IncomingRequest::from_stored(const nlohmann::json& j) {
  IncomingRequest r;
  r.id = j.at("id");
  r.candidate = j.at("candidate");
  r.peer = j.at("peer");
  r.handoff = j.at("handoff");
  r.company = j.at("company");
  r.region = j.at("region");
  auto state = parse_request_state(j.at("state").get<std::string>());
  if (!state) throw std::runtime_error("handoff_requests: a record with an unknown state");
  r.state = *state;
  r.created_ms = j.at("created_ms");
  r.updated_ms = j.value("updated_ms", r.created_ms);
  r.deliver_msg = text(j, "deliver_msg");
  r.accepted_ms = number(j, "accepted_ms");
  r.consent_version = text(j, "consent_version");
  r.receipt_ms = number(j, "receipt_ms");
  r.evidence_digest = text(j, "evidence_digest");
  if (auto it = j.find("receipt_envelope"); it != j.end()) r.receipt_envelope = *it;
  return r;
}

HandoffHolder::HandoffHolder(Federation& federation, candidates::Store& candidates,
                             ProfileExchange& exchange, HolderSettings settings)
    : federation_(federation),
      candidates_(candidates),
      exchange_(exchange),
      settings_(std::move(settings)),
      requests_(federation.env().database("handoff_requests")),
      index_(federation.env().database("handoff_request_index")) {
  federation_.on<protocol::HandoffRequest>(
      [this](storage::WriteTxn& txn, const protocol::HandoffRequest& m, const protocol::Envelope&,
             const Peer& p) { return on_request(txn, m, p); });
  federation_.on_reply_to<protocol::HandoffDeliver>(
      [this](storage::WriteTxn& txn, const SentMessage& sent, const protocol::Envelope& reply,
             const Peer& p) { on_deliver_reply(txn, sent, reply, p); });
}

std::optional<IncomingRequest> HandoffHolder::find(const storage::Txn& txn,
                                                   const std::string& id) const {
  if (!body::valid_id(id)) return std::nullopt;
  auto v = txn.get(requests_, id);
  if (!v) return std::nullopt;
  return IncomingRequest::from_stored(nlohmann::json::parse(*v));
}

void HandoffHolder::save(storage::WriteTxn& txn, IncomingRequest& r, RequestState state) {
  r.state = state;
  r.updated_ms = federation_.clock().now_ms();
  txn.put(requests_, r.id, r.to_stored().dump());
}

std::vector<IncomingRequest> HandoffHolder::for_candidate(const storage::Txn& txn,
                                                          const std::string& candidate_id) const {
  std::vector<std::string> ids;
  txn.for_each_prefix(index_, "c/" + candidate_id + "/",
                      [&](std::string_view key, std::string_view) {
                        ids.emplace_back(key.substr(3 + candidate_id.size()));
                      });
  std::vector<IncomingRequest> out;
  for (const auto& id : ids)
    if (auto r = find(txn, id)) out.push_back(std::move(*r));
  std::stable_sort(out.begin(), out.end(), [](const IncomingRequest& a, const IncomingRequest& b) {
    return a.created_ms < b.created_ms;
  });
  return out;
}

std::vector<IncomingRequest> HandoffHolder::pending_for(const storage::Txn& txn,
                                                        const std::string& candidate_id) const {
  auto all = for_candidate(txn, candidate_id);
  std::erase_if(all, [](const IncomingRequest& r) { return r.state != RequestState::pending; });
  return all;
}

HandlerResult HandoffHolder::on_request(storage::WriteTxn& txn, const protocol::HandoffRequest& m,
                                        const Peer& peer) {
  if (!body::clean(m.handoff, 64) || !body::valid_id(m.handoff) || !body::clean(m.ref, 32) ||
      !valid_ref(m.ref) || !body::clean(m.company, 200) || !body::clean(m.region, 16))
    return HandlerResult::refuse(400, "bad_body", "expected handoff, ref, company, region");
  auto handoff = std::optional<std::string>(m.handoff);
  auto ref = std::optional<std::string>(m.ref);
  auto company = std::optional<std::string>(m.company);
  auto region = std::optional<std::string>(m.region);
  // The same handoff asked again (under another message id): answer as it stands.
  if (auto existing = txn.get(index_, by_handoff(peer.name, *handoff))) {
    auto r = find(txn, *existing);
    bool live = r && (r->state == RequestState::pending || r->state == RequestState::accepted ||
                      r->state == RequestState::delivered);
    return HandlerResult::accept({{"status", live ? "awaiting_consent" : "unavailable"}});
  }
  auto candidate_id = exchange_.candidate_for(txn, *ref);
  auto record = candidate_id ? candidates_.find(txn, *candidate_id) : std::nullopt;
  if (!record || !ProfileExchange::circulating(*record))
    return HandlerResult::accept({{"status", "unavailable"}});

  IncomingRequest r;
  r.id = "q_" + crypto::random_token(12);
  r.candidate = record->id;
  r.peer = peer.name;
  r.handoff = *handoff;
  r.company = *company;
  r.region = *region;
  r.created_ms = federation_.clock().now_ms();
  save(txn, r, RequestState::pending);
  txn.put(index_, by_candidate(r.candidate, r.id), "");
  txn.put(index_, by_handoff(r.peer, r.handoff), r.id);
  if (new_request_) new_request_(txn, r);
  notify_candidate(txn, *record, r);
  return HandlerResult::accept({{"status", "awaiting_consent"}});
}

void HandoffHolder::notify_candidate(storage::WriteTxn& txn,
                                     const candidates::CandidateRecord& record,
                                     const IncomingRequest& r) {
  candidates_.mail_management_link(txn, record, settings_.public_url, settings_.mail_from,
                                   [&](candidates::Lang lang, const std::string& link) {
                                     return candidates::introduction_request_mail(
                                         lang, r.company, r.peer + ", " + r.region, link);
                                   });
}

DecideResult HandoffHolder::decide(storage::WriteTxn& txn, const std::string& candidate_id,
                                   const std::string& request_id, Decision decision) {
  auto r = find(txn, request_id);
  if (!r || r->candidate != candidate_id) return DecideResult::not_found;
  if (r->state != RequestState::pending) return DecideResult::not_pending;
  if (decision == Decision::decline) {
    decline(txn, *r, RequestState::declined);
    return DecideResult::declined;
  }
  auto record = candidates_.find(txn, candidate_id);
  if (!record || !ProfileExchange::circulating(*record)) return DecideResult::not_circulating;
  auto opened = candidates_.open(*record);
  if (!opened) return DecideResult::not_circulating;
  auto peer = federation_.peers().find(txn, r->peer);
  if (!peer || !peer->active || !peer->encryption_key) return DecideResult::peer_unavailable;

  nlohmann::json payload = {{"handoff", r->handoff},
                            {"personal", opened->personal.to_json()},
                            {"profile", opened->profile.to_json()},
                            {"consent_version", settings_.consent_version}};
  auto message = federation_.outbox().enqueue(
      txn, peer->name, std::string(protocol::HandoffDeliver::type), [&](const std::string& id) {
        return *federation_.seal_for(*peer, id,
                                     payload);  // the encryption key is known (checked above)
      });
  auto now = federation_.clock().now_ms();
  record->add_disclosure(disclosure(*r, now, settings_.consent_version));
  candidates_.save(txn, *record);
  federation_.ledger().append(
      txn, protocol::handoff_sent(
               r->handoff, peer->name,
               federation_.ledger().pseudonym("peer/" + peer->name, record->pseudonym)));
  r->deliver_msg = message;
  r->accepted_ms = now;
  r->consent_version = settings_.consent_version;
  save(txn, *r, RequestState::accepted);
  return DecideResult::accepted;
}

void HandoffHolder::decline(storage::WriteTxn& txn, IncomingRequest& r, RequestState reason) {
  federation_.enqueue(txn, r.peer,
                      protocol::HandoffDeclined{r.handoff, std::string(to_string(reason))});
  save(txn, r, reason);
}

void HandoffHolder::candidate_changed(storage::WriteTxn& txn,
                                      const candidates::CandidateRecord& record) {
  if (ProfileExchange::circulating(record)) return;
  for (auto& r : for_candidate(txn, record.id)) {
    if (r.state == RequestState::pending) {
      decline(txn, r, RequestState::withdrawn);
      continue;
    }
    if (r.state != RequestState::accepted) continue;
    // Already on the wire (or refused) if it is not pending: its receipt will tell.
    if (!federation_.outbox().drop(txn, r.deliver_msg)) continue;
    decline(txn, r, RequestState::withdrawn);
    if (auto fresh = candidates_.find(txn, record.id); fresh && fresh->remove_disclosure(r.handoff))
      candidates_.save(txn, *fresh);
  }
}

void HandoffHolder::on_deliver_reply(storage::WriteTxn& txn, const SentMessage&,
                                     const protocol::Envelope& reply, const Peer& peer) {
  auto handoff = body::text(reply.body, "handoff", 64);
  if (!handoff) return;
  auto id = txn.get(index_, by_handoff(peer.name, *handoff));
  auto r = id ? find(txn, *id) : std::nullopt;
  if (!r) return;
  auto digest = body::text(reply.body, "evidence_digest", 64).value_or("");
  auto now = federation_.clock().now_ms();
  auto receipt_signature = crypto::to_base64(reply.sig);
  federation_.ledger().append(
      txn, protocol::handoff_receipt(r->handoff, peer.name, receipt_signature, digest));
  r->receipt_ms = now;
  r->evidence_digest = digest;
  r->receipt_envelope = envelope_json(reply);
  save(txn, *r, RequestState::delivered);
  if (receipt_) receipt_(txn, *r, receipt_signature);
  auto record = candidates_.find(txn, r->candidate);
  if (!record) return;
  if (!record->mark_receipt(r->handoff, now)) {
    // The delivery left before the candidate withdrew: it was disclosed after all.
    record->add_disclosure(
        disclosure(*r, r->accepted_ms.value_or(now),
                   r->consent_version.empty() ? settings_.consent_version : r->consent_version));
    record->mark_receipt(r->handoff, now);
  }
  candidates_.save(txn, *record);
  if ((record->status == candidates::Status::erased || record->withdrawn_ms()) && late_disclosure_)
    late_disclosure_(txn, *record);
}

std::optional<IncomingRequest> HandoffHolder::find_by_handoff(const storage::Txn& txn,
                                                              const std::string& peer,
                                                              const std::string& handoff) const {
  auto id = txn.get(index_, by_handoff(peer, handoff));
  if (!id) return std::nullopt;
  return find(txn, *id);
}

}  // namespace relay::node::federation
