#pragma once
// Parsed candidate records, each with the stored bytes it was parsed from (Store::find and
// Store::save). A request reads one record several times (intake, holds, mail, statistics, the
// pool index), and parsing its JSON was most of what a read cost. A hit needs the bytes just
// read in the caller's txn to equal the cached ones, so a record changed since, or written by
// a request that was rolled back, is parsed again: the cache never answers with anything the
// txn would not. Records hold no plaintext personal data (it is sealed, vault.hpp).
//
// At most `capacity` records (a few KB each: some MB in all).
// Threads: any (a mutex guards the map; a hit copies the record outside it).
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "node/candidates/candidate_record.hpp"

namespace relay::node::candidates {

class RecordCache {
 public:
  explicit RecordCache(std::size_t capacity = 4096) : capacity_(capacity) {}

  // The record parsed from exactly `stored` under id; nullopt if not cached.
  std::optional<CandidateRecord> get(const std::string& id, std::string_view stored) const;
  // Remembers that `stored` parses to `record`. When full, an arbitrary entry makes room.
  void put(const std::string& id, std::string stored, const CandidateRecord& record);

 private:
  struct Entry {
    std::string stored;
    CandidateRecord record;
  };
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const Entry>> entries_;
};

}  // namespace relay::node::candidates
