#include "node/services/statistics_feed.hpp"

#include <algorithm>

namespace relay::node::services {

namespace {
constexpr std::int64_t kDayMs = 24LL * 60 * 60 * 1000;
}

std::optional<statistics::Cell> StatisticsFeed::cell_of(const candidates::CandidateRecord& record,
                                                        const candidates::Profile* opened) {
  if (record.status != candidates::Status::active || !record.consent.stats) {
    if (last_ && last_->id == record.id) last_.reset();  // erased or withdrawn: not kept
    return std::nullopt;
  }
  if (!opened && last_ && last_->id == record.id && last_->sealed == record.sealed_data())
    return last_->cell;
  std::optional<candidates::Opened> own;
  if (!opened) {
    own = candidates_.open(record);
    if (!own) return std::nullopt;
    opened = &own->profile;
  }
  last_ = LastCell{record.id, record.sealed_data(),
                   statistics::Cell{opened->job_category, opened->prefecture, opened->age_band,
                                    opened->experience_band}};
  return last_->cell;
}

void StatisticsFeed::rejection_link(storage::WriteTxn& txn, const std::string& member) {
  tally_.rejection_link(txn, member, clock_.now_ms());
}

void StatisticsFeed::referral(storage::WriteTxn& txn, const referrals::Referral& referral,
                              const candidates::CandidateRecord& candidate, bool confirmed,
                              bool new_person, const candidates::Profile* opened) {
  if (!confirmed) {
    tally_.referral_made(txn, referral.member_id, new_person, clock_.now_ms());
    return;
  }
  tally_.referral_confirmed(txn, referral.member_id, candidate.id, cell_of(candidate, opened),
                            new_person, clock_.now_ms());
}

void StatisticsFeed::candidate_changed(storage::WriteTxn& txn,
                                       const candidates::CandidateRecord& record) {
  if (record.origin != "local") return;
  tally_.set_cell(txn, record.id, cell_of(record));
}

void StatisticsFeed::introduced(storage::WriteTxn& txn, const std::string& candidate_id,
                                const std::string& member) {
  tally_.introduced(txn, candidate_id, member, clock_.now_ms());
}

void StatisticsFeed::hired(storage::WriteTxn& txn, const std::string& candidate_id,
                           const std::string& hirer) {
  tally_.hired(txn, candidate_id, hirer, clock_.now_ms());
}

void StatisticsFeed::retained(storage::WriteTxn& txn, const std::string& candidate_id,
                              const std::string& hirer) {
  tally_.retained(txn, candidate_id, hirer, clock_.now_ms());
}

void StatisticsFeed::member_hire(storage::WriteTxn& txn, const std::string& member,
                                 std::optional<std::int64_t> introduced_ms) {
  const auto now = clock_.now_ms();
  std::optional<std::int64_t> days;
  if (introduced_ms) days = std::max<std::int64_t>(0, (now - *introduced_ms) / kDayMs);
  tally_.member_hire(txn, member, introduced_ms.has_value(), days, now);
}

void StatisticsFeed::member_retained(storage::WriteTxn& txn, const std::string& member) {
  tally_.member_retained(txn, member, clock_.now_ms());
}

void StatisticsFeed::found_work(storage::WriteTxn& txn, const std::string& candidate_id,
                                const std::string& through_member) {
  // A repeated report through the same member is one hire of that member.
  if (tally_.hired(txn, candidate_id, through_member, clock_.now_ms()))
    member_hire(txn, through_member, std::nullopt);
}

}  // namespace relay::node::services
