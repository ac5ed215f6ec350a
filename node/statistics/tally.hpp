#pragma once
// Tally: the counts behind the seeds' KPIs and the federated statistics, kept up to date in
// the Writer request of each event that changes them (rejection link issued, referral made
// and confirmed, introduction, hire, 6-month retention, self-reported work, consent change),
// so that no request has to scan a whole database (issue 19). Definitions: README.md.
//
// Databases:
//   stats_counters   scope "|" period -> Counters (scope "n" = the node, "m/<member>"; period
//                    "YYYY-MM" in JST; "all" is their sum, added up when read, and an "all"
//                    key older versions wrote is not read); "$spend/" member "/"
//                    period|"undated"|"all"
//                    -> yen (what the member entered; member "*node": every member's)
//   stats_people     candidate id -> the person's facts: {registered_ms, referrers: {member:
//                    verified_ms}, cell? (only with consent.stats), introduced, hired_ms,
//                    elsewhere, retained, reemployed: [scopes counted], periods: [...]}
//   stats_rows       "p/" period "/" candidate id -> {cell, companies: [...], r, i, h, k} (one row
//                    per person and month, consent.stats only: each person counted once per
//                    period, in the cell they had at their first event of the month)
//                    "i/" member "/" candidate id -> {job_category, prefecture, hirers: [...],
//                    retained} (people the member referred who were hired by someone else;
//                    consent.stats only)
// Per-person rows hold codes (category, prefecture, bands) and member ids only, never personal
// data; forget() drops them when the person erases or withdraws consent to statistics.
//
// Invariant: every count moves at most once per (person, scope) for introduced, hired,
// retained and reemployed. Threads: writing methods only inside Writer requests; reads with
// any txn.
#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "node/storage/environment.hpp"
#include "node/storage/parse_cache.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::statistics {

// A person's statistics cell: the codes of their anonymised profile.
struct Cell {
  std::string job_category;
  std::string prefecture;
  std::string age_band;
  std::string experience_band;
  auto operator<=>(const Cell&) const = default;
  nlohmann::json to_json() const;
  static Cell from_json(const nlohmann::json& j);
};

// The counts of one scope (the node, or one member) in one period.
struct Counters {
  std::uint64_t rejections = 0;          // single-use rejection links issued (member)
  std::uint64_t registrations = 0;       // member: its referrals made; node: new persons
  std::uint64_t verified = 0;            // member: its referrals confirmed; node: persons confirmed
  std::uint64_t introduced = 0;          // persons (member: it referred) introduced, first time
  std::uint64_t hired = 0;               // persons (member: it referred) hired, first time
  std::uint64_t retained = 0;            // ... and still employed at 6 months
  std::uint64_t reemployed = 0;          // of `verified` of this period: hired within the window
  std::uint64_t hired_elsewhere = 0;     // node: persons hired by someone other than a referrer
  std::uint64_t retained_elsewhere = 0;  // ... and retained 6 months
  std::uint64_t own_hires = 0;           // hires the member reported (introductions, self-reports
                                         // naming it)
  std::uint64_t own_introduction_hires = 0;            // ... of them through an introduction
  std::uint64_t own_retained_6m = 0;                   // its introduction hires retained 6 months
  std::map<std::int64_t, std::uint64_t> days_to_hire;  // introduction hires: days -> count

  // The stored form: a JSON object of the counts, keys sorted, days_to_hire keyed by text.
  std::string stored_text() const;
  static Counters from_json(const nlohmann::json& j);
  // Adds o's counts to these (the months of "all").
  void add(const Counters& o);
  // The median of days_to_hire (the mean of the two middle values); nullopt if empty.
  std::optional<double> median_days_to_hire() const;
};

// One person's row of a month (stats_rows "p/").
struct PeriodRow {
  Cell cell;
  std::set<std::string> companies;
  bool registered = false;
  bool introduced = false;
  bool hired = false;
  bool retained = false;
};

// A person a member referred who was hired by someone else (stats_rows "i/").
struct Destination {
  std::string job_category;
  std::string prefecture;
  std::set<std::string> hirers;  // member ids, "peer:<name>"; empty when unknown
  bool retained = false;
};

class Tally {
 public:
  Tally(storage::Environment& env, std::chrono::days reemployment_window);

