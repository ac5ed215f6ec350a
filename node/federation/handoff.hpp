#pragma once
// Handoffs, the requesting node's side: a member asks for a candidate a peer circulates, and
// receives their personal data once that candidate has consented to this introduction.
// (The holding node's side is handoff_holder.hpp.)
//
//   request()          stores a handoff and queues "handoff.request" {handoff, ref, company,
//                      region} to the holder, in one txn. The holder's reply body is
//                      {status: "awaiting_consent" | "unavailable"}.
//   handoff.deliver    (from the holder) body sealed to this node (protocol/envelope.hpp),
//                      payload {handoff, personal{name,email,phone}, profile, consent_version}.
//                      A received candidate record is created (origin = the holder, its own
//                      key; personal data, profile and the signed plaintext as evidence all
//                      sealed under it; expires after candidates.handoff_expiry_s), the
//                      handoff is marked delivered, handoff_received is recorded in the ledger,
//                      and the reply {handoff, received_ms, evidence_digest} is the receipt:
//                      its envelope is signed by this node.
//   handoff.declined   (from the holder) {handoff, reason: "declined" | "withdrawn"}.
//
// States: requested -> awaiting_consent | unavailable (the request's reply, or, with reason
//         "undelivered", the request given up at federation.give_up_after_s: sender.hpp);
//         requested | awaiting_consent -> delivered | declined | withdrawn (holder's message);
//         delivered -> expired (the retention limit, erasure.hpp) -> erased, or
//         delivered -> erased (the holder's erasure request).
// Nothing moves back: a late reply never undoes a delivery. A reported hire keeps delivered
// data from expiring (report_hire).
//
// Database: handoffs  id -> {id, member, company, peer, ref, state, created_ms, updated_ms,
//   request_msg, reason?, candidate? (the received record), delivered_ms?, expires_ms?,
//   evidence_digest?, sender_signature?, deliver_msg?, hired?, hired_ms?, erased_ms?}; an
//   optional field is absent until set. No personal data: that is in the received candidate
//   record, sealed. Only this class writes it.
//   handoffs_by_member  "<member>/" || 8-byte big-endian created_ms || id -> "" (a member's
//   pages without a scan of every handoff; written with the handoff, built once for older data
//   directories by index_existing()).
//   handoffs_by_candidate  "<member>/<peer>/<ref>/" || id -> "": a member's handoffs for one
//   candidate, so request() finds a live one without reading all the member's handoffs (built
//   once for older data directories by index_existing()).
//   handoffs_expiring  8-byte big-endian expires_ms || id -> "": the delivered handoffs whose
//   data will expire (no hire reported), soonest first. The retention sweep reads the due
//   ones each second instead of parsing every handoff ever received (index_existing() builds
//   it once for older data directories too).
//
// Threads: mutating calls and handlers inside Writer requests; reads with any txn.
#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/candidates/candidate_store.hpp"
#include "node/federation/federation.hpp"
#include "node/federation/profile_exchange.hpp"
#include "node/members/member.hpp"
#include "node/storage/index_page.hpp"

namespace relay::node::federation {

enum class HandoffState {
  requested,
  awaiting_consent,
  unavailable,
  delivered,
  declined,
  withdrawn,
  expired,
  erased
};
// The names stored and shown to members ("awaiting_consent", ...).
std::string_view to_string(HandoffState s);
std::optional<HandoffState> parse_handoff_state(std::string_view s);

struct Handoff {
  std::string id;
  std::string member;
  std::string company;
  std::string peer;
  std::string ref;
  HandoffState state = HandoffState::requested;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
  std::string request_msg;  // the outbox id of handoff.request
  // why it stopped: "declined" | "withdrawn" | "undelivered" (empty otherwise)
  std::string reason;
  // Once delivered:
  std::string candidate;  // the received candidate record
  std::optional<std::int64_t> delivered_ms;
  std::optional<std::int64_t> expires_ms;  // none once a hire is reported
  std::string evidence_digest;             // hex SHA-256 of the sender's signed plaintext
  std::string sender_signature;            // base64 signature of the delivery's envelope
  std::string deliver_msg;                 // the delivery's message id
  bool hired = false;
  std::optional<std::int64_t> hired_ms;
  std::optional<std::int64_t> erased_ms;

