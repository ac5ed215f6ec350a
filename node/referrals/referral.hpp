#pragma once
// Referrals: one per (member, person). A referral is created pending when a candidate submits
// the registration form behind a member's relay link, and becomes verified when the candidate
// confirms their email (double opt-in). It counts toward credits only if it is the member's
// first verified referral of that person (keyed pseudonym) and the member is active.
//
// Databases: referrals (id -> record), member_referrals_by_time (member "/" 8-byte created_ms
// id -> '1' and the referral's member JSON: a member's referrals in the order made, as listed;
// it replaced member_referrals, member "/" id, which its one-time build empties),
// member_referral_counts (member -> 8-byte count of its referrals: referrals are never
// deleted, so create() adds one and a list's total is one read, not a walk of the member's
// entries), candidate_pseudonyms' pseudonym "/" member entries (-> the member's referral of
// that person; candidate_store.hpp: they replaced member_people, member "/" pseudonym, which
// a one-time build moves and empties), single_links (digest of a
// single-use link token -> {member, application_id, job_category, used}), alumni_links (digest of
// an alumni link token -> {member, departure_id, used}), member_alumni (member "/" candidate id
// -> referral id: the member's verified alumni), member_alumni_by_time (member "/" 8-byte
// verified_ms candidate id -> referral id: the same alumni in the order they confirmed, so that
// a page of them is read from where the last one ended).
//
// Alumni (退職者): a member invites people who are leaving it through an alumni link (static,
// or single use per departure). They register as rejected candidates do (same form, consent and
// double opt-in); their referral has kind "alumni", counts toward credits only if the operator
// configured it, and once verified marks them as alumni of that member (for re-hire, 再雇用).
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "node/common/clock.hpp"
#include "node/identity/key_ring.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/parse_cache.hpp"
#include "protocol/json_writer.hpp"

namespace relay::node::referrals {

enum class ReferralStatus { pending, verified };
// Stored and shown as "pending" | "verified".
NLOHMANN_JSON_SERIALIZE_ENUM(ReferralStatus, {{ReferralStatus::pending, "pending"},
                                              {ReferralStatus::verified, "verified"}})
// The same text, for records and replies written without a JSON tree.
inline const char* to_string(ReferralStatus s) {
  return s == ReferralStatus::verified ? "verified" : "pending";
}

struct Referral {
  std::string id;
  std::string member_id;
  std::string candidate_id;
  std::string pseudonym;
  ReferralStatus status = ReferralStatus::pending;
  bool counted = false;
  std::int64_t created_ms = 0;
  std::int64_t verified_ms = 0;
  std::string application_id;  // for single-use links from the ATS
  std::string job_category;
  std::string kind = "rejection";  // rejection | alumni
  // Where a verified referral stands in the holding period (hold.hpp): "" (not held: it
  // could not count, or it was verified before holds), "held", "review" (flagged: waits for
  // the operator), "counted", "rejected" (by the operator), "dropped" (withdrawn, erased or
  // the member suspended before the hold ended).
  std::string stage;
  std::int64_t hold_until_ms = 0;

  bool alumni() const { return kind == "alumni"; }
  // What the member sees: no candidate id or pseudonym, no personal data, not why a
  // referral is in review (the operator's business). write_member_json() is the definition
  // (lists of referrals are written as text); to_member_json() is the same object as a tree.
  void write_member_json(protocol::JsonWriter& w) const;
  nlohmann::json to_member_json() const;
};

// A single-use link handed to an ATS for one rejected application.
struct SingleUseLink {
  std::string digest;
  std::string member_id;
  std::string application_id;
  std::string job_category;
  bool used = false;
};

// An alumni link: static (departure_id empty: the member's one alumni link, never used up) or
// single use (one per departure, like a rejection link).
struct AlumniLink {
  std::string digest;
  std::string member_id;
  std::string departure_id;
  bool used = false;
  bool single_use() const { return !departure_id.empty(); }
};

class Referrals {
 public:
  Referrals(storage::Environment& env, const identity::KeyRing& keys, const common::Clock& clock);

