#pragma once
// Parsed records, each with the stored bytes it was parsed from, for stores whose records are
// JSON read many times (candidates::Store, referrals::Referrals). Parsing was most of what a
// read cost: a registration read its candidate record 5-7 times, and GET /api/v1/referrals
// parses every referral of the member. A hit needs the bytes just read in the caller's txn to
// equal the cached ones, so a record changed since, or written by a request that was rolled
// back, is parsed again: the cache never answers with anything the txn would not.
//
// At most `capacity` records; when full, the one cached first makes room (first in, first out).
// The records a node reads again are mostly the ones it wrote or read a moment ago (a
// registration's record, read back by the mail dispatcher and its confirmation). Evicting
// "an arbitrary entry" (the map's first) evicted the newest one: libstdc++ puts a node that
// lands in an empty bucket at the front, so of the last 4,096 records cached, 160 stayed.
// Threads: any (a mutex guards the map; a hit copies the record outside it).
#include <algorithm>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace relay::node::storage {

template <class Record>
class ParseCache {
 public:
  explicit ParseCache(std::size_t capacity = 4096)
      : capacity_(std::max<std::size_t>(capacity, 1)) {}

  // The record parsed from exactly `stored` under id, shared rather than copied (it stays
  // valid while held, even once evicted); null if not cached.
  std::shared_ptr<const Record> find(const std::string& id, std::string_view stored) const {
    std::shared_ptr<const Entry> entry;
    {
      std::lock_guard lock(mutex_);
      auto it = entries_.find(id);
      if (it == entries_.end()) return nullptr;
      entry = it->second;
    }
    if (entry->stored != stored) return nullptr;
    return std::shared_ptr<const Record>(entry, &entry->record);
  }

  // As find(), copied.
  std::optional<Record> get(const std::string& id, std::string_view stored) const {
    if (auto found = find(id, stored)) return *found;
    return std::nullopt;
  }

  // Remembers that `stored` parses to `record`; returns the record as find() would.
  std::shared_ptr<const Record> put(const std::string& id, std::string stored, Record record) {
    auto entry = std::make_shared<const Entry>(Entry{std::move(stored), std::move(record)});
    std::shared_ptr<const Record> shared(entry, &entry->record);
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(id); it != entries_.end()) {
      it->second = std::move(entry);
      return shared;
    }
    if (entries_.size() >= capacity_) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
    entries_.emplace(id, std::move(entry));
    order_.push_back(id);
    return shared;
  }

 private:
  struct Entry {
    std::string stored;
    Record record;
  };
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const Entry>> entries_;
  std::deque<std::string> order_;  // the ids of entries_, in the order they were first cached
};

}  // namespace relay::node::storage
