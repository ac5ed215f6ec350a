#pragma once
// Pending registrations that nobody confirmed are shredded once every confirmation link they
// were sent has expired (issue 17, scope 4): the person's data is not kept for a registration
// that cannot complete any more. Shredding is Store::erase (the key slot zeroed before the
// commit is acknowledged, key_slots.hpp); the caller sweeps the spooled mail after the commit.
//
// Threads: shred() inside a Writer request.
#include <cstdint>
#include <string>
#include <vector>

#include "node/candidates/candidate_store.hpp"
#include "node/storage/environment.hpp"

namespace relay::node::candidates {

class PendingExpiry {
 public:
  PendingExpiry(storage::Environment& env, Store& store);
  // Erases every pending record all of whose confirmation links (those its intake state
  // lists, and older "verify" tokens) expired before now_ms (a record with none: created
  // before now_ms - expiry_ms); returns their ids.
  std::vector<std::string> shred(storage::WriteTxn& txn, std::int64_t now_ms,
                                 std::int64_t expiry_ms);

 private:
  Store& store_;
  storage::Database tokens_;
};

}  // namespace relay::node::candidates
