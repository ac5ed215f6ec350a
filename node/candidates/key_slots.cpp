#include "node/candidates/key_slots.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <system_error>
#include <vector>

#include "crypto/hash.hpp"
#include "crypto/secret.hpp"
#include "node/common/key_encoding.hpp"

namespace relay::node::candidates {

namespace {

std::string taken_key(std::uint32_t index) {
  return "a" + common::be64(index);
}
std::string free_key(std::uint32_t index) {
  return "f" + common::be64(index);
}

std::array<std::uint8_t, 32> owner_tag(crypto::ByteView key, const std::string& owner) {
  return crypto::hmac_sha256(key, crypto::as_bytes("relaynode/key-slot/" + owner));
}

// As many keys as a full Writer batch of registrations makes (storage::WriterOptions).
constexpr std::size_t kFreshKeys = 1024;

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

}  // namespace

KeySlots::KeySlots(const std::filesystem::path& file, storage::Environment& env)
    : path_(file), env_(env), db_(env.database("key_slots")) {
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) fail("cannot open key slots", file);
  ::fchmod(fd_, 0600);
}

KeySlots::~KeySlots() {
  if (fd_ >= 0) ::close(fd_);
}

void KeySlots::stage_slot(std::uint32_t index, const std::string& owner,
                          const crypto::AeadKey& key) {
  auto tag = owner_tag(crypto::ByteView(key.data(), key.size()), owner);
  std::lock_guard lock(mutex_);
  auto& staged = unwritten_[index];  // a batch run again takes the same slot: the new key wins
  staged.first = key.clone();
  staged.second = tag;
  written_.insert(index);
  dirty_ = true;
  // Bounded: a migration or a peer's full sync writes thousands of keys in one txn, and they
  // need not all stay in memory until it commits (their reads go to the file).
  if (fresh_.size() < kFreshKeys || fresh_.count(index) > 0) {
    auto& kept = fresh_[index];
    kept.first = owner;
    kept.second = key.clone();
  }
  if (unwritten_.size() >= kFreshKeys) write_unwritten();
}

void KeySlots::write_unwritten() {
  // Reserved once: a buffer that grew would leave copies of keys in the memory it freed.
  std::vector<std::uint8_t> run;
  run.reserve(unwritten_.size() * kKeySlotSize);
  for (auto it = unwritten_.begin(); it != unwritten_.end();) {
    const auto first = it->first;
    run.clear();
    for (auto next = first; it != unwritten_.end() && it->first == next; ++it, ++next) {
      run.insert(run.end(), it->second.first.data(), it->second.first.data() + 32);
      run.insert(run.end(), it->second.second.begin(), it->second.second.end());
    }
    auto at = static_cast<off_t>(first) * static_cast<off_t>(kKeySlotSize);
    auto n = ::pwrite(fd_, run.data(), run.size(), at);
    crypto::secure_zero(run.data(), run.size());
    // Kept on failure: the next before_commit writes them again.
    if (n != static_cast<ssize_t>(run.size())) fail("cannot write key slots", path_);
  }
  unwritten_.clear();
}

std::uint32_t KeySlots::take(storage::WriteTxn& txn, const std::string& owner) {
  std::optional<std::uint32_t> index;
  {
    std::lock_guard lock(mutex_);
    txn.for_each_prefix(db_, "f", [&](std::string_view k, std::string_view) {
      auto i = static_cast<std::uint32_t>(common::from_be64(k.substr(1)));
      if (released_.count(i)) return true;  // not zeroed yet: never reused in the same batch
      index = i;
      return false;
    });
  }
  if (index) {
    txn.del(db_, free_key(*index));
  } else {
    std::uint32_t next = 0;
    if (auto v = txn.get(db_, "next")) next = static_cast<std::uint32_t>(std::stoul(*v));
    index = next;
    txn.put(db_, "next", std::to_string(next + 1));
  }
  txn.put(db_, taken_key(*index), owner);
  return *index;
}

KeySlots::Slot KeySlots::allocate(storage::WriteTxn& txn, const std::string& owner) {
  Slot slot{take(txn, owner), crypto::random_secret<crypto::AeadKey>()};
  stage_slot(slot.index, owner, slot.key);
  return slot;
}

std::uint32_t KeySlots::adopt(storage::WriteTxn& txn, const std::string& owner,
                              const crypto::AeadKey& key) {
  auto index = take(txn, owner);
  stage_slot(index, owner, key);
  return index;
}

