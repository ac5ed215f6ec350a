#include "node/federation/erasure.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

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

Erasures::Erasures(Federation& federation, candidates::Store& candidates, Handoffs& handoffs,
                   const HandoffHolder& holder)
    : federation_(federation),
      candidates_(candidates),
      handoffs_(handoffs),
      holder_(holder),
      loop_("retention sweep", std::chrono::seconds(1),
            [this] { sweep(federation_.clock().now_ms()); }) {
  federation_.on<protocol::ErasureRequest>(
      [this](storage::WriteTxn& txn, const protocol::ErasureRequest& m, const protocol::Envelope&,
             const Peer& peer) { return on_request(txn, m, peer); });
  federation_.on<protocol::ErasureOverdue>(
      [this](storage::WriteTxn& txn, const protocol::ErasureOverdue& m, const protocol::Envelope&,
             const Peer& peer) { return on_overdue(txn, m, peer); });
  // A person's erasure does not expire with a peer's outage: retried until it is receipted.
  federation_.never_give_up<protocol::ErasureRequest>();
  federation_.never_give_up<protocol::ErasureOverdue>();
  federation_.on_reply_to<protocol::ErasureRequest>(
      [this](storage::WriteTxn& txn, const SentMessage& sent, const protocol::Envelope& reply,
             const Peer& peer) { on_receipt(txn, sent, reply, peer); });
}

Erasures::~Erasures() {
  stop();
}

void Erasures::candidate_erased(storage::WriteTxn& txn, candidates::CandidateRecord& tombstone) {
  ask_recipients(txn, tombstone, {});
}

void Erasures::candidate_withdrew(storage::WriteTxn& txn, candidates::CandidateRecord& record) {
  ask_recipients(txn, record, protocol::ErasureRequest::withdrawn);
}

void Erasures::ask_recipients(storage::WriteTxn& txn, candidates::CandidateRecord& record,
                              std::string_view reason) {
  // Incremental: a disclosure whose receipt arrives after the erasure (the delivery was
  // already on the wire) gets its request when this runs again.
  // The caller's copy may be stale: HandoffHolder::candidate_changed, earlier in the same txn,
  // removes the disclosure of a delivery it dropped before it left; saving the stale copy
  // would restore it and ask a node that never received the data.
  if (auto fresh = candidates_.find(txn, record.id)) record = std::move(*fresh);
  for (const auto& r : record.request_erasure(federation_.clock().now_ms(), reason)) {
    federation_.enqueue(txn, r.peer, protocol::ErasureRequest{r.handoff, r.reason});
    federation_.ledger().append(
        txn, protocol::erasure_requested(
                 federation_.ledger().pseudonym("peer/" + r.peer, record.pseudonym), r.peer,
                 r.handoff, r.reason));
  }
  candidates_.save(txn, record);
}

std::vector<ErasureStatus> Erasures::status(const candidates::CandidateRecord& record) {
  // The latest request to each recipient: an erasure after a withdrawal the recipient answered
  // with "kept_hired" is what the candidate waits for.
  std::vector<ErasureStatus> out;
  for (const auto& r : record.erasure_requests()) {
    ErasureStatus s{r.handoff, r.peer, r.company, r.requested_ms, r.confirmed_ms, r.overdue};
    auto same = std::find_if(out.begin(), out.end(), [&](const ErasureStatus& o) {
      return o.handoff == r.handoff && o.peer == r.peer;
    });
    if (same != out.end())
      *same = std::move(s);
    else
      out.push_back(std::move(s));
  }
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
  auto h = handoffs_.find(txn, handoff_id);
  if (!h)
    return HandlerResult::accept(
        {{"handoff", handoff_id}, {"status", "not_held"}, {"erased_ms", now}});
  // Only the node the data came from may ask for its erasure.
  if (h->peer != peer.name)
    return HandlerResult::refuse(403, "not_the_source",
                                 "this handoff did not come from the sender");
  // A withdrawal does not take from an employer what it needs for a hire it reported (the
  // employment has its own legal basis); an erasure request does.
  if (m.reason == protocol::ErasureRequest::withdrawn && h->hired && !h->erased_ms) {
    federation_.ledger().append(txn, protocol::erasure_kept(handoff_id, peer.name, "hired"));
    return HandlerResult::accept({{"handoff", handoff_id}, {"status", "kept_hired"}});
  }
  std::string status = "already_erased";
  if (!h->candidate.empty() && shred_received(txn, h->candidate)) {
    status = "erased";
    federation_.ledger().append(txn, protocol::erasure_completed(handoff_id, peer.name));
  }
  handoffs_.mark_erased(txn, *h, now);
  return HandlerResult::accept(
      {{"handoff", handoff_id}, {"status", status}, {"erased_ms", h->erased_ms.value_or(now)}});
}

