#include "node/candidates/record_cache.hpp"

namespace relay::node::candidates {

std::optional<CandidateRecord> RecordCache::get(const std::string& id,
                                                std::string_view stored) const {
  std::shared_ptr<const Entry> entry;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return std::nullopt;
    entry = it->second;
  }
  if (entry->stored != stored) return std::nullopt;
  return entry->record;
}

void RecordCache::put(const std::string& id, std::string stored, const CandidateRecord& record) {
  auto entry = std::make_shared<const Entry>(Entry{std::move(stored), record});
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(id); it != entries_.end()) {
    it->second = std::move(entry);
    return;
  }
  if (entries_.size() >= capacity_) entries_.erase(entries_.begin());
  entries_.emplace(id, std::move(entry));
}

}  // namespace relay::node::candidates
