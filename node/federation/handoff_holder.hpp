#pragma once
// Handoffs, the holding node's side: a peer asks for a candidate we circulate; the candidate
// decides on their management page; their personal data crosses only after they accept
// this specific introduction (APPI Art. 27), and both sides keep the record (Art. 29, 30).
// (The requesting side is handoff.hpp.)
//
//   handoff.request  {handoff, ref, company, region} from the requesting node. If ref is a
//                    circulating candidate, a request is stored (pending), the candidate is
//                    mailed a fresh management link, and the reply is {status:
//                    "awaiting_consent"}; otherwise {status: "unavailable"} and nothing is kept.
//   decide(accept)   queues "handoff.deliver" whose body is sealed to the peer and signed by
//                    this node, payload {handoff, personal{name,email,phone}, profile,
//                    consent_version}; records the disclosure on the candidate
//                    (CandidateRecord::add_disclosure: handoff, company, node, region, at_ms,
//                    consent_version) and handoff_sent {handoff, peer, candidate: pseudonym} in
//                    the ledger, all in one txn.
//   decide(decline)  queues "handoff.declined" {handoff, reason: "declined"}.
//   the deliver's reply (the receipt {handoff, received_ms, evidence_digest}, in an envelope
//                    signed by the peer): handoff_receipt {handoff, peer, receipt_signature,
//                    evidence_digest} in the ledger; the disclosure gets its receipt; the
//                    whole reply envelope is kept with the request for auditors.
//   candidate_changed  when the candidate stops circulating (consent narrowed or withdrawn,
//                    erased): pending requests are declined with reason "withdrawn"; an
//                    accepted request whose handoff.deliver is still queued has it dropped
//                    from the outbox, is declined "withdrawn" too, and its disclosure removed
//                    (nothing was disclosed). A delivery already on the wire cannot be
//                    recalled: its receipt, if it comes, restores the disclosure.
//
// Request states: pending -> accepted -> delivered; pending -> declined | withdrawn;
// accepted -> withdrawn (delivery dropped before it left).
//
// Databases:
//   handoff_requests       request id ("q_...") -> {id, candidate, peer, handoff, company,
//                          region, state, created_ms, updated_ms, deliver_msg?, accepted_ms?,
//                          consent_version?, receipt_ms?, evidence_digest?, receipt_envelope?}
//                          (an optional field is absent until set)
//   handoff_request_index  "c/<candidate>/<request id>" -> "" and
//                          "h/<peer>/<handoff id>" -> request id
//
// Threads: mutating calls and handlers inside Writer requests; reads with any txn.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/candidates/candidate_store.hpp"
#include "node/federation/federation.hpp"
#include "node/federation/profile_exchange.hpp"

namespace relay::node::federation {

struct HolderSettings {
  std::string public_url;  // for the management link mailed to the candidate
  std::string mail_from;
  std::string consent_version;  // the consent text shown when the candidate accepts
};

enum class RequestState { pending, accepted, delivered, declined, withdrawn };
// The names stored ("pending", ...); declined and withdrawn are also handoff.declined's reason.
std::string_view to_string(RequestState s);
std::optional<RequestState> parse_request_state(std::string_view s);

struct IncomingRequest {
  std::string id;
  std::string candidate;
  std::string peer;
  std::string handoff;  // the requesting node's id
  std::string company;
  std::string region;
  RequestState state = RequestState::pending;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
  // Once accepted:
  std::string deliver_msg;  // the outbox id of handoff.deliver
  std::optional<std::int64_t> accepted_ms;
  std::string consent_version;
  // Once the receipt arrived:
  std::optional<std::int64_t> receipt_ms;
  std::string evidence_digest;
  nlohmann::json receipt_envelope;  // the peer's signed reply, wire form; null until then

  // The stored form (see above); from_stored throws on a record not of that form.
  nlohmann::json to_stored() const;
  static IncomingRequest from_stored(const nlohmann::json& j);
};

enum class Decision { accept, decline };
enum class DecideResult {
  accepted,
  declined,
  not_found,
  not_pending,
  not_circulating,
  peer_unavailable
};

class HandoffHolder {
 public:
  // Registers the handler for handoff.request and the reply handler for handoff.deliver.
  HandoffHolder(Federation& federation, candidates::Store& candidates, ProfileExchange& exchange,
                HolderSettings settings);

  // The candidate's requests in state pending, oldest first.
  std::vector<IncomingRequest> pending_for(const storage::Txn& txn,
                                           const std::string& candidate_id) const;
  // Every request about the candidate (any state).
  std::vector<IncomingRequest> for_candidate(const storage::Txn& txn,
                                             const std::string& candidate_id) const;
  // The candidate's decision on one of their pending requests (see above).
  DecideResult decide(storage::WriteTxn& txn, const std::string& candidate_id,
                      const std::string& request_id, Decision decision);
  // To be called in the txn of any change to a local candidate (see above).
  void candidate_changed(storage::WriteTxn& txn, const candidates::CandidateRecord& record);
  // Called when a receipt restores a disclosure on a record that was erased or withdrawn
  // meanwhile (the delivery was already on the wire), so that the request reaches that
  // recipient too.
  void on_late_disclosure(
      std::function<void(storage::WriteTxn&, const candidates::CandidateRecord&)> hook) {
    late_disclosure_ = std::move(hook);
  }
  // Called in the txn that stores a new pending request from a peer (a peer's member
  // introduces the candidate): the statistics count the person as introduced.
  void on_new_request(std::function<void(storage::WriteTxn&, const IncomingRequest&)> hook) {
    new_request_ = std::move(hook);
  }
  // Called in the txn that records the requester's signed receipt of a delivery (the
  // introduction was delivered: settlement's obligation). One hook.
  void on_receipt(std::function<void(storage::WriteTxn&, const IncomingRequest&,
                                     const std::string& receipt_signature)>
                      hook) {
    receipt_ = std::move(hook);
  }
  // The request peer made for its handoff id (the h/<peer>/<handoff> index), any state.
  std::optional<IncomingRequest> find_by_handoff(const storage::Txn& txn, const std::string& peer,
                                                 const std::string& handoff) const;

 private:
  std::optional<IncomingRequest> find(const storage::Txn& txn, const std::string& id) const;
  void save(storage::WriteTxn& txn, IncomingRequest& request, RequestState state);
  // Stops the request (declined or withdrawn) and tells the requesting node why.
  void decline(storage::WriteTxn& txn, IncomingRequest& request, RequestState reason);
  void notify_candidate(storage::WriteTxn& txn, const candidates::CandidateRecord& record,
                        const IncomingRequest& request);
  HandlerResult on_request(storage::WriteTxn& txn, const protocol::HandoffRequest& m,
                           const Peer& peer);
  void on_deliver_reply(storage::WriteTxn& txn, const SentMessage& sent,
                        const protocol::Envelope& reply, const Peer& peer);

  Federation& federation_;
  candidates::Store& candidates_;
  ProfileExchange& exchange_;
  HolderSettings settings_;
  storage::Database requests_;
  storage::Database index_;
  std::function<void(storage::WriteTxn&, const candidates::CandidateRecord&)> late_disclosure_;
  std::function<void(storage::WriteTxn&, const IncomingRequest&)> new_request_;
  std::function<void(storage::WriteTxn&, const IncomingRequest&, const std::string&)> receipt_;
};

}  // namespace relay::node::federation
