#pragma once
// Recomputes every member's credits from the ledger's events alone (protocol/event.hpp):
//   verified_referrals = count(referral_verified with counted = true)
//   credits_minted     = count(credit_minted),  credits_spent = count(credit_spent)
//   credits_granted    = sum(credit_granted.credits), credits_refunded = count(credit_refunded)
//   balance            = credits_minted + credits_granted - credits_spent + credits_refunded
// and checks each event against what came before it:
//   - a member is admitted once, before any other event names it;
//   - a counted referral names an active member and a candidate this member has not had
//     counted before; counted_total is the member's count after it;
//   - holds (ledger version 2; protocol/event.hpp): from version 2 on a referral counts only
//     through referral_held -> referral_counted (a counted referral_verified is refused);
//     referral_held names an active member and a referral not held before, and its `until`
//     is at least its time plus the holding period in force (referral_hold_rule, 0 before);
//     referral_flagged, _accepted, _rejected, _counted and _dropped name a referral held and
//     not yet ended; accepted and rejected only a flagged one not yet decided; referral_counted
//     comes no earlier than `until`, never for a flagged referral not accepted, repeats the
//     held candidate and is a counted referral as above (credits due follow it);
//   - entry versions never go down;
//   - credit_minted: minted_total is this member's mint count so far, and never exceeds
//     floor(verified_referrals / referrals_per_credit) (the floor rule);
//   - right after each counted referral (and the credit_minted entries that follow it for the
//     same member) the member has max(minted before, floor(verified_referrals /
//     referrals_per_credit)) credits minted: no credit that came due is missing. Credits
//     are never taken back when the ratio rises;
//   - credit_spent: balance is right and not negative; it names an introduction (legacy
//     logs: a "purpose") this member has not spent on before;
//   - credit_refunded: names an earlier credit_spent of the same member (its introduction),
//     which no earlier credit_refunded refunded; reason is a refund reason; balance is right;
//   - credit_granted: credits >= 1, a non-empty reason, the member active; balance is right.
// The ratio comes from node_initialised (entry 0), or the latest credit_ratio_changed.
//
// Thread safety: a plain value; apply() in log order from one thread.
#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "audit/problem_list.hpp"
#include "protocol/ledger_entry.hpp"

namespace relay::audit {

struct MemberBalance {
  std::uint64_t verified_referrals = 0;
  std::uint64_t credits_minted = 0;
  std::uint64_t credits_spent = 0;
  std::int64_t balance = 0;
  std::uint64_t credits_granted = 0;   // sum of credit_granted.credits
  std::uint64_t credits_refunded = 0;  // count(credit_refunded)
  bool operator==(const MemberBalance&) const = default;
  // {"balance","credits_minted","credits_spent","verified_referrals"}, plus
  // "credits_granted" and "credits_refunded" when not 0: the node's shape.
  nlohmann::json to_json() const;
};

using Balances = std::map<std::string, MemberBalance>;

// The node's own view (balances.json, /audit/v1/balances): the balances as of ledger_size.
struct NodeBalances {
  std::uint64_t ledger_size = 0;
  Balances members;
};

struct NodeBalancesResult {
  std::optional<NodeBalances> balances;
  std::string error;  // when !balances
};

// Strict JSON {"ledger_size":N,"members":{id:{verified_referrals,credits_minted,
// credits_spent,balance[,credits_granted,credits_refunded]}}}: the last two are optional (0)
// so that nodes from before grants and refunds still verify; exact_file additionally requires
// canonical JSON plus one "\n".
NodeBalancesResult parse_node_balances(std::string_view text, bool exact_file);

class BalanceBook {
 public:
  // Feeds the entry at `position`, the next of the log (in order, each exactly once).
  // Problems name the entry by its position.
  void apply(const protocol::LedgerEntry& entry, std::uint64_t position, ProblemList& problems);
  // End-of-log checks (a credit due after the last counted referral but never minted).
  void finish(ProblemList& problems);
  // Every admitted member's recomputed balance so far.
  Balances balances() const;
  // The credit ratio in force (0 before node_initialised).
  std::uint64_t referrals_per_credit() const { return ratio_; }
  // Whether alumni referrals count toward credits (the latest alumni_credit_rule; false before).
  bool alumni_count_toward_credits() const { return alumni_count_; }

 private:
  struct Member {
    bool active = true;
    MemberBalance balance;
    // Introduction id of every credit_spent -> refunded yet.
    std::map<std::string, bool> spends;
  };
  // The entry being applied, so that helpers can name it.
  struct At {
    const protocol::LedgerEntry& entry;
    std::uint64_t position;
    ProblemList& problems;
    void add(std::string what) const { problems.add_entry(position, std::move(what)); }
  };
  Member* member_for(const At& at);
  void referral_verified(const At& at, const std::string& id, Member& m);
  void credit_minted(const At& at, const std::string& id, Member& m);
  void credit_spent(const At& at, const std::string& id, Member& m);
  void credit_refunded(const At& at, const std::string& id, Member& m);
  void credit_granted(const At& at, const std::string& id, Member& m);
  void referral_held(const At& at, const std::string& id, Member& m);
  void referral_hold_step(const At& at, const std::string& id, Member& m);
  // Counts a referral of `candidate` for member id (dedupe, active member, awaiting mints).
  void count_referral(const At& at, const std::string& id, Member& m, const std::string& candidate);
  // Compares the entry's "balance" with the recomputed one.
  void check_balance(const At& at, const std::string& id, const Member& m);

  // Checks that the member of awaiting_mints_ has every credit due, and clears it.
  void check_due(ProblemList& problems);

  std::uint64_t ratio_ = 0;
  bool alumni_count_ = false;
  std::int64_t hold_ms_ = 0;  // the latest referral_hold_rule, in ms
  int version_ = 0;           // the highest entry version seen
  // Referrals held and not yet ended, by member "/" referral.
  struct Held {
    std::string candidate;
    std::int64_t until = 0;
    bool flagged = false;
    bool accepted = false;
  };
  std::map<std::string, Held> held_;
  // A short digest's first 8 bytes are already uniform: its own hash. Hashed, not ordered:
  // an ordered set compared 16-byte keys ~20 times an insert (at 1M entries, relay-audit
  // verify used 2.3% more CPU with one).
  struct ShortDigestHash {
    std::size_t operator()(const std::array<std::uint8_t, 16>& d) const noexcept {
      std::size_t h = 0;
      std::memcpy(&h, d.data(), sizeof h);
      return h;
    }
  };
  using ShortDigests = std::unordered_set<std::array<std::uint8_t, 16>, ShortDigestHash>;
  // SHA-256(member "/" referral)[:16] of every referral ever held: none is held twice.
  ShortDigests ever_held_;
  std::map<std::string, Member> members_;
  // A counted referral whose credits are checked at the first entry that is not one of its
  // member's credit_minted: (member id, position of the referral).
  std::optional<std::pair<std::string, std::uint64_t>> awaiting_mints_;
  // SHA-256(member "/" candidate)[:16] of every counted referral: 16 bytes a referral
  // instead of the pseudonym strings (a million referrals take ~60 MB).
  ShortDigests counted_;
};

}  // namespace relay::audit