  // The member's referral of this person, if any.
  std::optional<Referral> for_person(const storage::Txn& txn, const std::string& member_id,
                                     const std::string& pseudonym) const;
  Referral create(storage::WriteTxn& txn, const std::string& member_id,
                  const std::string& candidate_id, const std::string& pseudonym,
                  const std::string& application_id, const std::string& job_category,
                  const std::string& kind = "rejection");
  std::optional<Referral> find(const storage::Txn& txn, const std::string& id) const;
  void save(storage::WriteTxn& txn, const Referral& r);
  // Every referral of the member, in the order made.
  std::vector<Referral> for_member(const storage::Txn& txn, const std::string& member_id) const;
  // One page of the member's referrals in the order they were made: those after the referral
  // `after` (empty: from the first), at most `limit`, each passed to fn as the parse cache
  // holds it, with its write_member_json() text (neither copied; valid during the call), so a
  // list reply writes them as it goes. fn runs inside a scan of txn: it must not write to txn.
  // Returns whether others follow, or nullopt if `after` is not a referral of this member.
  // Reads only the page, not every referral. newest_first: the same, last made first.
  using EachReferral = std::function<void(const Referral&, std::string_view member_json)>;
  std::optional<bool> each_for_member(const storage::Txn& txn, const std::string& member_id,
                                      std::size_t limit, const std::string& after,
                                      const EachReferral& fn, bool newest_first = false) const;
  // The same page as the member sees it (GET /api/v1/referrals): each referral's id and
  // write_member_json() text, read from the index alone. member_referrals_by_time keeps that
  // text next to each key, and save() writes it in the same txn as the record, so it is the
  // record's in every snapshot; looking up each record was a third of a page's instructions.
  // An entry written before the text was kept (or by an older write_member_json) is looked up.
  using EachListed = std::function<void(std::string_view id, std::string_view member_json)>;
  std::optional<bool> each_listed(const storage::Txn& txn, const std::string& member_id,
                                  std::size_t limit, const std::string& after, const EachListed& fn,
                                  bool newest_first = false) const;
  // How many referrals the member has (all of them, whatever their status).
  std::uint64_t count_for_member(const storage::Txn& txn, const std::string& member_id) const;
  // At start-up, once per data directory from before member_referrals_by_time: writes its
  // entries, listings included, from the records, and empties member_referrals, the index by
  // id it replaced; once per directory from before member_referral_counts: counts each
  // member's entries. Returns how many entries and counts it wrote.
  std::size_t index_existing(storage::WriteTxn& txn);
  // In the background after start-up, until it returns 0: gives the next `at_most` entries of
  // member_referrals_by_time that lack their listing (written before the index kept one, or by
  // an older write_member_json) the record's, in the index's order. Each call is its own
  // txn's work, so a million referrals neither hold the writer long nor delay start-up (pages
  // look unlisted entries up meanwhile); where it got to is kept in index_marks, so a node
  // stopped halfway goes on from there. Returns how many entries it visited.
  std::size_t write_listings(storage::WriteTxn& txn, std::size_t at_most);
  // The candidate as the ledger names them in this referral's events: scoped to the member
  // (identity/scoped_pseudonym.hpp), so entries of two members never link one person.
  std::string ledger_pseudonym(const Referral& r) const;

  // Single-use links. The token is derived (keyed hash of member and application id), so an
  // ATS that retries gets the same link back; only its digest is stored.
  struct Issued {
    std::string token;
    bool used = false;
    bool created = false;  // issued now (not a repeat of an earlier request)
  };
  Issued issue_single_use(storage::WriteTxn& txn, const std::string& member_id,
                          const std::string& application_id, const std::string& job_category);
  std::optional<SingleUseLink> single_use(const storage::Txn& txn, std::string_view token) const;
  void mark_used(storage::WriteTxn& txn, const SingleUseLink& link);

  // Alumni links. Derived like single-use links (keyed hash of member and departure id; the
  // static link has an empty departure id), so a repeat returns the same link; only the digest
  // is stored. A single-use alumni link answers used once a registration used it.
  Issued issue_alumni_link(storage::WriteTxn& txn, const std::string& member_id,
                           const std::string& departure_id);
  std::optional<AlumniLink> alumni_link(const storage::Txn& txn, std::string_view token) const;
  void mark_used(storage::WriteTxn& txn, const AlumniLink& link);

  // The member's alumni: recorded when an alumni referral is verified.
  void add_alumnus(storage::WriteTxn& txn, const Referral& referral);
  bool is_alumnus(const storage::Txn& txn, const std::string& member_id,
                  const std::string& candidate_id) const;
  // The member's alumni as (candidate id, referral id), in key order.
  std::vector<std::pair<std::string, std::string>> alumni_of(const storage::Txn& txn,
                                                             const std::string& member_id) const;
  // fn(candidate id, verified_ms) for the member's alumni in the order they confirmed, from the
  // first confirmed at or after since_ms, while fn returns true.
  using EachAlumnus = std::function<bool(std::string_view candidate_id, std::int64_t verified_ms)>;
  void each_alumnus_since(const storage::Txn& txn, const std::string& member_id,
                          std::int64_t since_ms, const EachAlumnus& fn) const;

 private:
  // A parsed referral and its member JSON, written once per stored version: writing it for
  // every listing was a third of a GET /api/v1/referrals page's instructions (callgrind, 20
  // referrals a page, 3.5k instructions each).
  struct Parsed {
    Referral referral;
    std::string member_json;
  };
  static Parsed parsed(Referral r);
  // find(), shared from the parse cache rather than copied.
  std::shared_ptr<const Parsed> shared(const storage::Txn& txn, const std::string& id) const;
  // The page walk both each_ functions share: fn(id, value of the index entry) for each entry.
  using EachEntry = std::function<void(std::string_view id, std::string_view value)>;
  std::optional<bool> each_entry(const storage::Txn& txn, const std::string& member_id,
                                 std::size_t limit, const std::string& after, bool newest_first,
                                 const EachEntry& fn) const;

  const identity::KeyRing& keys_;
  const common::Clock& clock_;
  storage::Database referrals_;
  mutable storage::ParseCache<Parsed> parsed_;  // what find() parsed and save() wrote, by id
  storage::Database old_by_member_;             // member_referrals: emptied by index_existing
  storage::Database by_time_;
  storage::Database counts_;
  storage::Database index_marks_;
  storage::Database people_;      // candidate_pseudonyms: pseudonym "/" member -> referral id
  storage::Database old_people_;  // member_people: emptied by index_existing
  storage::Database single_;
  storage::Database alumni_links_;
  storage::Database alumni_;
  storage::Database alumni_by_time_;
};

}  // namespace relay::node::referrals