std::optional<crypto::AeadKey> KeySlots::read(std::uint32_t index, const std::string& owner) const {
  {
    std::lock_guard lock(mutex_);
    if (auto it = fresh_.find(index); it != fresh_.end() && it->second.first == owner)
      return it->second.second.clone();
    // Not in the file yet (fresh_ was full): the tag says whose it is, as the slot's would.
    if (auto it = unwritten_.find(index); it != unwritten_.end()) {
      const auto& [key, tag] = it->second;
      auto owners = owner_tag(crypto::ByteView(key.data(), key.size()), owner);
      if (!std::equal(owners.begin(), owners.end(), tag.begin())) return std::nullopt;
      return key.clone();
    }
  }
  std::array<std::uint8_t, kKeySlotSize> slot{};
  auto at = static_cast<off_t>(index) * static_cast<off_t>(kKeySlotSize);
  auto n = ::pread(fd_, slot.data(), slot.size(), at);
  if (n != static_cast<ssize_t>(kKeySlotSize)) return std::nullopt;
  auto tag = owner_tag(crypto::ByteView(slot.data(), 32), owner);
  std::optional<crypto::AeadKey> key;
  if (std::equal(tag.begin(), tag.end(), slot.begin() + 32))
    key.emplace(std::span<const std::uint8_t, 32>(slot.data(), 32));
  crypto::secure_zero(slot.data(), slot.size());
  return key;
}

bool KeySlots::release(storage::WriteTxn& txn, std::uint32_t index, bool journal) {
  auto owner = txn.get(db_, taken_key(index));
  if (!owner) return false;
  txn.del(db_, taken_key(index));
  txn.put(db_, free_key(index), "");
  std::lock_guard lock(mutex_);
  auto& noted = released_[index];
  if (journal) noted = *owner;
  return true;
}

void KeySlots::install(storage::Writer& writer) {
  writer.before_commit([this] { before_commit(); });
  writer.on_commit([this] { after_commit(); });
}

void KeySlots::before_commit() {
  {
    std::lock_guard lock(mutex_);
    if (!dirty_) return;
    write_unwritten();
  }
  if (::fdatasync(fd_) != 0) fail("cannot sync key slots", path_);
  std::lock_guard lock(mutex_);
  dirty_ = false;
}

void KeySlots::zero(std::uint32_t index) {
  std::array<std::uint8_t, kKeySlotSize> zeros{};
  auto at = static_cast<off_t>(index) * static_cast<off_t>(kKeySlotSize);
  if (::pwrite(fd_, zeros.data(), zeros.size(), at) != static_cast<ssize_t>(kKeySlotSize))
    fail("cannot zero key slot", path_);
}

void KeySlots::after_commit() {
  std::set<std::uint32_t> candidates;
  std::map<std::uint32_t, std::string> journaled;
  {
    std::lock_guard lock(mutex_);
    fresh_.clear();  // before anything below zeroes a slot one of them mirrors
    // Keys of a txn that did not commit: before_commit wrote every key of one that did.
    unwritten_.clear();
    if (released_.empty() && written_.empty()) return;
    for (const auto& [i, owner] : released_) {
      candidates.insert(i);
      if (!owner.empty()) journaled[i] = owner;
    }
    candidates.insert(written_.begin(), written_.end());
  }
  try {
    std::size_t zeroed = 0;
    {
      auto txn = env_.begin_read();
      std::vector<std::uint32_t> doomed;
      std::vector<std::string> owners;
      for (auto i : candidates)
        if (!txn.contains(db_, taken_key(i))) {
          doomed.push_back(i);  // released, or written by a request that did not commit
          if (auto it = journaled.find(i); it != journaled.end()) owners.push_back(it->second);
        }
      // Journal first: a backup copies the key file, then the journal, so any key missing
      // from its copy has its erasure in the journal.
      if (!owners.empty()) append_journal(owners);
      for (auto i : doomed) zero(i);
      zeroed = doomed.size();
    }
    if (zeroed > 0 && ::fdatasync(fd_) != 0) fail("cannot sync key slots", path_);
    std::lock_guard lock(mutex_);
    for (auto i : candidates) {
      released_.erase(i);
      written_.erase(i);
    }
  } catch (const std::exception& e) {
    // Kept in the sets: the next commit tries again, and recover() at the next start.
    spdlog::error("candidates: zeroing released key slots failed: {}", e.what());
  }
}

