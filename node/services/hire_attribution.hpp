#pragma once
// HireAttribution: the social hiring impact (issue 14, "who helped whom"). A hire of a
// candidate registered on this node, through an introduction of any member here or of a
// peer's member, is credited to every member of this node whose rejection referral brought
// the candidate in: a count shown to the member, never a credit (no balance moves).
//
// Both paths call attribute(): Introducing for a local introduction's outcome, OutcomeRelay
// for the outcome a peer reports of a cross-node introduction.
//
// Database member_impact: member "/" impact_key -> {"hired": bool, "retained_6m": bool,
// "hired_ms"?, "retained_ms"?} (the times, recorded since issue 16, place a hire in a month
// for the KPIs; older entries count only in the all-time figure).
//
// Invariants: each (member, hire) counts at most once as hired and once as retained 6 months,
// however often it is reported; hire_attributed is appended once per hire (when the hire first
// marks a referrer), naming every referrer. Threads: attribute() inside a Writer request;
// impact() with any txn.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "node/ledger/ledger.hpp"
#include "node/members/member.hpp"
#include "node/referrals/referral.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::services {

// The social hiring impact of a member: people it referred who were hired through an
// introduction (of any member, on any node), and how many of them stayed 6 months.
struct Impact {
  std::uint64_t referred_hired = 0;
  std::uint64_t referred_retained_6m = 0;
  nlohmann::json to_json() const;
};

// A hire (or its 6-month retention) of a candidate registered on this node.
struct ReferredHire {
  std::string pseudonym;      // the candidate's keyed pseudonym on this node
  std::string hire;           // named in hire_attributed: the introduction id, or the handoff id
  std::string impact_key;     // unique per hire: the introduction id, or "<peer>/<handoff>"
  std::string hiring_member;  // this node's hiring member ("" for a peer's): re-hiring its own
                              // rejection is not a placement elsewhere, so it is not credited
  bool retained_6m = false;   // false: the hire itself; true: still employed at 6 months
};

class HireAttribution {
 public:
  HireAttribution(storage::Environment& env, ledger::Ledger& ledger, members::Registry& members,
                  referrals::Referrals& referrals);

  // Marks the hire (or its retention) for every member with a referral of the candidate, and
  // on a hire newly marked appends hire_attributed {hire, referrers}. Idempotent.
  void attribute(storage::WriteTxn& txn, const ReferredHire& hire);
  Impact impact(const storage::Txn& txn, const std::string& member_id) const;
  // The impact of one month ("YYYY-MM", JST; statistics/period.hpp): hires and retentions
  // recorded in that month.
  Impact impact_in(const storage::Txn& txn, const std::string& member_id,
                   const std::string& period) const;

 private:
  ledger::Ledger& ledger_;
  members::Registry& members_;
  referrals::Referrals& referrals_;
  storage::Database impact_;
};

}  // namespace relay::node::services
