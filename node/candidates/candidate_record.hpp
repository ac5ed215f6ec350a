#pragma once
// One candidate record: what this node holds about one person, and the one owner of every
// change to it. Federation and services call its methods (add_disclosure, mark_receipt,
// request_erasure, ...); only candidate_store.cpp reads or writes its stored form.
//
// Stored form (the `candidates` database, id -> JSON; stored_text/from_stored), unchanged from
// the untyped record so existing data reads as before:
//   {id, pseudonym, status: "pending"|"active"|"erased", created_ms, verified_ms, consent,
//    origin: "local" | the peer node it came from,
//    intake?: {day, form, links?: {referral id: expires_ms}, mails}
//                                                           -- local records, once intake
//                                                              counted a mail or saw a nonce
//    tokens: [digest], spool: [spool file id], slot: the key's slot in key_slots.hpp,
//    data: sealed {personal, profile}, evidence?: sealed signed plaintext
//                                                           -- while not erased
//    key?: the key wrapped by keys/data.key                 -- records written before key
//                                                              slots, until Store::migrate
//    handoff, member, expires_ms                            -- received records (origin != local)
//    erased_ms                                              -- tombstones (status erased)
//    disclosures?: [{handoff, company, node, region, at_ms, consent_version, erasure: "",
//                    receipt_ms?}]                          -- when not empty
//    erasure?: {requested_ms, requests: [{handoff, peer, company, requested_ms, confirmed_ms,
//               overdue, receipt_signature?, reason?, outcome?}]}
//                                                -- once erasure (or deletion on withdrawal) was
//                                                   requested
//    withdrawn_ms?                               -- withdrew consent (until consenting again)
//    link?                                       -- the management link's generation, once
//                                                   replaced (kept in tombstones)
// No plaintext personal data: that is sealed under the candidate's own key (vault.hpp).
//
// Invariant: a record is erased (a tombstone) iff it has no key slot, wrapped key, data,
// tokens or spool files; disclosures are keyed by handoff; erasure requests by (handoff, peer,
// reason), at most one waiting for its receipt at a time.
// Threads: a value; not shared between threads.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/candidates/consent.hpp"

namespace relay::node::candidates {

enum class Status { pending, active, erased };
std::string_view to_string(Status s);

// A disclosure of a local candidate's personal data to a peer node through a handoff (who
// received it, when, under which consent: APPI Art. 29/30).
struct Disclosure {
  std::string handoff;  // the requesting node's handoff id
  std::string company;
  std::string node;  // the recipient node
  std::string region;
  std::int64_t at_ms = 0;  // when the candidate accepted and the delivery was queued
  std::string consent_version;
  std::string erasure;                     // always "" (kept: stored records carry it)
  std::optional<std::int64_t> receipt_ms;  // the recipient's signed receipt arrived

  nlohmann::json to_json() const;
};

// An erasure request sent to one recipient of a disclosure, and its progress.
struct ErasureRequest {
  std::string handoff;
  std::string peer;
  std::string company;
  std::int64_t requested_ms = 0;
  std::int64_t confirmed_ms = 0;  // 0 while waiting
  bool overdue = false;
  std::string receipt_signature;  // base64 signature of the recipient's receipt, once confirmed
  std::string reason;             // "" for erasure, "withdrawn" when the candidate withdrew consent
  std::string outcome;            // the receipt's status: "erased", "already_erased", "not_held" or
                                  // "kept_hired" (a withdrawal the recipient may refuse for a hire)
};

// What intake (referrals/intake.hpp) remembers of a person between registrations: the
// confirmation mails counted on one day, the hash of the last form's nonce, and until when
// each confirmation link mailed works. None of it is personal data.
struct IntakeState {
  std::int64_t day = -1;  // days since the epoch of the mails counted; -1: none yet
  std::int64_t mails = 0;
  std::string form;  // hex SHA-256 of the last form nonce; "" when none came with one
  // By referral id: until when (ms) its confirmation link works. The link itself is the
  // record's id and a keyed MAC (Store::record_link), so it needs no entry of its own; kept
  // after the link was used (the referral then says so), gone with erasure.
  std::map<std::string, std::int64_t> links;
  bool operator==(const IntakeState&) const = default;
  // From {day, form, links?, mails}, as the record stores it and the older token entry held
  // it (with no links).
  static IntakeState from_json(const nlohmann::json& j);
};

// What a received record (origin != "local") knows of the handoff that brought it.
struct Received {
  std::string handoff;
  std::string member;  // who asked for it
  std::int64_t expires_ms = 0;
};

class CandidateRecord {
 public:
  std::string id;
  std::string pseudonym;  // hex keyed digest of the normalised email
  Status status = Status::pending;
  std::int64_t created_ms = 0;
  std::int64_t verified_ms = 0;
  Consent consent;
  std::string origin = "local";  // "local", or the peer node it came from (federation)
  // The language the candidate registered in ("ja" or "en"): every mail and link to them
  // keeps it. Not personal data; stored only when "en" (older records read as "ja").
  std::string lang = "ja";
  // Kept in the record, which a registration saves anyway, rather than in an entry of its own
  // keyed at random (issue 19). nullopt: none stored, as in records from before, whose
  // state is in a candidate_tokens entry (Intake reads it there). Gone with erasure.
  std::optional<IntakeState> intake;
  // How many times the candidate replaced their management link (a leaked link stops working
  // once replaced): the link's MAC covers it (Store::management_link). Stored only when above
  // 0, and kept in the tombstone, whose link shows the erasure's progress.
  std::uint32_t link_generation = 0;

