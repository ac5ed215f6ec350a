#pragma once
// The holding period and the farming checks (issue 17): a verified referral that may count is
// held for `holding` (referrals.holding_days) and counts only when the hold ends, unless the
// person withdrew or erased meanwhile or the member was suspended (then it is dropped), and
// unless a farming signal flagged it (then it waits for the operator, who accepts it: it
// counts once its hold has ended; or rejects it: it never counts). Signals, per member:
//   disposable_domain  the address is at a disposable-mail service (address_identity.hpp)
//   velocity           more than velocity_max confirmations within velocity_window
//   same_domain        more than same_domain_max addresses of one domain that is not a large
//                      public provider within cluster_window
//   similar_addresses  more than similar_max addresses with one local-part stem ("taro1",
//                      "taro2", ...) within cluster_window
// A signal flags every referral of the group still held, not only the one that tipped it.
// Every step is a ledger entry in the same transaction (protocol/event.hpp: referral_held,
// _flagged, _accepted, _rejected, _counted, _dropped), so relay-audit recomputes every credit.
//
// Databases: referral_holds (referral id -> {member, until, flags, accepted}: the referrals
// held now), hold_queue (be64 until + referral id -> "": held and waiting for no one),
// review_queue (be64 verified_ms + referral id -> member id: flagged and waiting for the
// operator, oldest confirmation first, so in_review reads a page of those alone, not every
// hold; written with referral_holds in the same transaction), review_queue_by_member (member
// "/" and the review_queue key -> "": one member's waiting referrals, so a member's page and
// decide_member read theirs, not the whole queue past other members' floods; written with it),
// member_confirmations (member "/" be64 ms + referral id -> {domain, stem}: keyed digests of
// the address's domain and stem, never the address, kept for the longer window, and only while
// a windowed check (velocity, same_domain, similar_addresses) is on),
// confirmation_groups (member "/d/" domain digest "/" be64 ms + referral id -> "", and "/s/"
// with the stem digest: the same confirmations by group, so each check counts only its own
// groups' keys in their windows instead of parsing every confirmation the member had; written
// and dropped with member_confirmations in the same transaction).
//
// Threads: the writing methods inside Writer requests; in_review with any read txn.
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "node/candidates/candidate_store.hpp"
#include "node/common/clock.hpp"
#include "node/common/result.hpp"
#include "node/identity/key_ring.hpp"
#include "node/ledger/ledger.hpp"
#include "node/members/member.hpp"
#include "node/referrals/address_identity.hpp"
#include "node/referrals/credit_account.hpp"
#include "node/referrals/referral.hpp"
#include "node/storage/environment.hpp"

namespace relay::node::referrals {

// config "referrals" (config/README.md). A zero maximum turns its check off; a zero holding
// period releases an unflagged referral in the transaction that verified it.
struct HoldRules {
  std::chrono::milliseconds holding{0};
  bool flag_disposable = false;
  std::uint32_t velocity_max = 0;
  std::chrono::milliseconds velocity_window{std::chrono::hours(1)};
  std::uint32_t same_domain_max = 0;
  std::uint32_t similar_max = 0;
  std::chrono::milliseconds cluster_window{std::chrono::hours(24 * 7)};
};

// What the operator sees of a referral in review, and why: no candidate id, pseudonym,
// address or name. `domain` is set only for a disposable-mail domain (a public service's
// name, which the operator needs to judge the flag; never a person's own domain).
struct ReviewItem {
  std::string referral;
  std::string member;
  std::string company;
  std::int64_t verified_ms = 0;
  std::int64_t hold_until_ms = 0;
  std::vector<std::string> reasons;
  std::string domain;
  nlohmann::json to_json() const;
};

// Which part of the review queue in_review reads.
struct ReviewQuery {
  std::size_t limit = std::numeric_limits<std::size_t>::max();
  std::string after;   // where the previous page stopped (its `last`; "": from the oldest)
  std::string member;  // only this member's ("": every member's)
};

struct ReviewPage {
  std::vector<ReviewItem> items;
  bool more = false;  // more wait after `last`
  std::string last;   // the last referral the page read: the next page's `after`
};

// How many of one member's referrals wait for the operator.
struct ReviewCount {
  std::string member;
  std::string company;
  std::size_t waiting = 0;
};

enum class ReviewError {
  not_found,      // no such referral
  not_in_review,  // it is not flagged and waiting for a decision
};

class Holds {
 public:
  Holds(storage::Environment& env, ledger::Ledger& ledger, const identity::KeyRing& keys,
        members::Registry& members, candidates::Store& candidates, Referrals& referrals,
        CreditAccounts& credits, const common::Clock& clock, HoldRules rules);

