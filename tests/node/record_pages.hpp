#pragma once
// A store's pages read as the API reads them (storage::RecordPage): each after the last record
// of the one before, until no more follow.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace relay::test {

// The ids of every page read(after) gives ("" for the first, then the id shown last), in the
// order read. Each page holds at most `limit`, and each page's total is the whole walk's
// length (what the lists answer as `total`).
template <class Read>
std::vector<std::string> walk_record_pages(std::size_t limit, Read&& read) {
  std::vector<std::string> out;
  std::set<std::uint64_t> totals;
  std::string after;
  for (;;) {
    auto page = read(after);
    REQUIRE(page);
    CHECK(page->records.size() <= limit);
    totals.insert(page->total);
    for (const auto& record : page->records) out.push_back(record.id);
    if (!page->more) break;
    REQUIRE_FALSE(page->records.empty());
    after = out.back();
  }
  CHECK(totals == std::set<std::uint64_t>{out.size()});
  return out;
}

}  // namespace relay::test
