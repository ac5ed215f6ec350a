#pragma once
// Candidate records, their personal data sealed under per-candidate keys (vault.hpp), their
// capability tokens, and the mail queued to them.
//
// Databases:
//   candidates            id -> the record's stored form (candidate_record.hpp: status,
//                         pseudonym, key slot, sealed data, consent, spool file ids,
//                         disclosures, erasure requests); no plaintext personal data
//   candidate_pseudonyms  pseudonym -> id of the live (not erased) record for that person;
//                         and pseudonym "/" member -> that member's referral of the person
//                         (written by referral.hpp: next to the person's own key, so that a
//                         new person's registration dirties one page of this index, not a
//                         page here and one of another index keyed by pseudonym)
//   candidate_tokens      token digest -> {"candidate": id, "kind", "extra"}: the capability
//                         tokens older versions issued ("manage", "verify", "verified",
//                         "form", "intake"), read and never issued now; "erased" when such a
//                         management link's record is erased. Links are record_links now
//                         (confirmation, management), with no entry at all
//   mail_queue            8-byte sequence + random suffix -> candidate id, attempts, next
//                         try and the sealed {from,to,subject,body} (mail_entry.hpp), indexed
//                         by candidate and by when due (mail_queue.hpp)
//   candidates_awaiting_receipt  id -> "" for each record with an erasure request neither
//                         receipted nor overdue: the retention sweep reads these, not every
//                         record (written by save(); built once for older data directories)
//   candidates_pending    id -> "" for each pending record (registered, not confirmed): what
//                         PendingExpiry reads each minute instead of every record (the same)
//   candidate_spool       id || 0x00 || spool file id -> "" for each mail spooled to the
//                         candidate: erasure deletes the files. Recording a spooled mail is
//                         then one small put, not a rewrite of the whole record (issue 19:
//                         8% of the writer's time in registrations). Records spooled to by
//                         older versions list their files in the record itself.
//   key_slots             which slots of <data_dir>/candidate_keys are taken (key_slots.hpp):
//                         every candidate's key lives there, outside LMDB, so erasure can
//                         overwrite it; everything sealed under it is unreadable afterwards
// A candidate is identified across referrals by a keyed pseudonym of their normalised email,
// so the same person referred by many members is one record and counts once per member.
//
// Threads: mutating calls inside Writer requests; reads with any txn.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "node/candidates/candidate_mail.hpp"
#include "node/candidates/candidate_record.hpp"
#include "node/candidates/key_slots.hpp"
#include "node/candidates/mail_queue.hpp"
#include "node/candidates/record_cache.hpp"
#include "node/candidates/registration_form.hpp"
#include "node/common/clock.hpp"
#include "node/identity/key_ring.hpp"
#include "node/mail/mailer.hpp"
#include "node/storage/environment.hpp"

namespace relay::node::candidates {

// The database keyed by pseudonym (above); open it with Environment::database(kPseudonyms).
inline constexpr const char* kPseudonyms = "candidate_pseudonyms";

struct Opened {
  PersonalData personal;
  Profile profile;
};

struct QueuedMail {
  std::string seq;  // storage key
  std::string candidate_id;
  mail::Mail mail;
  std::uint32_t attempts = 0;    // delivery attempts started so far
  std::int64_t queued_ms = 0;    // when it was queued
  std::int64_t next_try_ms = 0;  // when it was due again after its last attempt (0: none)
};

class Store {
 public:
  // Keys in <the environment's parent directory>/candidate_keys (the data directory).
  Store(storage::Environment& env, const identity::KeyRing& keys, const common::Clock& clock);
  Store(storage::Environment& env, const identity::KeyRing& keys, const common::Clock& clock,
        const std::filesystem::path& key_file);

  KeySlots& key_slots() { return slots_; }
  const KeySlots& key_slots() const { return slots_; }

  // At start-up, before the Writer runs: recover() the key slots, migrate, retire the old data
  // key; logs what it did. Returns live_in_journal(): the node erases them again before
  // serving. Throws if the key file cannot be written.
  std::vector<std::string> start_up(const std::filesystem::path& data_key_file);
  // Records the erasure journal (key_slots.hpp) names that are not erased here: a backup from
  // before their erasure was restored.
  std::vector<std::string> live_in_journal() const;
  // Offline (restore): releases the key slot of every journaled record still live, so the
  // restored directory holds no key of theirs even before the node first starts (then
  // start_up's list erases the records themselves). Commit with key_slots().commit.
  std::size_t shred_journaled(storage::WriteTxn& txn);

