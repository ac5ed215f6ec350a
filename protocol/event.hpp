#pragma once
// The events a node records in its ledger, one builder per kind, so that every event's
// fields are fixed here and nowhere else. No event carries personal data: members appear by
// id and company name, candidates only as keyed pseudonyms (hex), peers by name and key
// fingerprint. From ledger version 2 a candidate's pseudonym is scoped (to the member, the
// peer, or the erasure: protocol/README.md "The credit rule"), so no value links one person
// across two members or peers. Credit balances are derivable from these events alone:
//   a member's balance = count(credit_minted) + sum(credit_granted.credits)
//                        - count(credit_spent) + count(credit_refunded) for that member,
//   never below zero after a credit_spent; every credit_refunded names an earlier credit_spent
//   of the same member (by its introduction id) and each spend is refunded at most once; and
//   after each counted referral (referral_verified with counted, version 1 entries only; or
//   referral_counted after its hold, see referral_held), count(credit_minted) =
//   max(count before, floor(counted referrals / referrals_per_credit)), with the ratio
//   taken from node_initialised or the latest credit_ratio_changed (credits are never taken
//   back when the ratio rises).
// Impact is a count shown to members, never a credit: hire_attributed and outcome_received
// move no balance. A holding node records at most one outcome_received per (peer, handoff,
// outcome), and attributes a cross-node hire (hire_attributed naming the handoff) only after
// the outcome_received of that handoff's "hired".
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/keys.hpp"
#include "protocol/settlement.hpp"

