#include "protocol/event.hpp"

#include "crypto/bytes.hpp"

namespace relay::protocol {

namespace k = event_kind;

Event node_initialised(std::string_view region, std::uint32_t referrals_per_credit,
                       const crypto::Ed25519PublicKey& signing_key,
                       const crypto::X25519PublicKey& encryption_key) {
  return {std::string(k::node_initialised),
          {{"region", region},
           {"referrals_per_credit", referrals_per_credit},
           {"signing_key", crypto::to_base64(signing_key.bytes)},
           {"encryption_key", crypto::to_base64(encryption_key.bytes)}}};
}

Event member_admitted(std::string_view member_id, std::string_view company_name) {
  return {std::string(k::member_admitted), {{"member", member_id}, {"name", company_name}}};
}

Event member_suspended(std::string_view member_id) {
  return {std::string(k::member_suspended), {{"member", member_id}}};
}

Event member_reinstated(std::string_view member_id) {
  return {std::string(k::member_reinstated), {{"member", member_id}}};
}

Event referral_verified(std::string_view member_id, std::string_view referral_id,
                        std::string_view candidate_pseudonym, bool counted,
                        std::uint64_t counted_total, std::string_view referral_kind) {
  Event e{std::string(k::referral_verified),
          {{"member", member_id},
           {"referral", referral_id},
           {"candidate", candidate_pseudonym},
           {"counted", counted},
           {"counted_total", counted_total}}};
  // Rejection referrals keep the shape of every earlier log.
  if (!referral_kind.empty()) e.data["kind"] = referral_kind;
  return e;
}

Event alumni_credit_rule(bool alumni_count_toward_credits) {
  return {std::string(k::alumni_credit_rule),
          {{"alumni_count_toward_credits", alumni_count_toward_credits}}};
}

Event referral_hold_rule(std::uint32_t holding_days) {
  return {std::string(k::referral_hold_rule), {{"holding_days", holding_days}}};
}

Event referral_held(std::string_view member_id, std::string_view referral_id,
                    std::string_view candidate_pseudonym, std::int64_t until_ms,
                    std::string_view referral_kind) {
  Event e{std::string(k::referral_held),
          {{"member", member_id},
           {"referral", referral_id},
           {"candidate", candidate_pseudonym},
           {"until", until_ms}}};
  if (!referral_kind.empty()) e.data["kind"] = referral_kind;
  return e;
}

Event referral_flagged(std::string_view member_id, std::string_view referral_id,
                       const std::vector<std::string>& reasons) {
  return {std::string(k::referral_flagged),
          {{"member", member_id}, {"referral", referral_id}, {"reasons", reasons}}};
}

Event referral_accepted(std::string_view member_id, std::string_view referral_id) {
  return {std::string(k::referral_accepted), {{"member", member_id}, {"referral", referral_id}}};
}

Event referral_rejected(std::string_view member_id, std::string_view referral_id) {
  return {std::string(k::referral_rejected), {{"member", member_id}, {"referral", referral_id}}};
}

Event referral_counted(std::string_view member_id, std::string_view referral_id,
                       std::string_view candidate_pseudonym, std::uint64_t counted_total) {
  return {std::string(k::referral_counted),
          {{"member", member_id},
           {"referral", referral_id},
           {"candidate", candidate_pseudonym},
           {"counted_total", counted_total}}};
}

Event referral_dropped(std::string_view member_id, std::string_view referral_id,
                       std::string_view reason) {
  return {std::string(k::referral_dropped),
          {{"member", member_id}, {"referral", referral_id}, {"reason", reason}}};
}

bool is_flag_reason(std::string_view reason) {
  namespace f = flag_reason;
  return reason == f::disposable_domain || reason == f::velocity || reason == f::same_domain ||
         reason == f::similar_addresses;
}

bool is_drop_reason(std::string_view reason) {
  namespace d = drop_reason;
  return reason == d::withdrawn || reason == d::erased || reason == d::member_suspended;
}

Event credit_minted(std::string_view member_id, std::uint64_t minted_total, std::int64_t balance) {
  return {std::string(k::credit_minted),
          {{"member", member_id}, {"minted_total", minted_total}, {"balance", balance}}};
}

Event credit_spent(std::string_view member_id, std::string_view introduction_id,
                   std::int64_t balance) {
  return {std::string(k::credit_spent),
          {{"member", member_id}, {"introduction", introduction_id}, {"balance", balance}}};
}

Event credit_refunded(std::string_view member_id, std::string_view introduction_id,
                      std::string_view reason, std::int64_t balance) {
  return {std::string(k::credit_refunded),
          {{"member", member_id},
           {"introduction", introduction_id},
           {"reason", reason},
           {"balance", balance}}};
}

Event credit_granted(std::string_view member_id, std::uint64_t credits, std::string_view reason,
                     std::int64_t balance) {
  return {std::string(k::credit_granted),
          {{"member", member_id}, {"credits", credits}, {"reason", reason}, {"balance", balance}}};
}

bool is_refund_reason(std::string_view reason) {
  namespace r = refund_reason;
  return reason == r::declined || reason == r::expired || reason == r::withdrawn ||
         reason == r::erased || reason == r::undelivered;
}

namespace {
nlohmann::json requisition_fields(std::string_view member_id, std::string_view requisition_id,
                                  std::string_view kind, std::string_view category,
                                  std::string_view employment_type, std::uint32_t headcount) {
  return {{"member", member_id},  {"requisition", requisition_id},      {"kind", kind},
          {"category", category}, {"employment_type", employment_type}, {"headcount", headcount}};
}
}  // namespace

Event requisition_opened(std::string_view member_id, std::string_view requisition_id,
                         std::string_view kind, std::string_view category,
                         std::string_view employment_type, std::uint32_t headcount) {
  return {
      std::string(k::requisition_opened),
      requisition_fields(member_id, requisition_id, kind, category, employment_type, headcount)};
}

Event requisition_updated(std::string_view member_id, std::string_view requisition_id,
                          std::string_view kind, std::string_view category,
                          std::string_view employment_type, std::uint32_t headcount) {
  return {
      std::string(k::requisition_updated),
      requisition_fields(member_id, requisition_id, kind, category, employment_type, headcount)};
}

Event requisition_closed(std::string_view member_id, std::string_view requisition_id) {
  return {std::string(k::requisition_closed),
          {{"member", member_id}, {"requisition", requisition_id}}};
}

Event introduction_made(std::string_view introduction_id, std::string_view member_id,
                        std::string_view requisition_id, std::string_view holder,
                        std::string_view candidate_ref) {
  return {std::string(k::introduction_made),
          {{"introduction", introduction_id},
           {"member", member_id},
           {"requisition", requisition_id},
           {"holder", holder},
           {"candidate", candidate_ref}}};
}

Event introduction_outcome(std::string_view introduction_id, std::string_view member_id,
                           std::string_view outcome, std::string_view reason_code) {
  return {std::string(k::introduction_outcome),
          {{"introduction", introduction_id},
           {"member", member_id},
           {"outcome", outcome},
           {"reason", reason_code}}};
}

Event reemployment_reported(std::string_view candidate_pseudonym, std::string_view through_member) {
  return {std::string(k::reemployment_reported),
          {{"candidate", candidate_pseudonym}, {"through", through_member}}};
}

Event hire_attributed(std::string_view introduction_id, const std::vector<std::string>& referrers) {
  return {std::string(k::hire_attributed),
          {{"introduction", introduction_id}, {"referrers", referrers}}};
}

Event outcome_received(std::string_view handoff_id, std::string_view peer_name,
                       std::string_view outcome, std::string_view reason_code) {
  return {std::string(k::outcome_received),
          {{"handoff", handoff_id},
           {"peer", peer_name},
           {"outcome", outcome},
           {"reason", reason_code}}};
}

Event key_rotated(const crypto::Ed25519PublicKey& old_key, const crypto::Ed25519PublicKey& new_key,
                  const crypto::X25519PublicKey& new_encryption_key) {
  return {std::string(k::key_rotated),
          {{"old_key", old_key.fingerprint()},
           {"new_key", crypto::to_base64(new_key.bytes)},
           {"new_encryption_key", crypto::to_base64(new_encryption_key.bytes)}}};
}

Event candidate_erased(std::string_view candidate_pseudonym) {
  return {std::string(k::candidate_erased), {{"candidate", candidate_pseudonym}}};
}

Event credit_ratio_changed(std::uint32_t referrals_per_credit) {
  return {std::string(k::credit_ratio_changed), {{"referrals_per_credit", referrals_per_credit}}};
}

Event peer_added(std::string_view peer_name, std::string_view fingerprint) {
  return {std::string(k::peer_added), {{"peer", peer_name}, {"fingerprint", fingerprint}}};
}

Event peer_suspended(std::string_view peer_name) {
  return {std::string(k::peer_suspended), {{"peer", peer_name}}};
}

Event handoff_sent(std::string_view handoff_id, std::string_view peer_name,
                   std::string_view candidate_pseudonym) {
  return {std::string(k::handoff_sent),
          {{"handoff", handoff_id}, {"peer", peer_name}, {"candidate", candidate_pseudonym}}};
}

Event handoff_received(std::string_view handoff_id, std::string_view peer_name,
                       std::string_view member_id, std::string_view sender_signature,
                       std::string_view evidence_digest) {
  return {std::string(k::handoff_received),
          {{"handoff", handoff_id},
           {"peer", peer_name},
           {"member", member_id},
           {"sender_signature", sender_signature},
           {"evidence_digest", evidence_digest}}};
}

Event handoff_receipt(std::string_view handoff_id, std::string_view peer_name,
                      std::string_view receipt_signature, std::string_view evidence_digest) {
  return {std::string(k::handoff_receipt),
          {{"handoff", handoff_id},
           {"peer", peer_name},
           {"receipt_signature", receipt_signature},
           {"evidence_digest", evidence_digest}}};
}

Event erasure_requested(std::string_view candidate_pseudonym, std::string_view peer_name,
                        std::string_view handoff_id, std::string_view reason) {
  Event e{std::string(k::erasure_requested),
          {{"candidate", candidate_pseudonym}, {"peer", peer_name}, {"handoff", handoff_id}}};
  if (!reason.empty()) e.data["reason"] = reason;
  return e;
}

Event erasure_kept(std::string_view handoff_id, std::string_view peer_name,
                   std::string_view reason) {
  return {std::string(k::erasure_kept),
          {{"handoff", handoff_id}, {"peer", peer_name}, {"reason", reason}}};
}

Event erasure_completed(std::string_view handoff_id, std::string_view peer_name) {
  return {std::string(k::erasure_completed), {{"handoff", handoff_id}, {"peer", peer_name}}};
}

Event erasure_receipt(std::string_view handoff_id, std::string_view peer_name,
                      std::string_view receipt_signature, std::string_view status) {
  return {std::string(k::erasure_receipt),
          {{"handoff", handoff_id},
           {"peer", peer_name},
           {"receipt_signature", receipt_signature},
           {"status", status}}};
}

Event handoff_expired(std::string_view handoff_id, std::string_view peer_name) {
  return {std::string(k::handoff_expired), {{"handoff", handoff_id}, {"peer", peer_name}}};
}

Event hire_reported(std::string_view member_id, std::string_view handoff_id,
                    std::string_view peer_name) {
  return {std::string(k::hire_reported),
          {{"member", member_id}, {"handoff", handoff_id}, {"peer", peer_name}}};
}

Event obligation_recorded(std::string_view handoff_id, std::string_view peer_name,
                          bool owed_by_self, std::string_view evidence_signature) {
  return {std::string(k::obligation_recorded),
          {{"handoff", handoff_id},
           {"peer", peer_name},
           {"owed_by", owed_by_self ? "self" : "peer"},
           {"evidence", evidence_signature}}};
}

Event settlement_agreed(const settlement::Statement& statement, std::string_view peer_name,
                        bool proposer, const std::vector<settlement::Dispute>& disputed,
                        std::string_view statement_signature, std::string_view countersignature) {
  auto net = settlement::net_for_proposer(statement, disputed);
  return {std::string(k::settlement_agreed),
          {{"statement", statement.id},
           {"peer", peer_name},
           {"role", proposer ? "proposer" : "counterparty"},
           {"period", statement.period},
           {"until_ms", statement.until_ms},
           {"items", settlement::to_json(statement.items)},
           {"disputed", settlement::to_json(disputed)},
           {"net", proposer ? net : -net},
           {"statement_signature", statement_signature},
           {"countersignature", countersignature}}};
}

}  // namespace relay::protocol