  // In the region's pool: active, registered here (not received from a peer) and consenting to
  // be shown to the region's members. What pool searches list, alumni pages show and a
  // member may introduce.
  bool in_regional_pool() const {
    return status == Status::active && origin == "local" && consent.region;
  }

  // Who received this candidate's data, in the order of acceptance.
  const std::vector<Disclosure>& disclosures() const { return disclosures_; }
  // Records a disclosure (replacing one for the same handoff).
  void add_disclosure(Disclosure disclosure);
  // Removes the disclosure of a delivery that never left; false if there was none.
  bool remove_disclosure(const std::string& handoff);
  // The recipient's receipt for handoff arrived at at_ms; false if there is no disclosure.
  bool mark_receipt(const std::string& handoff, std::int64_t at_ms);

  // Whether erasure (or deletion on withdrawal) was ever requested from the recipients.
  bool erasure_requested() const { return erasure_requested_ms_.has_value(); }
  const std::vector<ErasureRequest>& erasure_requests() const { return erasure_requests_; }
  // The sealed {personal, profile} (ciphertext under the record's key; empty once erased):
  // two equal texts open to the same data.
  const std::string& sealed_data() const { return sealed_data_; }
  // Digests of the capability tokens issued for this record (empty once erased).
  const std::vector<std::string>& tokens() const { return tokens_; }
  // Asks every recipient of a disclosure not asked yet: returns the new requests (the caller
  // sends them). Incremental: a disclosure added later gets its request on the next call.
  // reason "withdrawn" asks for deletion on withdrawal; an erasure ("") also asks again a
  // recipient that kept the data for a hire when the candidate only withdrew.
  std::vector<ErasureRequest> request_erasure(std::int64_t now_ms, std::string_view reason = {});
  // The recipient's signed receipt (its status: outcome) for the request (handoff, peer) that
  // waits for one; false if there is none.
  bool confirm_erasure(const std::string& handoff, const std::string& peer, std::int64_t at_ms,
                       const std::string& receipt_signature, const std::string& outcome);

  // The candidate withdrew every consent at withdrawn_ms() (0: has not, or consented again
  // since): recipients are asked to delete, and a delivery that was already on the wire is
  // asked too when its receipt arrives.
  std::int64_t withdrawn_ms() const { return withdrawn_ms_; }
  void mark_withdrawn(std::int64_t now_ms) { withdrawn_ms_ = now_ms; }
  void clear_withdrawn() { withdrawn_ms_ = 0; }
  // The request (handoff, peer) passed its deadline; false if there is no such request.
  bool mark_erasure_overdue(const std::string& handoff, const std::string& peer);

  // When the record was erased; 0 unless a tombstone.
  std::int64_t erased_ms() const { return erased_ms_; }
  // The handoff that brought a received record; nullopt for local ones.
  const std::optional<Received>& received() const { return received_; }

 private:
  friend class Store;
  friend std::string stored_text(const CandidateRecord& record);
  friend CandidateRecord from_stored(const nlohmann::json& j);

  // Sealed parts (vault.hpp), all empty once erased.
  std::optional<std::uint32_t> key_slot_;  // key_slots.hpp
  std::string wrapped_key_;                // legacy (before key slots): migrated at start
  std::string sealed_data_;
  std::string sealed_evidence_;      // received records only
  std::vector<std::string> tokens_;  // digests of capability tokens issued
  std::vector<std::string> spool_;   // spool file ids of mail sent (erasure deletes them)

  std::optional<Received> received_;
  std::vector<Disclosure> disclosures_;
  std::optional<std::int64_t> erasure_requested_ms_;
  std::vector<ErasureRequest> erasure_requests_;
  std::int64_t erased_ms_ = 0;
  std::int64_t withdrawn_ms_ = 0;
};

// The stored form (see above): stored_text is what Store::save writes, to_stored the same
// parsed. from_stored throws nlohmann::json::exception on a record that is not of this form
// (the store is damaged).
std::string stored_text(const CandidateRecord& record);
nlohmann::json to_stored(const CandidateRecord& record);
CandidateRecord from_stored(const nlohmann::json& j);

}  // namespace relay::node::candidates
