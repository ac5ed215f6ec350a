#pragma once
// Secondary indexes added after a data directory was first written: each owner builds its
// index over the records already stored, once, at start-up. The "index_marks" database
// remembers which indexes a directory has built (index name -> "1"), in the same txn as the
// build, so a crash mid-build leaves neither and the next start builds again.
#include <functional>
#include <string_view>

#include "node/storage/database.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::storage {

// The database the marks live in: open it with Environment::database(kIndexMarks).
inline constexpr const char* kIndexMarks = "index_marks";

// Runs build() in txn unless `index` is already marked in `marks`, then marks it. Returns
// true if build() ran. build() must be idempotent over records it has already indexed (they
// are indexed by every write since the index existed).
bool build_index_once(WriteTxn& txn, Database marks, std::string_view index,
                      const std::function<void()>& build);

}  // namespace relay::node::storage