HandlerResult Erasures::on_overdue(storage::WriteTxn& txn, const protocol::ErasureOverdue& m,
                                   const Peer& peer) {
  const auto& handoff_id = m.handoff;
  // Only the holder that delivered this handoff's data to us may say its erasure is overdue:
  // anyone else could fill the operator's alerts with claims about handoffs it never saw.
  auto handoff = handoffs_.find(txn, handoff_id);
  if (!handoff || handoff->peer != peer.name)
    return HandlerResult::refuse(403, "not_party", "sender is not the holder of this handoff");
  federation_.raise_alert(
      txn, "erasure_overdue", peer.name,
      "peer reports no erasure receipt for handoff " + handoff_id + " within its deadline");
  return HandlerResult::accept({{"handoff", handoff_id}});
}

void Erasures::on_receipt(storage::WriteTxn& txn, const SentMessage& sent,
                          const protocol::Envelope& reply, const Peer& peer) {
  auto handoff_id = string_field(sent.body, "handoff");
  auto status = string_field(reply.body, "status");
  federation_.ledger().append(
      txn, protocol::erasure_receipt(handoff_id, peer.name, crypto::to_base64(reply.sig), status));
  // Mark it on the record that asked: every disclosure, so every erasure request, comes from
  // the holder's request for that handoff (HandoffHolder::decide).
  auto request = holder_.find_by_handoff(txn, peer.name, handoff_id);
  auto asked = request ? candidates_.find(txn, request->candidate) : std::nullopt;
  if (!asked || !asked->confirm_erasure(handoff_id, peer.name, federation_.clock().now_ms(),
                                        crypto::to_base64(reply.sig), status))
    return;
  candidates_.save(txn, *asked);
  // Kept for a hire on withdrawal, but the candidate has erased since: ask again, as erasure.
  if (status == "kept_hired" && asked->status == candidates::Status::erased)
    ask_recipients(txn, *asked, {});
}

std::size_t Erasures::sweep(std::int64_t now_ms) {
  std::vector<Handoff> expired;
  std::vector<std::pair<std::string, ErasureStatus>> overdue;  // candidate id, request
  auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
                     federation_.config().candidates.erasure_confirm_timeout_s)
                     .count();
  {
    auto txn = federation_.env().begin_read();
    expired = handoffs_.due_for_expiry(txn, now_ms);
    // Only the records still waiting for a receipt (an index), not every candidate.
    for (const auto& r : candidates_.awaiting_receipt(txn))
      for (const auto& s : status(r))
        if (!s.confirmed_ms && !s.overdue && s.requested_ms + timeout <= now_ms)
          overdue.emplace_back(r.id, s);
  }
  for (const auto& e : expired) {
    federation_.writer().submit_wait([&](storage::WriteTxn& txn) {
      // Checked again in the txn: a hire reported meanwhile keeps the data.
      if (handoffs_.mark_expired(txn, e.id, now_ms)) shred_received(txn, e.candidate);
    });
    spdlog::info("retention: handoff {} from {} expired and its data was shredded", e.id, e.peer);
  }
  for (const auto& [candidate_id, s] : overdue) {
    federation_.writer().submit_wait([&](storage::WriteTxn& txn) {
      auto record = candidates_.find(txn, candidate_id);
      if (!record || !record->erasure_requested()) return;
      record->mark_erasure_overdue(s.handoff, s.peer);
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
