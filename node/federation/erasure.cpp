#include "node/federation/erasure.hpp"

#include <spdlog/spdlog.h>

#include "crypto/bytes.hpp"
#include "node/members/member.hpp"
#include "node/storage/txn.hpp"
#include "protocol/event.hpp"

namespace relay::node::federation {

namespace {
std::string string_field(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}
}  // namespace

Erasures::Erasures(Federation& federation, candidates::Store& candidates, Handoffs& handoffs)
    : federation_(federation),
      candidates_(candidates),
      handoffs_(handoffs),
      handoffs_db_(federation.env().database("handoffs")),
      loop_("retention sweep", std::chrono::seconds(1),
            [this] { sweep(federation_.clock().now_ms()); }) {
  federation_.on<protocol::ErasureRequest>(
      [this](storage::WriteTxn& txn, const protocol::ErasureRequest& m, const protocol::Envelope&,
             const Peer& peer) { return on_request(txn, m, peer); });
  federation_.on<protocol::ErasureOverdue>(
      [this](storage::WriteTxn& txn, const protocol::ErasureOverdue& m, const protocol::Envelope&,
             const Peer& peer) { return on_overdue(txn, m, peer); });
  federation_.on_reply_to<protocol::ErasureRequest>(
      [this](storage::WriteTxn& txn, const SentMessage& sent, const protocol::Envelope& reply,
             const Peer& peer) { on_receipt(txn, sent, reply, peer); });
}

Erasures::~Erasures() {
  stop();
}

void Erasures::candidate_erased(storage::WriteTxn& txn, candidates::CandidateRecord& tombstone) {
  // Incremental: a disclosure whose receipt arrives after the erasure (the delivery was
  // already on the wire) gets its request when this runs again.
  // The caller's copy may be stale: HandoffHolder::candidate_changed, earlier in the same txn,
  // removes the disclosure of a delivery it dropped before it left; saving the stale copy
  // would restore it and ask a node that never received the data.
  if (auto fresh = candidates_.find(txn, tombstone.id)) tombstone = std::move(*fresh);
  auto disclosures = tombstone.record.value("disclosures", nlohmann::json::array());
  auto& erasure = tombstone.record["erasure"];
  if (!erasure.is_object())
    erasure = {{"requests", nlohmann::json::array()},
               {"requested_ms", federation_.clock().now_ms()}};
  auto& requests = erasure["requests"];
  auto now = federation_.clock().now_ms();
  std::size_t added = 0;
  for (const auto& d : disclosures) {
    auto handoff = string_field(d, "handoff");
    auto peer = string_field(d, "node");
    if (handoff.empty() || peer.empty()) continue;
    bool known = false;
    for (const auto& r : requests)
      known = known || (string_field(r, "handoff") == handoff && string_field(r, "peer") == peer);
    if (known) continue;
    ++added;
    federation_.enqueue(txn, peer, protocol::ErasureRequest{handoff});
    federation_.ledger().append(txn,
                                protocol::erasure_requested(tombstone.pseudonym, peer, handoff));
    requests.push_back({{"handoff", handoff},
                        {"peer", peer},
                        {"company", string_field(d, "company")},
                        {"requested_ms", now},
                        {"confirmed_ms", 0},
                        {"overdue", false}});
  }
  (void)added;
  candidates_.save(txn, tombstone);
}

std::vector<ErasureStatus> Erasures::status(const candidates::CandidateRecord& record) {
  std::vector<ErasureStatus> out;
  if (!record.record.contains("erasure")) return out;
  for (const auto& r : record.record["erasure"].value("requests", nlohmann::json::array()))
    out.push_back({string_field(r, "handoff"), string_field(r, "peer"), string_field(r, "company"),
                   r.value("requested_ms", std::int64_t{0}),
                   r.value("confirmed_ms", std::int64_t{0}), r.value("overdue", false)});
  return out;
}

bool Erasures::shred_received(storage::WriteTxn& txn, const std::string& candidate_id) {
  auto record = candidates_.find(txn, candidate_id);
  if (!record || record->status == candidates::Status::erased) return false;
  candidates_.erase(txn, *record);  // received records have no spooled mail
  return true;
}

HandlerResult Erasures::on_request(storage::WriteTxn& txn, const protocol::ErasureRequest& m,
                                   const Peer& peer) {
  const auto& handoff_id = m.handoff;  // non-empty (ErasureRequest::parse)
  auto now = federation_.clock().now_ms();
  auto stored = txn.get(handoffs_db_, handoff_id);
  if (!stored)
    return HandlerResult::accept(
        {{"handoff", handoff_id}, {"status", "not_held"}, {"erased_ms", now}});
  auto h = nlohmann::json::parse(*stored);
  // Only the node the data came from may ask for its erasure.
  if (string_field(h, "peer") != peer.name)
    return HandlerResult::refuse(403, "not_the_source",
                                 "this handoff did not come from the sender");
  std::string status = "already_erased";
  auto candidate_id = string_field(h, "candidate");
  if (!candidate_id.empty() && shred_received(txn, candidate_id)) {
    status = "erased";
    federation_.ledger().append(txn, protocol::erasure_completed(handoff_id, peer.name));
  }
  if (h.value("state", "") == "delivered" || h.value("state", "") == "expired") {
    h["state"] = "erased";
    h["erased_ms"] = now;
    h["updated_ms"] = now;
    txn.put(handoffs_db_, handoff_id, h.dump());
  }
  return HandlerResult::accept(
      {{"handoff", handoff_id}, {"status", status}, {"erased_ms", h.value("erased_ms", now)}});
}

HandlerResult Erasures::on_overdue(storage::WriteTxn& txn, const protocol::ErasureOverdue& m,
                                   const Peer& peer) {
  const auto& handoff_id = m.handoff;
  federation_.raise_alert(
      txn, "erasure_overdue", peer.name,
      "peer reports no erasure receipt for handoff " + handoff_id + " within its deadline");
  return HandlerResult::accept({{"handoff", handoff_id}});
}

void Erasures::on_receipt(storage::WriteTxn& txn, const SentMessage& sent,
                          const protocol::Envelope& reply, const Peer& peer) {
  auto handoff_id = string_field(sent.body, "handoff");
  federation_.ledger().append(
      txn, protocol::erasure_receipt(handoff_id, peer.name, crypto::to_base64(reply.sig),
                                     string_field(reply.body, "status")));
  // Mark it on the tombstone that asked (found through its disclosures).
  candidates_.for_each(txn, [&](const candidates::CandidateRecord& r) {
    if (r.status != candidates::Status::erased || !r.record.contains("erasure")) return true;
    auto copy = r;
    bool changed = false;
    for (auto& req : copy.record["erasure"]["requests"])
      if (string_field(req, "handoff") == handoff_id && string_field(req, "peer") == peer.name &&
          req.value("confirmed_ms", std::int64_t{0}) == 0) {
        req["confirmed_ms"] = federation_.clock().now_ms();
        req["receipt_signature"] = crypto::to_base64(reply.sig);
        changed = true;
      }
    if (changed) candidates_.save(txn, copy);
    return !changed;
  });
}

bool Erasures::report_hire(storage::WriteTxn& txn, const std::string& member_id,
                           const std::string& handoff_id) {
  auto stored = txn.get(handoffs_db_, handoff_id);
  if (!stored) return false;
  auto h = nlohmann::json::parse(*stored);
  if (string_field(h, "member") != member_id || h.value("state", "") != "delivered") return false;
  if (h.value("hired", false)) return true;
  h["hired"] = true;
  h["hired_ms"] = federation_.clock().now_ms();
  h.erase("expires_ms");
  txn.put(handoffs_db_, handoff_id, h.dump());
  federation_.ledger().append(
      txn, protocol::hire_reported(member_id, handoff_id, string_field(h, "peer")));
  return true;
}

std::size_t Erasures::sweep(std::int64_t now_ms) {
  struct Expired {
    std::string handoff;
    std::string candidate;
    std::string peer;
  };
  std::vector<Expired> expired;
  std::vector<std::pair<std::string, ErasureStatus>> overdue;  // candidate id, request
  auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
                     federation_.config().candidates.erasure_confirm_timeout_s)
                     .count();
  {
    auto txn = federation_.env().begin_read();
    txn.for_each_prefix(handoffs_db_, "", [&](std::string_view key, std::string_view value) {
      auto h = nlohmann::json::parse(value);
      if (h.value("state", "") == "delivered" && !h.value("hired", false) &&
          h.contains("expires_ms") && h["expires_ms"].get<std::int64_t>() <= now_ms)
        expired.push_back(
            {std::string(key), string_field(h, "candidate"), string_field(h, "peer")});
    });
    candidates_.for_each(txn, [&](const candidates::CandidateRecord& r) {
      for (const auto& s : status(r))
        if (!s.confirmed_ms && !s.overdue && s.requested_ms + timeout <= now_ms)
          overdue.emplace_back(r.id, s);
      return true;
    });
  }
  for (const auto& e : expired) {
    federation_.writer().submit_wait([&](storage::WriteTxn& txn) {
      auto stored = txn.get(handoffs_db_, e.handoff);
      if (!stored) return;
      auto h = nlohmann::json::parse(*stored);
      if (h.value("state", "") != "delivered" || h.value("hired", false)) return;
      shred_received(txn, e.candidate);
      h["state"] = "expired";
      h["updated_ms"] = now_ms;
      txn.put(handoffs_db_, e.handoff, h.dump());
      federation_.ledger().append(txn, protocol::handoff_expired(e.handoff, e.peer));
    });
    spdlog::info("retention: handoff {} from {} expired and its data was shredded", e.handoff,
                 e.peer);
  }
  for (const auto& [candidate_id, s] : overdue) {
    federation_.writer().submit_wait([&](storage::WriteTxn& txn) {
      auto record = candidates_.find(txn, candidate_id);
      if (!record || !record->record.contains("erasure")) return;
      for (auto& req : record->record["erasure"]["requests"])
        if (string_field(req, "handoff") == s.handoff && string_field(req, "peer") == s.peer)
          req["overdue"] = true;
      candidates_.save(txn, *record);
      federation_.raise_alert(
          txn, "erasure_overdue", s.peer,
          "no erasure receipt for handoff " + s.handoff + " within the deadline");
      federation_.enqueue(txn, s.peer, protocol::ErasureOverdue{s.handoff});
    });
  }
  if (!overdue.empty()) federation_.notify();
  return expired.size() + overdue.size();
}

void Erasures::start() {
  loop_.start();
}

void Erasures::stop() {
  loop_.stop();
}

}  // namespace relay::node::federation
