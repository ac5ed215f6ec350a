#include "node/storage/index_marks.hpp"

namespace relay::node::storage {

bool build_index_once(WriteTxn& txn, Database marks, std::string_view index,
                      const std::function<void()>& build) {
  if (txn.contains(marks, index)) return false;
  build();
  txn.put(marks, index, "1");
  return true;
}

}  // namespace relay::node::storage
