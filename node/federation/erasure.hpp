#pragma once
// Erasure that reaches every node a candidate's data went to, and the time limit on data
// received through a handoff (issue: candidates' rights across the federation).
//
// Holding node (where the candidate registered), when the candidate erases:
//   candidate_erased()  in the erasure txn: for every disclosure on the tombstone, queue
//                       "erasure.request" {handoff} to the node that received the data,
//                       append erasure_requested {candidate: pseudonym, peer, handoff}, and
//                       keep per-recipient status on the tombstone (record["erasure"]).
//   the reply           is the recipient's signed receipt {handoff, status, erased_ms}:
//                       erasure_receipt {handoff, peer, receipt_signature} in the ledger, the
//                       status marked confirmed (the candidate's status page shows it).
//   overdue             a recipient that has not confirmed within
//                       candidates.erasure_confirm_timeout_s raises an alert here and is sent
//                       "erasure.overdue" {handoff}, which raises an alert at its operator too.
// Receiving node, on "erasure.request" from the node the handoff came from: crypto-shreds
// the received record (its own per-candidate key), appends erasure_completed {handoff,
// peer}, and replies {handoff, status: "erased" | "already_erased" | "not_held",
// erased_ms}. A request for a handoff that came from another node is refused.
// Retention: received data expires candidates.handoff_expiry after delivery unless a hire
// was reported: the sweep crypto-shreds it and appends handoff_expired {handoff, peer}.
//
// Threads: handlers and candidate_erased inside Writer requests; sweep() from the sweeper
// thread (start/stop).
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "node/candidates/candidate_store.hpp"
#include "node/common/background_loop.hpp"
#include "node/federation/federation.hpp"
#include "node/federation/handoff.hpp"

namespace relay::node::federation {

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
  Erasures(Federation& federation, candidates::Store& candidates, Handoffs& handoffs);
  ~Erasures();

  // Holding side: call in the txn that erased the record (a tombstone with disclosures).
  void candidate_erased(storage::WriteTxn& txn, candidates::CandidateRecord& tombstone);
  // The per-recipient status kept on a tombstone.
  static std::vector<ErasureStatus> status(const candidates::CandidateRecord& record);

  // Receiving side: a member reports the hire of a delivered candidate; the data then no
  // longer expires. False if the handoff is not this member's or not delivered.
  bool report_hire(storage::WriteTxn& txn, const std::string& member_id,
                   const std::string& handoff_id);

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
  // Crypto-shreds a received record and records why; false if already gone.
  bool shred_received(storage::WriteTxn& txn, const std::string& candidate_id);

  Federation& federation_;
  candidates::Store& candidates_;
  Handoffs& handoffs_;
  storage::Database handoffs_db_;

  common::BackgroundLoop loop_;  // last: stopped (joined) before the rest goes
};

}  // namespace relay::node::federation