  // --- events (Writer requests only) ---
  void rejection_link(storage::WriteTxn& txn, const std::string& member, std::int64_t at_ms);
  // A referral was made (the registration form behind the member's link); new_person: the
  // person was not registered before.
  void referral_made(storage::WriteTxn& txn, const std::string& member, bool new_person,
                     std::int64_t at_ms);
  // The referral was confirmed; new_person: the person became active now. cell: set only if
  // the person consents to statistics.
  void referral_confirmed(storage::WriteTxn& txn, const std::string& member,
                          const std::string& person, const std::optional<Cell>& cell,
                          bool new_person, std::int64_t at_ms);
  // The person (registered here) was introduced to member.
  void introduced(storage::WriteTxn& txn, const std::string& person, const std::string& member,
                  std::int64_t at_ms);
  // The person (registered here) was hired: by hirer (a member id, "peer:<name>", or "" when
  // the person reported work without naming a member). Returns true if hirer (non-empty) had
  // not hired this person before.
  bool hired(storage::WriteTxn& txn, const std::string& person, const std::string& hirer,
             std::int64_t at_ms);
  // ... and was still employed 6 months later.
  void retained(storage::WriteTxn& txn, const std::string& person, const std::string& hirer,
                std::int64_t at_ms);
  // A hire member reported (its own introduction's outcome, or a self-report naming it);
  // days_to_hire: from the introduction to the hire, for introduction hires.
  void member_hire(storage::WriteTxn& txn, const std::string& member, bool through_introduction,
                   std::optional<std::int64_t> days_to_hire, std::int64_t at_ms);
  void member_retained(storage::WriteTxn& txn, const std::string& member, std::int64_t at_ms);
  // The person's current cell (consent.stats given, profile edited): used for the months to
  // come. nullopt (consent withdrawn, erased): every per-person row is dropped (counts stay).
  void set_cell(storage::WriteTxn& txn, const std::string& person, const std::optional<Cell>& cell);
  void set_spend(storage::WriteTxn& txn, const std::string& member, const std::string& period,
                 std::uint64_t yen);

  // --- reads (any txn) ---
  // period: a month, or kAll (the sum of every month)
  Counters counters(const storage::Txn& txn, const std::string& scope,
                    std::string_view period) const;
  std::optional<std::uint64_t> spend(const storage::Txn& txn, const std::string& member,
                                     std::string_view period) const;
  std::vector<PeriodRow> period_rows(const storage::Txn& txn, std::string_view period) const;
  std::vector<Destination> destinations(const storage::Txn& txn, const std::string& member) const;

  static std::string node_scope() { return "n"; }
  static std::string member_scope(const std::string& member) { return "m/" + member; }

 private:
  template <class Fn>
  void count(storage::WriteTxn& txn, const std::string& scope, std::int64_t at_ms, Fn&& fn);
  template <class Fn>
  void count_in(storage::WriteTxn& txn, const std::string& scope, const std::string& period,
                Fn&& fn);
  // The counters a write txn has changed, held in it (storage::Pending) and stored once, when
  // it commits: every registration and confirmation moves its member's month and the node's,
  // so a batch of them rewrote the same few keys over and over (issue 19).
  class Changed;
  Changed& changed(storage::WriteTxn& txn);
  const Changed* changed_in(const storage::Txn& txn) const;
  // The counters under key (zero if none): as txn changed them, or as stored, parsed once per
  // stored value ("all" reads every month).
  Counters counters_at(const storage::Txn& txn, const std::string& key) const;
  Counters parsed_counters(const std::string& key, std::string stored) const;
  nlohmann::json facts(const storage::Txn& txn, const std::string& person) const;
  void save_facts(storage::WriteTxn& txn, const std::string& person, const nlohmann::json& f);
  // Marks the person's row of at_ms's month (creating it in their current cell).
  void mark_period(storage::WriteTxn& txn, const std::string& person, nlohmann::json& facts,
                   std::int64_t at_ms, const char* flag, const std::string& company);

  std::chrono::milliseconds window_;
  storage::Database counters_;
  storage::Database people_;
  storage::Database rows_;
  mutable storage::ParseCache<Counters> parsed_;
};

}  // namespace relay::node::statistics
