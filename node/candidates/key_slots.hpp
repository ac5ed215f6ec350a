#pragma once
// Per-owner keys kept where deleting one really overwrites it: a file of fixed-size slots
// (<data_dir>/candidate_keys, mode 0600), outside LMDB. LMDB never wipes a freed page nor the
// unused tail of a live one, so a key stored in a record survives its "deletion" in data.mdb;
// a slot is overwritten in place with zeros instead (pwrite + fdatasync), after which no copy
// of anything sealed under that key opens, in data.mdb's free pages or anywhere else.
//
// Slot i is bytes [64 i, 64 i + 64): the 32-byte key, then HMAC-SHA256(key, "relaynode/
// key-slot/" + owner), so a stale reference to a slot reused by another owner reads nothing.
// An all-zero slot is empty. Which slots are taken is LMDB state (database `key_slots`:
// "a" + be64(i) -> owner, "f" + be64(i) -> "" for a free slot, "next" -> decimal), so it
// commits, or rolls back, with the record that names the slot.
//
// Crash ordering (Writer hooks, install()):
//  - allocate() makes the new key during the request and keeps it in memory; before_commit()
//    writes the batch's new keys (one pwrite per run of adjacent slots, not one per key: a
//    batch of registrations takes consecutive slots) and fdatasyncs the file before LMDB
//    commits, so a committed record never names a key a crash could lose. A crash before the
//    commit may leave a key in a slot LMDB still lists as free: recover() zeroes it.
//  - release() frees the slot in the txn only; after_commit() (run after the fsync, before
//    any future of the batch resolves) zeroes it and fdatasyncs, so an erasure is acknowledged
//    only once its key is gone. A crash between the commit and the zeroing leaves the key in a
//    free slot: recover(), at the next start before serving, zeroes it. A slot released in a
//    batch is not allocated again until zeroed, so a crash can never make a record that did
//    not commit its erasure read someone else's key (or lose its own).
// Filesystems that copy on write (btrfs, ZFS) and SSD wear levelling may keep the old block
// below the file: the file is overwritten, the device is the operator's (docs/operations.md).
//
// Threads: allocate/release inside Writer requests (or a set-up txn); the hooks on the writer
// thread; read() from any thread (pread, or the keys made since the last after_commit).
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crypto/keys.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::candidates {

inline constexpr std::size_t kKeySlotSize = 64;

class KeySlots {
 public:
  // Opens (creates, 0600) `file` and the `key_slots` database. Throws std::system_error.
  KeySlots(const std::filesystem::path& file, storage::Environment& env);
  ~KeySlots();
  KeySlots(const KeySlots&) = delete;
  KeySlots& operator=(const KeySlots&) = delete;

  struct Slot {
    std::uint32_t index = 0;
    crypto::AeadKey key;
  };
  // Takes a free slot (never one released earlier in this batch) for a new random key for
  // `owner`, written to it by before_commit (or sooner: see unwritten_).
  Slot allocate(storage::WriteTxn& txn, const std::string& owner);
  // The same with a given key for `owner` (migration of keys kept elsewhere).
  std::uint32_t adopt(storage::WriteTxn& txn, const std::string& owner, const crypto::AeadKey& key);
  // The key in slot `index` if it belongs to `owner`; nullopt once released (or never).
  std::optional<crypto::AeadKey> read(std::uint32_t index, const std::string& owner) const;
  // Frees the slot in txn; its bytes are zeroed after the commit (after_commit). False if the
  // slot was not taken. With `journal`, its owner is appended to the erasure journal first.
  bool release(storage::WriteTxn& txn, std::uint32_t index, bool journal = false);

  // Installs before_commit and after_commit on the writer (wiring, before serving).
  void install(storage::Writer& writer);
  // Writes the keys made since the last call and fdatasyncs them. Throws std::system_error
  // (fails the batch).
  void before_commit();
  // Zeroes (and fdatasyncs) every slot released or written since the last call that the
  // committed state lists as not taken, after appending the journaled owners among them to
  // the erasure journal (fdatasync'd too). An I/O failure is logged and retried at the next
  // call.
  void after_commit();
  // For set-up code and tools that commit with begin_write (no Writer): before_commit, commit,
  // after_commit in one call.
  void commit(storage::WriteTxn& txn);

  // At start-up, before serving, with no Writer running: zeroes every slot of the file that
  // LMDB does not list as taken (left by a crash on either side of a commit). Returns how many
  // held a key.
  std::size_t recover();
  // Slots taken now.
  std::size_t taken(const storage::Txn& txn) const;
  // Calls fn(owner) for every slot taken.
  void for_each_owner(const storage::Txn& txn,
                      const std::function<void(const std::string& owner, std::uint32_t)>& fn) const;
  const std::filesystem::path& path() const { return path_; }
  // The erasure journal (<dir of the key file>/erasures): one owner a line, each one whose
  // erasure committed (no personal data: record ids). It outlives what a backup restores:
  // Store::start_up erases again every journaled record that is live (docs/operations.md).
  std::filesystem::path journal_path() const;
  std::vector<std::string> journal() const;
  // Appends owners to the journal (restore --erasures), fdatasync'd.
  void append_journal(const std::vector<std::string>& owners);

  // Named flags kept with the slots ("retire_data_key": Store::migrate).
  void set_mark(storage::WriteTxn& txn, const std::string& name, bool on);
  bool mark(const storage::Txn& txn, const std::string& name) const;

 private:
  void stage_slot(std::uint32_t index, const std::string& owner, const crypto::AeadKey& key);
  // Writes unwritten_ to the file, one pwrite per run of adjacent slots. Holds mutex_.
  void write_unwritten();
  std::uint32_t take(storage::WriteTxn& txn, const std::string& owner);
  void zero(std::uint32_t index);

  std::filesystem::path path_;
  storage::Environment& env_;
  storage::Database db_;
  int fd_ = -1;
  mutable std::mutex mutex_;                       // guards the sets, fresh_ and dirty_
  std::map<std::uint32_t, std::string> released_;  // since the last after_commit, with the
                                                   // owner to journal (or ""): not reused
                                                   // until zeroed
  std::set<std::uint32_t> written_;                // since the last after_commit
  // The keys written since the last after_commit (slot -> owner, key), as their slots hold
  // them: read() answers from here without a pread and an HMAC (a registration reads the key
  // it has just made, to seal its mail). At most 1024 (key_slots.cpp). Dropped before any
  // slot is zeroed.
  std::map<std::uint32_t, std::pair<std::string, crypto::AeadKey>> fresh_;
  // The keys made but not yet in the file (slot -> key, owner tag): written by before_commit,
  // or as soon as there are 1024 of them (a migration's thousands of keys are not all held).
  std::map<std::uint32_t, std::pair<crypto::AeadKey, std::array<std::uint8_t, 32>>> unwritten_;
  bool dirty_ = false;
};

}  // namespace relay::node::candidates
