#include "node/federation/handoff_holder.hpp"

#include <algorithm>

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"
#include "node/federation/body_fields.hpp"
#include "node/storage/txn.hpp"
#include "protocol/event.hpp"

namespace relay::node::federation {

namespace {

IncomingRequest from_json(nlohmann::json j) {
  IncomingRequest r;
  r.id = j.at("id");
  r.candidate = j.at("candidate");
  r.peer = j.at("peer");
  r.handoff = j.at("handoff");
  r.company = j.at("company");
  r.region = j.at("region");
  r.state = j.at("state");
  r.created_ms = j.at("created_ms");
  r.record = std::move(j);
  return r;
}

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

nlohmann::json disclosure(const IncomingRequest& r, std::int64_t at_ms,
                          const std::string& consent_version) {
  return {{"handoff", r.handoff}, {"company", r.company}, {"node", r.peer},
          {"region", r.region},   {"at_ms", at_ms},       {"consent_version", consent_version},
          {"erasure", ""}};
}

}  // namespace

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
  return from_json(nlohmann::json::parse(*v));
}

void HandoffHolder::save(storage::WriteTxn& txn, IncomingRequest& r, const std::string& state) {
  r.state = state;
  r.record["state"] = state;
  r.record["updated_ms"] = federation_.clock().now_ms();
  txn.put(requests_, r.id, r.record.dump());
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
  std::erase_if(all, [](const IncomingRequest& r) { return r.state != "pending"; });
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
    bool live = r && (r->state == "pending" || r->state == "accepted" || r->state == "delivered");
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
  r.record = {{"id", r.id},
              {"candidate", r.candidate},
              {"peer", r.peer},
              {"handoff", r.handoff},
              {"company", r.company},
              {"region", r.region},
              {"created_ms", r.created_ms}};
  save(txn, r, "pending");
  txn.put(index_, by_candidate(r.candidate, r.id), "");
  txn.put(index_, by_handoff(r.peer, r.handoff), r.id);
  notify_candidate(txn, *record, r);
  return HandlerResult::accept({{"status", "awaiting_consent"}});
}

void HandoffHolder::notify_candidate(storage::WriteTxn& txn,
                                     const candidates::CandidateRecord& record,
                                     const IncomingRequest& r) {
  auto opened = candidates_.open(record);
  if (!opened) return;
  auto token = candidates_.issue_token(txn, record.id, "manage");
  auto fresh = candidates_.find(txn, record.id);
  auto link = settings_.public_url + "/r/m/" + token;
  candidates_.queue_mail(
      txn, *fresh,
      {settings_.mail_from, opened->personal.email,
       "【キャリアリレー】紹介のリクエストが届きました / An introduction request",
       r.company + "（" + r.peer + "、" + r.region +
           "）があなたの紹介を希望しています。承認するまで、氏名・連絡先は提供されません。"
           "承認または辞退はこちらから:\n" +
           link + "\n\n" + r.company + " (" + r.peer + ", " + r.region +
           ") would like an introduction to you. Your name and contact details are not provided "
           "unless "
           "you accept. Accept or decline here:\n" +
           link + "\n"});
}

DecideResult HandoffHolder::decide(storage::WriteTxn& txn, const std::string& candidate_id,
                                   const std::string& request_id, Decision decision) {
  auto r = find(txn, request_id);
  if (!r || r->candidate != candidate_id) return DecideResult::not_found;
  if (r->state != "pending") return DecideResult::not_pending;
  if (decision == Decision::decline) {
    decline(txn, *r, "declined");
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
  auto& disclosures = record->record["disclosures"];
  if (!disclosures.is_array()) disclosures = nlohmann::json::array();
  disclosures.push_back(disclosure(*r, now, settings_.consent_version));
  candidates_.save(txn, *record);
  federation_.ledger().append(txn,
                              protocol::handoff_sent(r->handoff, peer->name, record->pseudonym));
  r->record["deliver_msg"] = message;
  r->record["accepted_ms"] = now;
  r->record["consent_version"] = settings_.consent_version;
  save(txn, *r, "accepted");
  return DecideResult::accepted;
}

void HandoffHolder::decline(storage::WriteTxn& txn, IncomingRequest& r, const std::string& reason) {
  federation_.enqueue(txn, r.peer, protocol::HandoffDeclined{r.handoff, reason});
  save(txn, r, reason);
}

void HandoffHolder::candidate_changed(storage::WriteTxn& txn,
                                      const candidates::CandidateRecord& record) {
  if (ProfileExchange::circulating(record)) return;
  for (auto& r : for_candidate(txn, record.id)) {
    if (r.state == "pending") {
      decline(txn, r, "withdrawn");
      continue;
    }
    if (r.state != "accepted") continue;
    auto message = r.record.value("deliver_msg", "");
    auto dropped = federation_.outbox().drop_if(txn, [&](const OutboxEntry& e) {
      return e.type == protocol::HandoffDeliver::type && e.id == message;
    });
    if (dropped == 0) continue;  // already on the wire (or refused): its receipt will tell
    decline(txn, r, "withdrawn");
    if (auto fresh = candidates_.find(txn, record.id);
        fresh && fresh->record.contains("disclosures")) {
      auto& list = fresh->record["disclosures"];
      list.erase(std::remove_if(
                     list.begin(), list.end(),
                     [&](const nlohmann::json& d) { return d.value("handoff", "") == r.handoff; }),
                 list.end());
      candidates_.save(txn, *fresh);
    }
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
  federation_.ledger().append(
      txn, protocol::handoff_receipt(r->handoff, peer.name, crypto::to_base64(reply.sig), digest));
  r->record["receipt_ms"] = now;
  r->record["evidence_digest"] = digest;
  r->record["receipt_envelope"] = envelope_json(reply);
  save(txn, *r, "delivered");
  auto record = candidates_.find(txn, r->candidate);
  if (!record) return;
  auto& list = record->record["disclosures"];
  if (!list.is_array()) list = nlohmann::json::array();
  auto it = std::find_if(list.begin(), list.end(), [&](const nlohmann::json& d) {
    return d.value("handoff", "") == r->handoff;
  });
  if (it == list.end()) {  // the delivery left before the candidate withdrew: it was disclosed
    list.push_back(disclosure(*r, r->record.value("accepted_ms", now),
                              r->record.value("consent_version", settings_.consent_version)));
    it = std::prev(list.end());
  }
  (*it)["receipt_ms"] = now;
  candidates_.save(txn, *record);
  if (record->status == candidates::Status::erased && late_disclosure_)
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
