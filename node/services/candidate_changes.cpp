#include "node/services/candidate_changes.hpp"

namespace relay::node::services {

void CandidateChanges::changed(storage::WriteTxn& txn, const candidates::CandidateRecord& record) {
  holder_.candidate_changed(txn, record);
  if (statistics_) statistics_->candidate_changed(txn, record);
  profiles_.candidate_changed(txn, record);
  if (record.status == candidates::Status::erased) {
    auto tombstone = record;
    erasures_.candidate_erased(txn, tombstone);
  } else if (record.withdrawn_ms()) {
    auto withdrawn = record;
    erasures_.candidate_withdrew(txn, withdrawn);
  }
  // Local introductions the candidate has not answered: withdrawn (or erased) and refunded.
  bool erased = record.status == candidates::Status::erased;
  if (!erased && record.consent.region) return;
  for (const auto& r : local_requests_.for_candidate(txn, record.id)) {
    if (r.state != introductions::LocalRequestState::pending) continue;
    local_requests_.settle(txn, r.introduction, introductions::LocalRequestState::withdrawn);
    if (erased)
      (void)introductions_.erase(txn, r.introduction);
    else
      (void)introductions_.withdraw(txn, r.introduction);
  }
}

}  // namespace relay::node::services
