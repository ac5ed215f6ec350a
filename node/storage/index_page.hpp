#pragma once
// One page of a member's entries in an index keyed "<member>/" + sort key (referrals by time,
// handoffs by member): the lists that page with ?limit=&after= read it.
#include <cstddef>
#include <string_view>

#include "node/storage/txn.hpp"

namespace relay::node::storage {

// Calls fn(key, value) for the entries of `db` from key `from` on whose keys start with
// `prefix`, at most `limit` of them; true if more follow. `from` is the prefix itself for the
// first page, or the key of the last entry shown + '\0' for the next.
template <class Fn>
bool index_page(const Txn& txn, Database db, std::string_view prefix, std::string_view from,
                std::size_t limit, Fn&& fn) {
  std::size_t seen = 0;
  bool more = false;
  txn.for_each_range(db, from, {}, [&](std::string_view key, std::string_view value) {
    if (key.substr(0, prefix.size()) != prefix) return false;
    if (seen == limit) {
      more = true;
      return false;
    }
    ++seen;
    fn(key, value);
    return true;
  });
  return more;
}

}  // namespace relay::node::storage
