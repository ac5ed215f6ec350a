#include "node/candidates/mail_queue.hpp"

#include <algorithm>
#include <cstdint>

#include "node/common/key_encoding.hpp"
#include "node/storage/index_marks.hpp"

namespace relay::node::candidates {

namespace {

// mail_by_candidate's key: the id, then 0x00 (no id contains it), then the sequence.
std::string candidate_key(std::string_view candidate_id, std::string_view seq) {
  std::string key(candidate_id);
  key += '\0';
  key += seq;
  return key;
}

// When an entry falls due: its next try, or for one never tried the time it was queued (the
// sequence's first 8 bytes), so that due mail goes out oldest due first and a retry that has
// come due waits behind no mail queued after it.
std::int64_t due_ms(const MailEntry& entry, std::string_view seq) {
  return entry.next_try_ms > 0 ? entry.next_try_ms : MailQueue::queued_ms(seq);
}

// mail_due's key: when the entry falls due (before 1970 counts as 0), then the sequence.
std::string due_key(const MailEntry& entry, std::string_view seq) {
  return common::be64(static_cast<std::uint64_t>(std::max<std::int64_t>(due_ms(entry, seq), 0))) +
         std::string(seq);
}

// An entry as the indexes see it: an unreadable one is the candidate "", due when queued.
MailEntry readable_or_empty(std::string_view stored) {
  return decode_mail_entry(stored).value_or(MailEntry{});
}

}  // namespace

std::int64_t MailQueue::queued_ms(std::string_view seq) {
  if (seq.size() < 8) return 0;
  return static_cast<std::int64_t>(
      std::min<std::uint64_t>(common::from_be64(seq.substr(0, 8)), INT64_MAX));
}

MailQueue::MailQueue(storage::Environment& env)
    : queue_(env.database("mail_queue")),
      by_candidate_(env.database("mail_by_candidate")),
      due_(env.database("mail_due")) {}

void MailQueue::put_keys(storage::WriteTxn& txn, std::string_view seq, const MailEntry& entry) {
  txn.put(by_candidate_, candidate_key(entry.candidate, seq), "");
  txn.put(due_, due_key(entry, seq), "");
}

void MailQueue::del_keys(storage::WriteTxn& txn, std::string_view seq, const MailEntry& entry) {
  txn.del(by_candidate_, candidate_key(entry.candidate, seq));
  txn.del(due_, due_key(entry, seq));
}

void MailQueue::add(storage::WriteTxn& txn, const std::string& seq, const MailEntry& entry) {
  txn.put(queue_, seq, encode_mail_entry(entry));
  put_keys(txn, seq, entry);
}

std::optional<MailEntry> MailQueue::find(const storage::Txn& txn, std::string_view seq) const {
  auto stored = txn.get(queue_, seq);
  if (!stored) return std::nullopt;
  return decode_mail_entry(*stored);
}

bool MailQueue::replace(storage::WriteTxn& txn, std::string_view seq, const MailEntry& entry) {
  auto stored = txn.get(queue_, seq);
  if (!stored) return false;
  auto old = readable_or_empty(*stored);
  if (old.candidate != entry.candidate || due_ms(old, seq) != due_ms(entry, seq)) {
    del_keys(txn, seq, old);
    put_keys(txn, seq, entry);
  }
  txn.put(queue_, seq, encode_mail_entry(entry));
  return true;
}

bool MailQueue::remove(storage::WriteTxn& txn, std::string_view seq) {
  auto stored = txn.get(queue_, seq);
  if (!stored) return false;
  del_keys(txn, seq, readable_or_empty(*stored));
  txn.del(queue_, seq);
  return true;
}

std::size_t MailQueue::remove_candidate(storage::WriteTxn& txn, std::string_view candidate_id) {
  const auto prefix = candidate_key(candidate_id, "");
  std::vector<std::string> seqs;
  txn.for_each_prefix(by_candidate_, prefix, [&](std::string_view key, std::string_view) {
    seqs.emplace_back(key.substr(prefix.size()));
  });
  std::size_t removed = 0;
  for (const auto& seq : seqs)
    if (remove(txn, seq)) ++removed;
  return removed;
}

void MailQueue::for_each(const storage::Txn& txn,
                         const std::function<bool(std::string_view, MailEntry)>& fn) const {
  txn.for_each_prefix(queue_, "", [&](std::string_view seq, std::string_view stored) {
    return fn(seq, readable_or_empty(stored));
  });
}

std::vector<std::pair<std::string, MailEntry>> MailQueue::due(const storage::Txn& txn,
                                                              std::size_t limit,
                                                              std::int64_t due_at_ms) const {
  std::vector<std::pair<std::string, MailEntry>> out;
  if (limit == 0 || due_at_ms < 0) return out;
  // Keys below the first one of the millisecond after due_at_ms.
  const auto end = common::be64(static_cast<std::uint64_t>(due_at_ms) + 1);
  txn.for_each_range(due_, "", end, [&](std::string_view key, std::string_view) {
    auto seq = key.substr(8);
    auto stored = txn.get(queue_, seq);
    if (!stored) return true;
    auto entry = readable_or_empty(*stored);
    if (due_ms(entry, seq) > due_at_ms) return true;  // the entry, not its key, decides
    out.emplace_back(std::string(seq), std::move(entry));
    return out.size() < limit;
  });
  return out;
}

std::size_t MailQueue::size(const storage::Txn& txn) const {
  return txn.count(queue_);
}

std::size_t MailQueue::index_existing(storage::WriteTxn& txn, storage::Database marks) {
  std::size_t n = 0;
  storage::build_index_once(txn, marks, "mail_queue_by_candidate_and_due", [&] {
    std::vector<std::pair<std::string, MailEntry>> entries;
    for_each(txn, [&](std::string_view seq, MailEntry entry) {
      entry.sealed.clear();  // the keys need only its candidate and next try
      entries.emplace_back(std::string(seq), std::move(entry));
      return true;
    });
    for (const auto& [seq, entry] : entries) put_keys(txn, seq, entry);
    n = entries.size();
  });
  return n;
}

}  // namespace relay::node::candidates