  // Records written before key slots kept their key wrapped by keys/data.key in the record
  // (and so in every old copy of it in LMDB's free pages). Moves each into a slot under a
  // fresh key, resealing its data, evidence and queued mail; returns how many. Call at start,
  // then retire_data_key.
  std::size_t migrate(storage::WriteTxn& txn);
  // After a migration committed: overwrites keys/data.key with random bytes, so no old copy
  // of a wrapped key opens any more. False if there was nothing to retire. Not from a request.
  bool retire_data_key(const std::filesystem::path& key_file);

  // Seals / opens a value under the record's key (circulating profiles, profile_exchange.hpp);
  // nullopt once erased.
  std::optional<std::string> seal_for(const CandidateRecord& record, const nlohmann::json& value,
                                      const std::string& purpose) const;
  std::optional<nlohmann::json> open_for(const CandidateRecord& record, const std::string& sealed,
                                         const std::string& purpose) const;

  std::string pseudonym_of(const std::string& normalised_email) const;

  // Creates and saves a pending record for a new person; returns it.
  CandidateRecord create(storage::WriteTxn& txn, const Registration& registration,
                         const std::string& pseudonym);
  // create() without the save: the caller (intake) adds its tokens and saves the record once,
  // in the same txn. Each save writes the record whole.
  CandidateRecord create_unsaved(storage::WriteTxn& txn, const Registration& registration,
                                 const std::string& pseudonym);
  std::optional<CandidateRecord> find(const storage::Txn& txn, const std::string& id) const;
  std::optional<CandidateRecord> find_by_pseudonym(const storage::Txn& txn,
                                                   const std::string& pseudonym) const;
  // `opened`: the profile the caller opened from, or sealed into, this record's sealed data
  // (a confirmation, update_data), when it has one; passed on to the hook below.
  void save(storage::WriteTxn& txn, const CandidateRecord& record, const Profile* opened = nullptr);
  // `saved(record, opened)` is called in save()'s txn, on the writer thread, for every record
  // written (a request that is rolled back afterwards included): how the pool index
  // (federation/pool_index.hpp) learns what changed, and, with `opened`, what the record holds
  // without opening it again. Set while wiring, before any write.
  void on_saved(std::function<void(const CandidateRecord& record, const Profile* opened)> saved) {
    saved_ = std::move(saved);
  }
  // How many records there are (tombstones included): one look at the database's header.
  std::size_t count(const storage::Txn& txn) const;
  // Calls fn(record) for every record (tombstones included), in id order; fn returns false
  // to stop.
  // From the record whose id is `from` (or the next one) when given.
  void for_each(const storage::Txn& txn, const std::function<bool(const CandidateRecord&)>& fn,
                std::string_view from = {}) const;
  // The records with an erasure request neither receipted nor overdue (the index above).
  std::vector<CandidateRecord> awaiting_receipt(const storage::Txn& txn) const;
  // The pending records (registered, not confirmed yet), from their index. With
  // created_before_ms, the records whose id says they were created at or after it are left
  // out unread (ids from before ids carried their creation time are always read).
  std::vector<CandidateRecord> pending(
      const storage::Txn& txn,
      std::int64_t created_before_ms = std::numeric_limits<std::int64_t>::max()) const;
  // At start-up: builds candidates_awaiting_receipt and candidates_pending once for a data
  // directory that predates them; returns how many records it indexed.
  std::size_t index_existing(storage::WriteTxn& txn);

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
  // open(), then queue_mail() of the mail `compose` makes from what was opened (none if it
  // gives nullopt), under the key read once from its slot: a confirmation mails the address it
  // opens, and a slot read is a pread and a MAC check.
  std::optional<Opened> open_and_mail(
      storage::WriteTxn& txn, const CandidateRecord& record,
      const std::function<std::optional<mail::Mail>(const Opened&)>& compose);
  // open_and_mail of a mail that carries the person's current management link: `text` gets
  // the record's language and the link as an absolute URL (`public_url` in front of its path),
  // and the mail goes from `from` to the address the record holds. nullopt (nothing queued)
  // if the record's key is gone.
  std::optional<Opened> mail_management_link(
      storage::WriteTxn& txn, const CandidateRecord& record, const std::string& public_url,
      const std::string& from, const std::function<MailText(Lang, const std::string&)>& text);

