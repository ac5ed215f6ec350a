#pragma once
// Erasure that reaches every node a candidate's data went to, and the time limit on data
// received through a handoff (issue: candidates' rights across the federation).
//
// Holding node (where the candidate registered), when the candidate erases:
//   candidate_erased()  in the erasure txn: for every disclosure on the tombstone, queue
//                       "erasure.request" {handoff} to the node that received the data,
//                       append erasure_requested {candidate: pseudonym, peer, handoff}, and
//                       keep per-recipient status on the tombstone
//                       (CandidateRecord::request_erasure / erasure_requests()).
//   the reply           is the recipient's signed receipt {handoff, status, erased_ms}:
//                       erasure_receipt {handoff, peer, receipt_signature} in the ledger, the
//                       status marked confirmed (the candidate's status page shows it).
//   overdue             a recipient that has not confirmed within
//                       candidates.erasure_confirm_timeout_s raises an alert here and is sent
//                       "erasure.overdue" {handoff}, which raises an alert at its operator too.
// Withdrawal (issue 20): when the candidate withdraws consent the holder asks the same way,
// with reason "withdrawn" (erasure_requested {.., reason: "withdrawn"}); a delivery that
// was on the wire is asked when its receipt arrives (HandoffHolder's late-disclosure hook).
// Receiving node, on "erasure.request" from the node the handoff came from: crypto-shreds
// the received record (its own per-candidate key), appends erasure_completed {handoff,
// peer}, and replies {handoff, status: "erased" | "already_erased" | "not_held",
// erased_ms}. A request for a handoff that came from another node is refused. On a
// withdrawal for a handoff whose hire was reported it keeps the data (the employer needs it),
// appends erasure_kept {handoff, peer, reason: "hired"} and replies {handoff, status:
// "kept_hired"}; if the candidate then erases, the holder asks again without a reason.
// Retention: received data expires candidates.handoff_expiry after delivery unless a hire
// was reported (Handoffs::report_hire): the sweep crypto-shreds it and marks the handoff
// expired (Handoffs::mark_expired appends handoff_expired {handoff, peer}).
// The handoffs themselves are Handoffs' (handoff.hpp): this class changes them only through it.
//
// Threads: handlers and candidate_erased inside Writer requests; sweep() from the sweeper
// thread (start/stop).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "node/candidates/candidate_store.hpp"
#include "node/common/background_loop.hpp"
#include "node/federation/federation.hpp"
#include "node/federation/handoff.hpp"
#include "node/federation/handoff_holder.hpp"

namespace relay::node::federation {

// One recipient's erasure status, as the candidate's page shows it (the request itself is kept
// on the tombstone: candidates::ErasureRequest).
struct ErasureStatus {
  std::string handoff;
  std::string peer;
  std::string company;
  std::int64_t requested_ms = 0;
  std::int64_t confirmed_ms = 0;  // 0 while waiting
  bool overdue = false;
};

class Erasures {
 public:
  // holder finds the candidate a receipt is about (its h/<peer>/<handoff> index).
  Erasures(Federation& federation, candidates::Store& candidates, Handoffs& handoffs,
           const HandoffHolder& holder);
  ~Erasures();

  // Holding side: call in the txn that erased the record (a tombstone with disclosures).
  void candidate_erased(storage::WriteTxn& txn, candidates::CandidateRecord& tombstone);
  // Holding side: the candidate withdrew consent (record.withdrawn_ms() set): every recipient
  // is asked to delete what it received, with reason "withdrawn".
  void candidate_withdrew(storage::WriteTxn& txn, candidates::CandidateRecord& record);
  // The per-recipient status kept on a tombstone.
  static std::vector<ErasureStatus> status(const candidates::CandidateRecord& record);

  // Expires received data and raises overdue erasures; returns how many records changed.
  std::size_t sweep(std::int64_t now_ms);
  void start();
  void stop();

 private:
  HandlerResult on_request(storage::WriteTxn& txn, const protocol::ErasureRequest& m,
                           const Peer& peer);
  HandlerResult on_overdue(storage::WriteTxn& txn, const protocol::ErasureOverdue& m,
                           const Peer& peer);
  void on_receipt(storage::WriteTxn& txn, const SentMessage& sent, const protocol::Envelope& reply,
                  const Peer& peer);
  // Sends (and records) a request to every recipient not asked yet for this reason.
  void ask_recipients(storage::WriteTxn& txn, candidates::CandidateRecord& record,
                      std::string_view reason);
  // Crypto-shreds a received record and records why; false if already gone.
  bool shred_received(storage::WriteTxn& txn, const std::string& candidate_id);

  Federation& federation_;
  candidates::Store& candidates_;
  Handoffs& handoffs_;
  const HandoffHolder& holder_;

  common::BackgroundLoop loop_;  // last: stopped (joined) before the rest goes
};

}  // namespace relay::node::federation