  // What the requesting member sees (no personal data; the route adds it once delivered).
  nlohmann::json to_member_json() const;
  // The stored form (see above); from_stored throws on a record not of that form.
  nlohmann::json to_stored() const;
  static Handoff from_stored(const nlohmann::json& j);
};

// A page of a member's handoffs (Handoffs::page_for_member).
using HandoffPage = storage::RecordPage<Handoff>;

enum class RequestError { none, not_a_peer, not_in_pool };

struct RequestResult {
  RequestError error = RequestError::none;
  std::optional<Handoff> handoff;
  bool created = false;  // false: the member's live handoff for this candidate, as it was
};

class Handoffs {
 public:
  // Registers the handlers for handoff.deliver, handoff.declined and the request's reply.
  Handoffs(Federation& federation, candidates::Store& candidates, ProfileExchange& exchange,
           std::chrono::seconds expiry);

  // The member asks peer for the candidate it circulates as ref (which must be in our pool
  // from that peer). A live handoff (not unavailable, declined or withdrawn) of the same
  // member for the same candidate is returned instead of a new one.
  RequestResult request(storage::WriteTxn& txn, const members::Member& member,
                        const std::string& peer, const std::string& ref);
  std::optional<Handoff> find(const storage::Txn& txn, const std::string& id) const;
  // One page of the member's handoffs (the handoffs_by_member index), oldest first or
  // (newest_first) last first: at most `limit`, after the handoff `after` ("": from the first),
  // whether more follow and how many the member has. nullopt if `after` is not one of the member's
  // handoffs.
  std::optional<HandoffPage> page_for_member(const storage::Txn& txn, const std::string& member_id,
                                             std::size_t limit, const std::string& after,
                                             bool newest_first = false) const;
  // At start-up: indexes handoffs stored before handoffs_by_member, handoffs_by_candidate or
  // handoffs_expiring existed, once per data directory and index (storage/index_marks.hpp). Returns
  // how many entries it wrote.
  std::size_t index_existing(storage::WriteTxn& txn);
  // The delivered candidate's personal data and profile; nullopt unless delivered and not
  // erased.
  std::optional<candidates::Opened> delivered(const storage::Txn& txn,
                                              const Handoff& handoff) const;

  // Receiving side, the retention limit (erasure.hpp): the delivered handoffs whose data is
  // due to expire at now_ms (no hire reported), soonest first (handoffs_expiring).
  std::vector<Handoff> due_for_expiry(const storage::Txn& txn, std::int64_t now_ms) const;
  // delivered -> expired, and handoff_expired in the ledger; the caller shreds the received
  // record in the same txn. False (nothing changed) unless still delivered and not hired.
  bool mark_expired(storage::WriteTxn& txn, const std::string& id, std::int64_t now_ms);
  // delivered | expired -> erased, at the request of the node the data came from; other
  // states are left as they are.
  void mark_erased(storage::WriteTxn& txn, Handoff& handoff, std::int64_t now_ms);
  // A member reports the hire of a delivered candidate (hire_reported in the ledger); the
  // data then no longer expires. False if the handoff is not this member's or not delivered.
  bool report_hire(storage::WriteTxn& txn, const std::string& member_id,
                   const std::string& handoff_id);

  // Called in the same txn after every change of a handoff's state (introductions follow
  // their handoff: introductions/ must not depend on federation/). Install before serving.
  using StateChanged = std::function<void(storage::WriteTxn&, const Handoff&)>;
  void on_state_changed(StateChanged hook) { state_changed_ = std::move(hook); }

 private:
  void save(storage::WriteTxn& txn, Handoff& handoff, HandoffState state);
  void save(storage::WriteTxn& txn, Handoff& handoff, HandoffState state, std::int64_t now_ms);
  void on_request_reply(storage::WriteTxn& txn, const SentMessage& sent,
                        const protocol::Envelope& reply);
  HandlerResult on_deliver(storage::WriteTxn& txn, const protocol::Envelope& e, const Peer& peer);
  HandlerResult on_declined(storage::WriteTxn& txn, const protocol::HandoffDeclined& m,
                            const Peer& peer);

  StateChanged state_changed_;
  Federation& federation_;
  candidates::Store& candidates_;
  ProfileExchange& exchange_;
  std::chrono::seconds expiry_;
  storage::Database handoffs_;
  storage::Database by_member_;
  storage::Database by_candidate_;
  storage::Database expiring_;
  storage::Database index_marks_;
};

// A profile delivered by a peer (desired_roles optional); nullopt if malformed.
std::optional<candidates::Profile> parse_delivered_profile(const nlohmann::json& profile);

}  // namespace relay::node::federation
