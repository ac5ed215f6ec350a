#pragma once
// StatisticsFeed: what the statistics (node/statistics, issue 16) learn from each event, in
// the Writer request of the event itself, so the KPIs and tables never need a scan of a whole
// database on a request (issue 19). The composition root installs it where the events happen:
// referrals::Intake (a referral made, confirmed), Membership (a rejection link), Introducing
// (an introduction, an outcome, a self-reported job), OutcomeRelay (a peer's hire of a
// candidate registered here) and CandidateChanges (consent to statistics, erasure).
//
// The candidate's cell (job category, prefecture, age band, experience band) is read from
// their sealed profile only while consent.stats holds; nothing personal reaches the tally.
//
// Threads: every method only inside a Writer request.
#include <cstdint>
#include <optional>
#include <string>

#include "node/candidates/candidate_store.hpp"
#include "node/common/clock.hpp"
#include "node/referrals/referral.hpp"
#include "node/statistics/tally.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::services {

class StatisticsFeed {
 public:
  StatisticsFeed(statistics::Tally& tally, candidates::Store& candidates,
                 const common::Clock& clock)
      : tally_(tally), candidates_(candidates), clock_(clock) {}

  void rejection_link(storage::WriteTxn& txn, const std::string& member);
  // A referral made (confirmed = false) or confirmed; new_person: the candidate record was
  // created (made) or became active (confirmed) in this request; opened: the profile the
  // caller opened from the record's sealed data, if it has (not decrypted again then).
  void referral(storage::WriteTxn& txn, const referrals::Referral& referral,
                const candidates::CandidateRecord& candidate, bool confirmed, bool new_person,
                const candidates::Profile* opened = nullptr);
  void candidate_changed(storage::WriteTxn& txn, const candidates::CandidateRecord& record);
  void introduced(storage::WriteTxn& txn, const std::string& candidate_id,
                  const std::string& member);
  // A hire of a candidate registered here; hirer: a member id, "peer:<name>", or "".
  void hired(storage::WriteTxn& txn, const std::string& candidate_id, const std::string& hirer);
  void retained(storage::WriteTxn& txn, const std::string& candidate_id, const std::string& hirer);
  // A member's own reported hire (an introduction's outcome, with the introduction's time).
  void member_hire(storage::WriteTxn& txn, const std::string& member,
                   std::optional<std::int64_t> introduced_ms);
  void member_retained(storage::WriteTxn& txn, const std::string& member);
  // The candidate reported finding work, optionally at one of this node's members.
  void found_work(storage::WriteTxn& txn, const std::string& candidate_id,
                  const std::string& through_member);

 private:
  // The record's cell, from `opened` (its sealed data's profile) if given, or the last cell
  // read for the same sealed data, or by decrypting it.
  std::optional<statistics::Cell> cell_of(const candidates::CandidateRecord& record,
                                          const candidates::Profile* opened = nullptr);

  statistics::Tally& tally_;
  candidates::Store& candidates_;
  const common::Clock& clock_;
  // The last cell read: a confirmation asks for the same record's twice (referral, then
  // candidate_changed), and a read without `opened` decrypts it. Keyed by the sealed data,
  // whose every change is a new ciphertext; so whether the Writer's transaction commits does
  // not matter.
  struct LastCell {
    std::string id;
    std::string sealed;
    statistics::Cell cell;
  };
  std::optional<LastCell> last_;
};

}  // namespace relay::node::services