  // Capability tokens stored as keyed digests, which older versions issued: read, and
  // bound to a new kind.
  struct TokenInfo {
    std::string digest;
    std::string candidate_id;
    std::string kind;
    nlohmann::json extra;
  };
  std::optional<TokenInfo> lookup_token(const storage::Txn& txn, std::string_view token,
                                        const std::string& kind) const;
  // Binds a token the candidate already holds to a new kind: after erasure, an older
  // management link keeps showing the erasure's status ("erased"). Older versions bound used
  // confirmation links ("verified"), form nonces ("form") and stable_tokens too. Binding a
  // token listed on the record already does not list it again.
  void bind_token(storage::WriteTxn& txn, std::string_view token, const std::string& candidate_id,
                  const std::string& kind, const nlohmann::json& extra = nlohmann::json::object());
  // The same token every time for (candidate, purpose): a keyed hash under the token key, as
  // unguessable as a random one (record_link's MAC; older versions bound it as an entry).
  std::string stable_token(const std::string& candidate_id, std::string_view purpose) const;
  // A link token that needs no entry at all: the record's id, '.', then stable_token(id,
  // purpose). Whoever reads one finds the record by its id and checks the MAC for the
  // purpose it expects (is_record_link). Links used to be entries keyed by their digest, so
  // at random: one more page copied at each commit of a registration (issue 19).
  std::string record_link(const std::string& candidate_id, std::string_view purpose) const;
  // The id a record_link names (nullopt for any other token), not yet checked.
  static std::optional<std::string> record_link_id(std::string_view token);
  // Whether token is record_link(candidate_id, purpose), compared in constant time.
  bool is_record_link(std::string_view token, const std::string& candidate_id,
                      std::string_view purpose) const;
  // The two links the node mails, named here so that writers and readers agree on their
  // purpose: a person's management link (/r/m/, read by find_managed), and the confirmation
  // link of one of their referrals (/r/v/, listed in the intake state). The management link
  // is the record's current one: replacing it (record.link_generation) ends the one before.
  std::string management_link(const CandidateRecord& record) const;
  std::string confirmation_link(const std::string& candidate_id,
                                const std::string& referral_id) const;
  bool is_confirmation_link(std::string_view token, const std::string& candidate_id,
                            const std::string& referral_id) const;
  // Replaces the record's management link, in memory (the caller saves the record): the
  // link before it stops opening the record, and so does a management token an older version
  // issued. Not for a tombstone.
  void replace_management_link(storage::WriteTxn& txn, CandidateRecord& record);
  // The record a management link names, erased or not: its current management_link, or a
  // token an older version issued ("manage"; "erased" once its record was erased).
  std::optional<CandidateRecord> find_managed(const storage::Txn& txn,
                                              std::string_view token) const;
  // bind_token for a record the caller holds and saves afterwards: the digest is listed on
  // `record` in memory only; true if it listed it (the record changed).
  bool bind_token_to(storage::WriteTxn& txn, std::string_view token, CandidateRecord& record,
                     const std::string& kind,
                     const nlohmann::json& extra = nlohmann::json::object());

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
  // Undoes mail_attempt for a mail not tried after all: its count and due time as read in q.
  bool mail_untried(storage::WriteTxn& txn, const QueuedMail& q);
  // Records that queued mail `seq` was delivered: spooled as `spool_id` (kept so that erasure
  // can remove it) or, with an empty id, handed to an SMTP server. False if the mail left the
  // queue meanwhile (its candidate was erased, or it was dropped): the caller must discard the
  // spool file.
  bool mail_spooled(storage::WriteTxn& txn, const std::string& seq, const std::string& candidate_id,
                    const std::string& spool_id);
  // Removes queued mail (unreadable, or given up); false if it was gone already.
  bool drop_mail(storage::WriteTxn& txn, const std::string& seq);

  // Crypto-shreds the candidate: the key's slot is released (zeroed after the commit, before
  // the erasure is acknowledged), sealed data deleted, tokens and queued mail removed, the
  // pseudonym released. Returns the spool file ids to discard
  // (after the commit). The record stays as a tombstone (id, pseudonym, status erased).
  std::vector<std::string> erase(storage::WriteTxn& txn, CandidateRecord& record);

 private:
  std::optional<crypto::AeadKey> key_of(const CandidateRecord& record) const;
  // open() and queue_mail() with the record's key in hand.
  static std::optional<Opened> open_with(const crypto::AeadKey& key, const CandidateRecord& record);
  void queue_with(storage::WriteTxn& txn, const crypto::AeadKey& key, const CandidateRecord& record,
                  const mail::Mail& mail);
  // Writes the token's binding; returns its digest (what the record lists).
  std::string put_token(storage::WriteTxn& txn, std::string_view token,
                        const std::string& candidate_id, const std::string& kind,
                        const nlohmann::json& extra);

  const identity::KeyRing& keys_;
  const common::Clock& clock_;
  storage::Environment& slots_env_;
  KeySlots slots_;
  bool legacy_keys_ = true;  // keys wrapped by data.key still open (until start_up)
  storage::Database candidates_;
  storage::Database pseudonyms_;
  storage::Database tokens_;
  MailQueue queue_;
  storage::Database awaiting_receipt_;
  storage::Database pending_;
  storage::Database spool_;
  storage::Database index_marks_;
  std::function<void(const CandidateRecord& record, const Profile* opened)> saved_;
  mutable RecordCache parsed_;  // what find() parsed and save() wrote, by id
};

}  // namespace relay::node::candidates
