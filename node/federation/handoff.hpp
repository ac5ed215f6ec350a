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
// States: requested -> awaiting_consent | unavailable (the request's reply);
//         requested | awaiting_consent -> delivered | declined | withdrawn (holder's message).
// Nothing moves back: a late reply never undoes a delivery.
//
// Database: handoffs  id -> {id, member, company, peer, ref, state, created_ms, updated_ms,
//   reason?, candidate? (the received record), delivered_ms?, expires_ms?, evidence_digest?,
//   sender_signature?}. No personal data: that is in the received candidate record, sealed.
//
// Threads: mutating calls and handlers inside Writer requests; reads with any txn.
#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "node/candidates/candidate_store.hpp"
#include "node/federation/federation.hpp"
#include "node/federation/profile_exchange.hpp"
#include "node/members/member.hpp"

namespace relay::node::federation {

struct Handoff {
  std::string id;
  std::string member;
  std::string company;
  std::string peer;
  std::string ref;
  std::string state;
  std::int64_t created_ms = 0;
  nlohmann::json record;  // everything stored

  // What the requesting member sees (no personal data; the route adds it once delivered).
  nlohmann::json to_member_json() const;
};

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
  // The member's handoffs, oldest first.
  std::vector<Handoff> for_member(const storage::Txn& txn, const std::string& member_id) const;
  // The delivered candidate's personal data and profile; nullopt unless delivered and not
  // erased.
  std::optional<candidates::Opened> delivered(const storage::Txn& txn,
                                              const Handoff& handoff) const;

  // Called in the same txn after every change of a handoff's state (introductions follow
  // their handoff: introductions/ must not depend on federation/). Install before serving.
  using StateChanged = std::function<void(storage::WriteTxn&, const Handoff&)>;
  void on_state_changed(StateChanged hook) { state_changed_ = std::move(hook); }

 private:
  void save(storage::WriteTxn& txn, Handoff& handoff, const std::string& state);
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
};

// A profile delivered by a peer (desired_roles optional); nullopt if malformed.
std::optional<candidates::Profile> parse_delivered_profile(const nlohmann::json& profile);

}  // namespace relay::node::federation
