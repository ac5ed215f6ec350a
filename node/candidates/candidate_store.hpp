#pragma once
// Candidate records, their personal data sealed under per-candidate keys (vault.hpp), their
// capability tokens, and the mail queued to them.
//
// Databases:
//   candidates            id -> the record's stored form (candidate_record.hpp: status,
//                         pseudonym, wrapped key, sealed data, consent, spool file ids,
//                         disclosures, erasure requests); no plaintext personal data
//   candidate_pseudonyms  pseudonym -> id of the live (not erased) record for that person
//   candidate_tokens      token digest -> {"candidate": id, "kind": "manage"|"verify", ...}
//   mail_queue            8-byte sequence -> {"candidate": id, "mail": sealed {to,subject,body}}
// A candidate is identified across referrals by a keyed pseudonym of their normalised email,
// so the same person referred by many members is one record and counts once per member.
//
// Threads: mutating calls inside Writer requests; reads with any txn.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "node/candidates/candidate_record.hpp"
#include "node/candidates/registration_form.hpp"
#include "node/common/clock.hpp"
#include "node/identity/key_ring.hpp"
#include "node/mail/mailer.hpp"
#include "node/storage/environment.hpp"

namespace relay::node::candidates {

struct Opened {
  PersonalData personal;
  Profile profile;
};

struct QueuedMail {
  std::string seq;  // storage key
  std::string candidate_id;
  mail::Mail mail;
  std::uint32_t attempts = 0;  // delivery attempts started so far
  std::int64_t queued_ms = 0;  // when it was queued
};

class Store {
 public:
  Store(storage::Environment& env, const identity::KeyRing& keys, const common::Clock& clock);

  std::string pseudonym_of(const std::string& normalised_email) const;

  // Creates a pending record for a new person; returns it.
  CandidateRecord create(storage::WriteTxn& txn, const Registration& registration,
                         const std::string& pseudonym);
  std::optional<CandidateRecord> find(const storage::Txn& txn, const std::string& id) const;
  std::optional<CandidateRecord> find_by_pseudonym(const storage::Txn& txn,
                                                   const std::string& pseudonym) const;
  void save(storage::WriteTxn& txn, const CandidateRecord& record);
  // Calls fn(record) for every record (tombstones included), in id order; fn returns false
  // to stop.
  void for_each(const storage::Txn& txn,
                const std::function<bool(const CandidateRecord&)>& fn) const;

  // Creates an active record for a candidate handed over by peer node `origin` (federation):
  // personal data, profile and `evidence` (the sender's signed plaintext, which holds the
  // personal data too) sealed under a new per-candidate key. Not indexed by pseudonym: it is
  // not a registration at this node and never circulates. `received` names the handoff.
  CandidateRecord create_received(storage::WriteTxn& txn, const std::string& origin,
                                  const Opened& data, const std::string& evidence,
                                  const Consent& consent, const Received& received);
  // The evidence kept by create_received; nullopt once erased.
  std::optional<std::string> open_evidence(const CandidateRecord& record) const;
  // The received record that handoff brought; nullopt if none, or erased (a tombstone keeps
  // no handoff). Scans every record: for operator commands, not for requests.
  std::optional<CandidateRecord> find_received(const storage::Txn& txn,
                                               const std::string& handoff) const;

  // Replaces the sealed personal data and profile of a live record (the candidate edited
  // them, or registered again before confirming); the key stays.
  void update_data(storage::WriteTxn& txn, CandidateRecord& record, const PersonalData& personal,
                   const Profile& profile);
  // Decrypts personal data and profile; nullopt once erased.
  std::optional<Opened> open(const CandidateRecord& record) const;

  // Capability tokens: returns the token (only its digest is stored).
  std::string issue_token(storage::WriteTxn& txn, const std::string& candidate_id,
                          const std::string& kind,
                          const nlohmann::json& extra = nlohmann::json::object());
  struct TokenInfo {
    std::string digest;
    std::string candidate_id;
    std::string kind;
    nlohmann::json extra;
  };
  std::optional<TokenInfo> lookup_token(const storage::Txn& txn, std::string_view token,
                                        const std::string& kind) const;
  void revoke_token(storage::WriteTxn& txn, const std::string& digest);
  // Binds a token the candidate already holds to a new kind (after erasure, their
  // management link keeps showing the erasure's status: "erased"; a used confirmation link
  // says it was used: "verified"; a registration form's nonce: "form"), or a stable_token.
  // Binding a token listed on the record already does not list it again.
  void bind_token(storage::WriteTxn& txn, std::string_view token, const std::string& candidate_id,
                  const std::string& kind, const nlohmann::json& extra = nlohmann::json::object());
  // The same token every time for (candidate, purpose): a keyed hash under the token key, as
  // unguessable as a random one. Bound with bind_token, asking again reuses the entry, so a
  // repeated request (a registration sent again) re-mails the same link instead of growing
  // the record by a token each time.
  std::string stable_token(const std::string& candidate_id, std::string_view purpose) const;

  // Queues mail to the candidate, sealed under their key; the dispatcher spools it after
  // the commit. Erasure makes queued mail unreadable and drops it.
  void queue_mail(storage::WriteTxn& txn, const CandidateRecord& record, const mail::Mail& mail);
  // Queued mail in queue order; with `due_at_ms`, only mail whose next attempt is due then.
  std::vector<QueuedMail> queued_mail(const storage::Txn& txn, std::size_t limit,
                                      std::optional<std::int64_t> due_at_ms = std::nullopt) const;
  // How many messages wait in the queue (opens none of them: for metrics and status).
  std::size_t queued_mail_count(const storage::Txn& txn) const;
  // Records, before a delivery attempt, that it starts and when the next one is due should
  // this one fail or never finish (a crash). False if the mail is gone (erased): do not send.
  bool mail_attempt(storage::WriteTxn& txn, const std::string& seq, std::int64_t next_try_ms);
  // Records that queued mail `seq` was delivered: spooled as `spool_id` (kept so that erasure
  // can remove it) or, with an empty id, handed to an SMTP server. False if the candidate was
  // erased meanwhile: the caller must discard the spool file.
  bool mail_spooled(storage::WriteTxn& txn, const std::string& seq, const std::string& candidate_id,
                    const std::string& spool_id);
  // Removes queued mail (unreadable, or given up); false if it was gone already.
  bool drop_mail(storage::WriteTxn& txn, const std::string& seq);

  // Crypto-shreds the candidate: the wrapped key and sealed data are deleted, tokens and
  // queued mail removed, the pseudonym released. Returns the spool file ids to discard
  // (after the commit). The record stays as a tombstone (id, pseudonym, status erased).
  std::vector<std::string> erase(storage::WriteTxn& txn, CandidateRecord& record);

 private:
  const identity::KeyRing& keys_;
  const common::Clock& clock_;
  storage::Database candidates_;
  storage::Database pseudonyms_;
  storage::Database tokens_;
  storage::Database mail_;
};

}  // namespace relay::node::candidates