namespace relay::protocol {

struct Event {
  std::string kind;
  nlohmann::json data;  // always an object
};

namespace event_kind {
inline constexpr std::string_view node_initialised = "node_initialised";
inline constexpr std::string_view member_admitted = "member_admitted";
inline constexpr std::string_view member_suspended = "member_suspended";
inline constexpr std::string_view member_reinstated = "member_reinstated";
inline constexpr std::string_view referral_verified = "referral_verified";
inline constexpr std::string_view credit_minted = "credit_minted";
inline constexpr std::string_view credit_spent = "credit_spent";
inline constexpr std::string_view introduction_made = "introduction_made";
inline constexpr std::string_view hire_reported = "hire_reported";
inline constexpr std::string_view key_rotated = "key_rotated";
inline constexpr std::string_view candidate_erased = "candidate_erased";
inline constexpr std::string_view peer_added = "peer_added";
inline constexpr std::string_view peer_suspended = "peer_suspended";
inline constexpr std::string_view handoff_sent = "handoff_sent";
inline constexpr std::string_view handoff_received = "handoff_received";
inline constexpr std::string_view handoff_receipt = "handoff_receipt";
inline constexpr std::string_view erasure_requested = "erasure_requested";
inline constexpr std::string_view erasure_completed = "erasure_completed";
inline constexpr std::string_view erasure_receipt = "erasure_receipt";
inline constexpr std::string_view erasure_kept = "erasure_kept";
inline constexpr std::string_view handoff_expired = "handoff_expired";
inline constexpr std::string_view credit_ratio_changed = "credit_ratio_changed";
inline constexpr std::string_view credit_refunded = "credit_refunded";
inline constexpr std::string_view credit_granted = "credit_granted";
inline constexpr std::string_view requisition_opened = "requisition_opened";
inline constexpr std::string_view requisition_updated = "requisition_updated";
inline constexpr std::string_view requisition_closed = "requisition_closed";
inline constexpr std::string_view introduction_outcome = "introduction_outcome";
inline constexpr std::string_view reemployment_reported = "reemployment_reported";
inline constexpr std::string_view hire_attributed = "hire_attributed";
inline constexpr std::string_view outcome_received = "outcome_received";
inline constexpr std::string_view alumni_credit_rule = "alumni_credit_rule";
inline constexpr std::string_view referral_hold_rule = "referral_hold_rule";
inline constexpr std::string_view referral_held = "referral_held";
inline constexpr std::string_view referral_flagged = "referral_flagged";
inline constexpr std::string_view referral_accepted = "referral_accepted";
inline constexpr std::string_view referral_rejected = "referral_rejected";
inline constexpr std::string_view referral_counted = "referral_counted";
inline constexpr std::string_view referral_dropped = "referral_dropped";
inline constexpr std::string_view obligation_recorded = "obligation_recorded";
inline constexpr std::string_view settlement_agreed = "settlement_agreed";
}  // namespace event_kind

Event node_initialised(std::string_view region, std::uint32_t referrals_per_credit,
                       const crypto::Ed25519PublicKey& signing_key,
                       const crypto::X25519PublicKey& encryption_key);
Event member_admitted(std::string_view member_id, std::string_view company_name);
Event member_suspended(std::string_view member_id);
Event member_reinstated(std::string_view member_id);
// counted: whether this referral counts toward credits (first verified referral of this
// candidate for this member); counted_total: the member's counted referrals after it.
// referral_kind: "" for a rejection referral (no "kind" field: the shape every earlier log
// has), "alumni" for a person leaving the member (退職者) who registered through its alumni
// link: {"member","referral","candidate","counted","counted_total","kind":"alumni"}. An alumni
// referral counts only while the latest alumni_credit_rule says so (default: it does not).
Event referral_verified(std::string_view member_id, std::string_view referral_id,
                        std::string_view candidate_pseudonym, bool counted,
                        std::uint64_t counted_total, std::string_view referral_kind = {});
// {"alumni_count_toward_credits": bool}: from this entry on, alumni referrals count toward
// credits (true) or not (false, the rule before any such entry). Recorded at start-up when the
// operator's configuration (credits.alumni_count_toward_credits) differs from the rule in force.
Event alumni_credit_rule(bool alumni_count_toward_credits);
// The holding period (ledger version 2, issue 17). A verified referral that may count is not
// counted at once: it is held, and counts only when its hold ends, unless it was withdrawn or
// erased meanwhile, or flagged and not accepted by the operator. The sequence of one referral:
//   referral_held -> [referral_flagged]* -> [referral_accepted | referral_rejected]
//                 -> referral_counted | referral_dropped
// (referral_rejected ends it; referral_counted only if not flagged, or flagged then accepted).
//
// {"holding_days": N}: from this entry on, referral_held.until is at least the entry's time
// plus N days (0 before any such entry). Recorded at start-up when referrals.holding_days
// differs from the rule in force.
Event referral_hold_rule(std::uint32_t holding_days);
// {"member","referral","candidate","until"[,"kind":"alumni"]}: the member's verified referral
// is held until `until` (unix ms); candidate is the member-scoped pseudonym.
Event referral_held(std::string_view member_id, std::string_view referral_id,
                    std::string_view candidate_pseudonym, std::int64_t until_ms,
                    std::string_view referral_kind = {});
// {"member","referral","reasons":[flag_reason...]}: a held referral waits for the operator.
Event referral_flagged(std::string_view member_id, std::string_view referral_id,
                       const std::vector<std::string>& reasons);
// {"member","referral"}: the operator accepted a flagged referral (it counts after its hold).
Event referral_accepted(std::string_view member_id, std::string_view referral_id);
// {"member","referral"}: the operator rejected a flagged referral: it never counts.
Event referral_rejected(std::string_view member_id, std::string_view referral_id);
// {"member","referral","candidate","counted_total"}: the hold ended; the referral counts.
// candidate repeats referral_held's; counted_total is the member's count after it. The
// credit_minted entries due follow it, as after a counted referral_verified.
Event referral_counted(std::string_view member_id, std::string_view referral_id,
                       std::string_view candidate_pseudonym, std::uint64_t counted_total);
// {"member","referral","reason"}: the hold ended without counting (drop_reason).
Event referral_dropped(std::string_view member_id, std::string_view referral_id,
                       std::string_view reason);

// Why a referral was flagged (referral_flagged.reasons).
namespace flag_reason {
inline constexpr std::string_view disposable_domain = "disposable_domain";  // a throwaway domain
inline constexpr std::string_view velocity = "velocity";  // many confirmations in a short window
inline constexpr std::string_view same_domain = "same_domain";  // many addresses of one domain
inline constexpr std::string_view similar_addresses = "similar_addresses";  // name1, name2, ...
}  // namespace flag_reason
bool is_flag_reason(std::string_view reason);

// Why a held referral did not count (referral_dropped.reason).
namespace drop_reason {
inline constexpr std::string_view withdrawn = "withdrawn";  // the person withdrew consent
inline constexpr std::string_view erased = "erased";        // the person erased their data
inline constexpr std::string_view member_suspended = "member_suspended";
}  // namespace drop_reason
bool is_drop_reason(std::string_view reason);

// minted_total: credits minted for the member so far, this one included; balance after.
Event credit_minted(std::string_view member_id, std::uint64_t minted_total, std::int64_t balance);
// {"member","introduction","balance"}: the member spent one credit on introduction_id;
// balance after. (Logs written before introductions carried "purpose" instead of
// "introduction"; auditors accept either.)
Event credit_spent(std::string_view member_id, std::string_view introduction_id,
                   std::int64_t balance);
// {"member","introduction","reason","balance"}: the credit spent on introduction_id came back.
// reason is one of refund_reason; balance after.
Event credit_refunded(std::string_view member_id, std::string_view introduction_id,
                      std::string_view reason, std::int64_t balance);
// {"member","credits","reason","balance"}: the operator granted `credits` (>= 1) credits, e.g.
// under a municipal programme. reason is the operator's free text about the programme, never
// about a person. balance after.
Event credit_granted(std::string_view member_id, std::uint64_t credits, std::string_view reason,
                     std::int64_t balance);

// Why a spent credit came back (credit_refunded.reason).
namespace refund_reason {
inline constexpr std::string_view declined = "declined";        // the candidate said no
inline constexpr std::string_view expired = "expired";          // no answer in time
inline constexpr std::string_view withdrawn = "withdrawn";      // withdrew before delivery
inline constexpr std::string_view erased = "erased";            // erased before delivery
inline constexpr std::string_view undelivered = "undelivered";  // the holding peer never delivered
}  // namespace refund_reason
// True for the five reasons above.
bool is_refund_reason(std::string_view reason);

// Requisitions carry ids and codes only: the title and skills stay in the node's store.
// {"member","requisition","kind","category","employment_type","headcount"}: kind is
// "requisition" or "secondment_offer"; category an MHLW major group code (A..K);
// employment_type one of regular|contract|part_time|side_job|secondment|transfer.
Event requisition_opened(std::string_view member_id, std::string_view requisition_id,
                         std::string_view kind, std::string_view category,
                         std::string_view employment_type, std::uint32_t headcount);
// The same fields, after an edit.
Event requisition_updated(std::string_view member_id, std::string_view requisition_id,
                          std::string_view kind, std::string_view category,
                          std::string_view employment_type, std::uint32_t headcount);
// {"member","requisition"}.
Event requisition_closed(std::string_view member_id, std::string_view requisition_id);

// {"introduction","member","requisition","holder","candidate"}: member asked for the candidate
// held by `holder` ("local" or a peer's name); candidate is a keyed pseudonym scoped to the
// member (the node scopes the holder's reference: since ledger version 2 no two members'
// entries name one person alike), never personal data.
Event introduction_made(std::string_view introduction_id, std::string_view member_id,
                        std::string_view requisition_id, std::string_view holder,
                        std::string_view candidate_ref);
// {"introduction","member","outcome","reason"}: outcome is one of interview|offer|hired|
// not_hired|retained_3m|retained_6m|retained_12m|left; reason a coarse code ("" if none).
Event introduction_outcome(std::string_view introduction_id, std::string_view member_id,
                           std::string_view outcome, std::string_view reason_code);
// {"candidate","through"}: a candidate reported finding work (再雇用), optionally through a
// member ("" if not said).
Event reemployment_reported(std::string_view candidate_pseudonym, std::string_view through_member);
// Recorded under the OLD key: the entry's signature is the old key vouching for the new one.
Event key_rotated(const crypto::Ed25519PublicKey& old_key, const crypto::Ed25519PublicKey& new_key,
                  const crypto::X25519PublicKey& new_encryption_key);
Event candidate_erased(std::string_view candidate_pseudonym);
// The operator changed credits.referrals_per_credit; later referrals use the new ratio.
Event credit_ratio_changed(std::uint32_t referrals_per_credit);
Event peer_added(std::string_view peer_name, std::string_view fingerprint);
Event peer_suspended(std::string_view peer_name);
// The holding node queued a candidate's personal data for peer `peer_name` after the
// candidate accepted introduction `handoff_id` (the requesting node's id for it).
Event handoff_sent(std::string_view handoff_id, std::string_view peer_name,
                   std::string_view candidate_pseudonym);
// The requesting node received handoff `handoff_id` for member `member_id`: the sender's
// envelope signature (base64) and the hex SHA-256 of the signed plaintext kept as evidence.
Event handoff_received(std::string_view handoff_id, std::string_view peer_name,
                       std::string_view member_id, std::string_view sender_signature,
                       std::string_view evidence_digest);
// The holding node got the recipient's signed receipt (its reply envelope's signature, base64).
Event handoff_receipt(std::string_view handoff_id, std::string_view peer_name,
                      std::string_view receipt_signature, std::string_view evidence_digest);

// Erasure across the federation (the holding node asks every recipient; they confirm).
// reason "" for an erasure (the field is then absent, as in every earlier log) or "withdrawn"
// when the candidate withdrew consent.
Event erasure_requested(std::string_view candidate_pseudonym, std::string_view peer_name,
                        std::string_view handoff_id, std::string_view reason = {});
// The recipient crypto-shredded the data it received in handoff_id from peer_name.
Event erasure_completed(std::string_view handoff_id, std::string_view peer_name);
// The recipient kept the data it received in handoff_id from peer_name although the candidate
// withdrew consent, because reason (only "hired": a member reported hiring them; the
// auditor checks hire_reported for the handoff precedes it).
Event erasure_kept(std::string_view handoff_id, std::string_view peer_name,
                   std::string_view reason);
// The holding node got the recipient's signed erasure receipt (reply signature, base64).
Event erasure_receipt(std::string_view handoff_id, std::string_view peer_name,
                      std::string_view receipt_signature, std::string_view status);
// Data received in handoff_id reached its retention limit and was crypto-shredded.
Event handoff_expired(std::string_view handoff_id, std::string_view peer_name);
// A member reported hiring the candidate of handoff_id (its data then no longer expires).
Event hire_reported(std::string_view member_id, std::string_view handoff_id,
                    std::string_view peer_name);

// {"introduction","referrers"}: the hire of introduction_id is credited (as impact, not as a
// credit: no balance is touched) to the members whose rejection referrals brought the candidate
// in. For a cross-node hire reported by a peer (after its outcome_received), introduction_id is
// the handoff id (h_...) the peer's introduction went through.
Event hire_attributed(std::string_view introduction_id, const std::vector<std::string>& referrers);
// {"handoff","peer","outcome","reason"}: the holding node received, from the peer that asked
// for handoff_id, an outcome of that cross-node introduction (one of introduction_outcome's
// outcomes; reason a coarse code for left, else ""). At most one per (peer, handoff, outcome);
// ids and codes only.
Event outcome_received(std::string_view handoff_id, std::string_view peer_name,
                       std::string_view outcome, std::string_view reason_code);

// Settlement (issue 15, protocol/settlement.hpp). {"handoff","peer","owed_by","evidence"}: the
// cross-node introduction through handoff_id was delivered, so one introduction is owed:
// owed_by "self" (this node's member asked; evidence is the holding peer's handoff.deliver
// signature) or "peer" (this node held the candidate; evidence is the peer's signed receipt).
Event obligation_recorded(std::string_view handoff_id, std::string_view peer_name,
                          bool owed_by_self, std::string_view evidence_signature);
// {"statement","peer","role","period","until_ms","items","disputed","net","statement_signature",
// "countersignature"}: the statement with `peer` (role: this node's, "proposer" or
// "counterparty") was countersigned. items are all the statement's items and disputed the ones
// the counterparty named (they stay open and roll into the next statement); net is this node's
// position: agreed items owed to it minus those it owes. Both documents of
// protocol/settlement.hpp can be rebuilt from these fields and the two node names.
Event settlement_agreed(const settlement::Statement& statement, std::string_view peer_name,
                        bool proposer, const std::vector<settlement::Dispute>& disputed,
                        std::string_view statement_signature, std::string_view countersignature);

}  // namespace relay::protocol
