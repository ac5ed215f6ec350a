#pragma once
// The queue of mail to candidates, stored (mail_entry.hpp), with two indexes so that neither
// the dispatcher nor erasure reads the whole queue: while SMTP is down the queue holds every
// mail since, and each commit wakes the dispatcher (issue 19: no scans on request paths).
//
// Databases:
//   mail_queue         8-byte sequence + random suffix -> the entry (mail_entry.hpp)
//   mail_by_candidate  candidate id || 0x00 || sequence -> "": erasure drops a candidate's mail
//   mail_due           be64(due, ms) || sequence -> "": what the dispatcher may send now; an
//                      entry falls due at its next try, or if never tried when it was queued
// An entry no version can read is indexed under the candidate "", due when it was queued, so
// that the dispatcher finds it and drops it. Both indexes are built once for an older data
// directory (index_existing).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "node/candidates/mail_entry.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::candidates {

class MailQueue {
 public:
  explicit MailQueue(storage::Environment& env);

  // When the mail under seq was queued: the sequence's first 8 bytes (0 if shorter).
  static std::int64_t queued_ms(std::string_view seq);

  // Queues entry under seq (a new sequence).
  void add(storage::WriteTxn& txn, const std::string& seq, const MailEntry& entry);
  // seq's entry, with its sealed mail; nullopt if gone or unreadable.
  std::optional<MailEntry> find(const storage::Txn& txn, std::string_view seq) const;
  // Stores `entry` as seq's, moving its index keys if its candidate or due time changed.
  // False (and nothing written) if seq is gone.
  bool replace(storage::WriteTxn& txn, std::string_view seq, const MailEntry& entry);
  // Removes seq and its index keys; false if it was gone.
  bool remove(storage::WriteTxn& txn, std::string_view seq);
  // Removes every mail queued to candidate_id; returns how many.
  std::size_t remove_candidate(storage::WriteTxn& txn, std::string_view candidate_id);

  // fn(seq, entry) in queue order until it returns false; an unreadable entry comes as an
  // empty MailEntry (no candidate).
  void for_each(const storage::Txn& txn,
                const std::function<bool(std::string_view, MailEntry)>& fn) const;
  // Up to `limit` entries due at or before due_at_ms, the longest due first: read through
  // mail_due, so mail waiting for a retry costs nothing. Unreadable entries come as in
  // for_each.
  std::vector<std::pair<std::string, MailEntry>> due(const storage::Txn& txn, std::size_t limit,
                                                     std::int64_t due_at_ms) const;
  std::size_t size(const storage::Txn& txn) const;

  // Builds both indexes over the queue, once per data directory (storage/index_marks.hpp);
  // returns how many entries it indexed.
  std::size_t index_existing(storage::WriteTxn& txn, storage::Database marks);

 private:
  void put_keys(storage::WriteTxn& txn, std::string_view seq, const MailEntry& entry);
  void del_keys(storage::WriteTxn& txn, std::string_view seq, const MailEntry& entry);

  storage::Database queue_;
  storage::Database by_candidate_;
  storage::Database due_;
};

}  // namespace relay::node::candidates