void KeySlots::commit(storage::WriteTxn& txn) {
  before_commit();
  txn.commit();
  after_commit();
}

std::size_t KeySlots::recover() {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail("cannot stat key slots", path_);
  auto slots = static_cast<std::uint32_t>(static_cast<std::size_t>(st.st_size) / kKeySlotSize);
  std::size_t held = 0;
  {
    auto txn = env_.begin_read();
    // Every index below "next" is either taken ("a") or free ("f"): a key a crash left behind
    // can only be in a free slot (released, not yet zeroed) or at or past "next" (allocated by
    // a batch that never committed). So only those are read, not the whole file; without
    // "next" (no slot ever committed) every slot is.
    std::vector<std::uint32_t> suspects;
    std::uint32_t next = 0;
    if (auto v = txn.get(db_, "next")) next = static_cast<std::uint32_t>(std::stoul(*v));
    txn.for_each_prefix(db_, "f", [&](std::string_view k, std::string_view) {
      suspects.push_back(static_cast<std::uint32_t>(common::from_be64(k.substr(1))));
    });
    for (std::uint32_t i = next; i < slots; ++i) suspects.push_back(i);
    std::array<std::uint8_t, kKeySlotSize> slot{};
    for (auto i : suspects) {
      if (i >= slots || txn.contains(db_, taken_key(i))) continue;
      auto at = static_cast<off_t>(i) * static_cast<off_t>(kKeySlotSize);
      if (::pread(fd_, slot.data(), slot.size(), at) != static_cast<ssize_t>(kKeySlotSize))
        fail("cannot read key slots", path_);
      bool empty = std::all_of(slot.begin(), slot.end(), [](std::uint8_t b) { return b == 0; });
      if (empty) continue;
      zero(i);
      ++held;
    }
    crypto::secure_zero(slot.data(), slot.size());
  }
  if (::fdatasync(fd_) != 0) fail("cannot sync key slots", path_);
  std::lock_guard lock(mutex_);
  released_.clear();
  written_.clear();
  unwritten_.clear();  // made in no batch that committed (none runs yet)
  dirty_ = false;
  return held;
}

std::size_t KeySlots::taken(const storage::Txn& txn) const {
  std::size_t n = 0;
  txn.for_each_prefix(db_, "a", [&](std::string_view, std::string_view) { ++n; });
  return n;
}

void KeySlots::for_each_owner(
    const storage::Txn& txn,
    const std::function<void(const std::string& owner, std::uint32_t)>& fn) const {
  txn.for_each_prefix(db_, "a", [&](std::string_view k, std::string_view v) {
    fn(std::string(v), static_cast<std::uint32_t>(common::from_be64(k.substr(1))));
  });
}

std::filesystem::path KeySlots::journal_path() const {
  return path_.parent_path() / "erasures";
}

std::vector<std::string> KeySlots::journal() const {
  std::vector<std::string> out;
  std::ifstream in(journal_path());
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);  // a torn last line (crash) is a prefix: harmless
  return out;
}

void KeySlots::append_journal(const std::vector<std::string>& owners) {
  std::string text;
  for (const auto& o : owners) text += o + "\n";
  int fd = ::open(journal_path().c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot open erasure journal", journal_path());
  // A line torn by a crash is ended first, so it cannot swallow the next one.
  struct stat st {};
  char last = '\n';
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    int rd = ::open(journal_path().c_str(), O_RDONLY | O_CLOEXEC);
    if (rd >= 0) {
      if (::pread(rd, &last, 1, st.st_size - 1) != 1) last = '\n';
      ::close(rd);
    }
  }
  if (last != '\n') text.insert(text.begin(), '\n');
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fdatasync(fd) == 0;
  ::close(fd);
  if (!ok) fail("cannot append to erasure journal", journal_path());
}

void KeySlots::set_mark(storage::WriteTxn& txn, const std::string& name, bool on) {
  if (on)
    txn.put(db_, "mark/" + name, "1");
  else
    txn.del(db_, "mark/" + name);
}

bool KeySlots::mark(const storage::Txn& txn, const std::string& name) const {
  return txn.contains(db_, "mark/" + name);
}

}  // namespace relay::node::candidates