  // At confirmation of a referral that may count (its member active; alumni only if they
  // count): held, checked, and with a zero hold released at once unless flagged. Saves the
  // referral. Returns true if a credit was minted.
  bool hold(storage::WriteTxn& txn, Referral& referral, const AddressIdentity& address);
  // Ends every hold that is due and waits for no decision (at most `limit`): counted (and
  // credits minted) or dropped. Returns how many ended.
  std::size_t release_due(storage::WriteTxn& txn, std::size_t limit = 500);
  // Flagged referrals waiting for the operator, oldest confirmation first (then by referral
  // id), a page at a time; nullopt if query.after names no referral. A referral decided since
  // it was shown still marks where the next page starts.
  std::optional<ReviewPage> in_review(const storage::Txn& txn, const ReviewQuery& query = {}) const;
  // How many referrals wait, per member, most first (one walk over the queue's keys).
  std::vector<ReviewCount> waiting_by_member(const storage::Txn& txn) const;
  // How many referrals wait in all.
  std::size_t waiting_count(const storage::Txn& txn) const;
  // The operator's decision: accept (counts after its hold; released now if the hold has
  // ended) or reject (never counts).
  common::Result<ReviewItem, ReviewError> decide(storage::WriteTxn& txn,
                                                 const std::string& referral_id, bool accept);
  // The same decision for the member's waiting referrals, oldest first, at most `limit` of
  // them (each its own ledger entry): what a farming flood needs. Returns how many.
  std::size_t decide_member(storage::WriteTxn& txn, const std::string& member_id, bool accept,
                            std::size_t limit);
  const HoldRules& rules() const { return rules_; }
  // Indexes confirmations recorded before confirmation_groups existed, and holds waiting for
  // the operator before review_queue was keyed by time, and review_queue_by_member from
  // review_queue (once per data directory, storage/index_marks.hpp). Returns how many.
  std::size_t index_existing(storage::WriteTxn& txn);

 private:
  struct HoldRecord {
    std::string member;
    std::int64_t until = 0;
    std::vector<std::string> flags;
    bool accepted = false;
    std::string domain;  // only for a disposable domain
    bool waiting() const { return !flags.empty() && !accepted; }
  };
  static HoldRecord parse_hold(std::string_view stored);
  std::optional<HoldRecord> find_hold(const storage::Txn& txn, const std::string& id) const;
  // Saves the hold of referral r (its review_queue key is r's verified_ms and id).
  void save_hold(storage::WriteTxn& txn, const Referral& r, const HoldRecord& h);
  // Adds reasons to a held referral not accepted yet: referral_flagged with the new ones.
  void flag(storage::WriteTxn& txn, const std::string& referral_id,
            const std::vector<std::string>& reasons);
  // The farming signals over the member's recent confirmations, this one recorded first: the
  // new reasons of each referral they flag (flag() applies them).
  std::map<std::string, std::vector<std::string>> check(storage::WriteTxn& txn,
                                                        const Referral& referral,
                                                        const AddressIdentity& address);
  // Ends a stored hold that waits for no decision: its record goes, then end_hold.
  bool release(storage::WriteTxn& txn, const std::string& referral_id);
  // A hold has ended: counted (true if a credit was minted), or dropped if the person withdrew
  // or erased or the member was suspended meanwhile. Saves the referral.
  bool end_hold(storage::WriteTxn& txn, Referral& r);
  std::string digest(std::string_view what, std::string_view value) const;
  ReviewItem item(const storage::Txn& txn, const Referral& r, const HoldRecord& h) const;
  // The referral ids of review_queue's keys a query reads (what in_review shows, what
  // decide_member decides), and whether more follow; nullopt if query.after names no referral.
  struct QueueSlice {
    std::vector<std::string> ids;
    bool more = false;
  };
  std::optional<QueueSlice> queue_slice(const storage::Txn& txn, const ReviewQuery& query) const;

  ledger::Ledger& ledger_;
  const identity::KeyRing& keys_;
  members::Registry& members_;
  candidates::Store& candidates_;
  Referrals& referrals_;
  CreditAccounts& credits_;
  const common::Clock& clock_;
  HoldRules rules_;
  storage::Database holds_;
  storage::Database queue_;
  storage::Database review_;
  storage::Database review_by_member_;  // review_queue_by_member
  storage::Database confirmations_;
  storage::Database groups_;
  storage::Database index_marks_;
};

std::string_view to_string(ReviewError e);

}  // namespace relay::node::referrals
