#pragma once
// One page of an index's entries under a prefix: a member's ("<member>/" + sort key: referrals,
// handoffs, introductions and requisitions by time), an alert kind's, or every entry (the
// members by admission). The lists that page with ?limit=&after= read it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "node/storage/cursor.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::storage {

// The first key past every key that starts with prefix (non-empty): its last byte raised by
// one ("m_1/" -> "m_10").
inline std::string past_prefix(std::string_view prefix) {
  std::string past(prefix);
  past.back() = static_cast<char>(past.back() + 1);
  return past;
}

// Calls fn(key, value) for the entries of `db` whose keys start with `prefix` (every entry if
// it is empty) and come after the one whose key is `last_key` (the last shown; empty: from the
// start), in key order or (newest_first) the reverse, at most `limit` of them; true if more
// follow.
template <class Fn>
bool index_page(const Txn& txn, Database db, std::string_view prefix, std::string_view last_key,
                std::size_t limit, bool newest_first, Fn&& fn) {
  std::size_t seen = 0;
  if (!newest_first) {
    // From the prefix itself, or from the first key past the last shown.
    const std::string from = last_key.empty() ? std::string(prefix) : std::string(last_key) + '\0';
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
  // Last first: from the entry before the last shown, or before the first key past every one
  // with the prefix (its last byte, '/', raised by one).
  auto cursor = txn.cursor(db);
  std::string past(last_key);
  if (past.empty() && !prefix.empty()) past = past_prefix(prefix);
  auto at = !past.empty() && cursor.seek(past) ? cursor.prev() : cursor.last();
  for (; at && at->first.starts_with(prefix); at = cursor.prev(), ++seen) {
    if (seen == limit) return true;
    fn(std::string_view(at->first), std::string_view(at->second));
  }
  return false;
}

// The time under which a record made at now_ms joins an index keyed prefix (non-empty, ending
// in '/') + 8 bytes (a time) + its id: now_ms, or 1 ms after the prefix's newest entry if that
// is not earlier. Two records made in the same millisecond would otherwise list in the order of
// their random ids, not in the order made.
inline std::int64_t next_time(const Txn& txn, Database db, std::string_view prefix,
                              std::int64_t now_ms) {
  auto cursor = txn.cursor(db);
  auto at = cursor.seek(past_prefix(prefix)) ? cursor.prev() : cursor.last();
  if (!at || !at->first.starts_with(prefix) || at->first.size() < prefix.size() + 8) return now_ms;
  std::uint64_t newest = 0;
  for (std::size_t i = 0; i < 8; ++i)
    newest = (newest << 8) | static_cast<unsigned char>(at->first[prefix.size() + i]);
  return std::max(now_ms, static_cast<std::int64_t>(newest) + 1);
}

// A page of records, in the index's order.
template <class Record>
struct RecordPage {
  std::vector<Record> records;
  bool more = false;        // others follow the last one
  std::uint64_t total = 0;  // entries the index lists under the prefix, in the same snapshot
};

// One page of the records an index keyed `prefix` + 8 bytes (a time) + the record's id lists,
// oldest first or (newest_first) last first: those after the entry `last_key` (the key of the
// record shown last; "" from the first), at most `limit`, each read with read(id) (an
// optional: a record gone meanwhile is skipped), and how many entries it lists in all: the
// database's count for every entry (prefix ""), the keys the page read when it read them all
// (a whole list, or a first page with none after it), else the prefix's keys counted (a
// member's: handoffs, introductions and requisitions are made by hand, hundreds at most).
template <class Read>
auto timed_records(const Txn& txn, Database db, std::string_view prefix, std::string_view last_key,
                   std::size_t limit, bool newest_first, Read&& read) {
  using Record = typename std::invoke_result_t<Read&, const std::string&>::value_type;
  std::vector<std::string> ids;
  auto add = [&](std::string_view key, std::string_view) {
    ids.emplace_back(key.substr(prefix.size() + 8));
  };
  RecordPage<Record> page;
  page.more = index_page(txn, db, prefix, last_key, limit, newest_first, add);
  if (prefix.empty())
    page.total = txn.count(db);
  else if (last_key.empty() && !page.more)
    page.total = ids.size();
  else
    page.total = txn.for_each_prefix(db, prefix, [](std::string_view, std::string_view) {});
  page.records.reserve(ids.size());
  for (const auto& id : ids)
    if (auto record = read(id)) page.records.push_back(std::move(*record));
  return page;
}

// One page of a member's records in an index keyed "<member>/" + 8 bytes (a time) + the
// record's id (timed_records): those after the record `after` (its id; "" from the first),
// and how many the member has. key_of(record) is a record's key in the index. Returns the
// page, or nullopt if `after` is not one of the member's records (record.member).
template <class Read, class KeyOf>
auto member_records(const Txn& txn, Database db, const std::string& member,
                    const std::string& after, std::size_t limit, Read&& read, KeyOf&& key_of,
                    bool newest_first = false) {
  using Page = decltype(timed_records(txn, db, "", "", limit, newest_first, read));
  const std::string prefix = member + "/";
  std::string last_key;  // of the record shown last
  if (!after.empty()) {
    auto last = read(after);
    if (!last || last->member != member) return std::optional<Page>{};
    last_key = key_of(*last);
  }
  return std::optional<Page>{timed_records(txn, db, prefix, last_key, limit, newest_first, read)};
}

}  // namespace relay::node::storage
