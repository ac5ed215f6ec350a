#include "node/services/candidate_changes.hpp"

namespace relay::node::services {

void CandidateChanges::changed(storage::WriteTxn& txn, const candidates::CandidateRecord& record) {
  holder_.candidate_changed(txn, record);
  profiles_.candidate_changed(txn, record);
  if (record.status == candidates::Status::erased) {
    auto tombstone = record;
    erasures_.candidate_erased(txn, tombstone);
  }
}

}  // namespace relay::node::services
