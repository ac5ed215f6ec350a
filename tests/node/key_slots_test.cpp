// node/candidates/key_slots: keys outside LMDB, overwritten on release; free slots reused; the
// crash orders on both sides of a commit (a crash hook: the commit or the zeroing left out),
// and a process killed with SIGKILL while it allocates and releases.
#include "node/candidates/key_slots.hpp"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/key_file.hpp"
#include "node/candidates/pending_expiry.hpp"
#include "node/candidates/vault.hpp"
#include "node/domain_fixture.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/index_marks.hpp"
#include "node/storage/writer.hpp"
#include "support/temp_dir.hpp"

using namespace relay::node;
using relay::node::candidates::KeySlots;
using relay::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string slot_bytes(const fs::path& path, std::uint32_t index) {
  auto all = file_bytes(path);
  auto at = static_cast<std::size_t>(index) * candidates::kKeySlotSize;
  if (at + candidates::kKeySlotSize > all.size()) return {};
  return all.substr(at, candidates::kKeySlotSize);
}

bool zero(const std::string& bytes) {
  return !bytes.empty() && std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

std::string key_text(const relay::crypto::AeadKey& key) {
  return std::string(reinterpret_cast<const char*>(key.data()), key.size());
}

struct Slots {
  TempDir dir{"key-slots"};
  storage::Environment env = storage::Environment::open(dir.path / "lmdb");
  fs::path file = dir.path / "candidate_keys";
};

}  // namespace

TEST_SUITE_BEGIN("key slots");

TEST_CASE("key slots: a key reads back for its owner only, also after reopening") {
  Slots s;
  std::uint32_t index = 0;
  std::string key;
  {
    KeySlots slots(s.file, s.env);
    auto txn = s.env.begin_write();
    auto slot = slots.allocate(txn, "c_alice");
    index = slot.index;
    key = key_text(slot.key);
    slots.commit(txn);
    auto read = slots.read(index, "c_alice");
    REQUIRE(read);
    CHECK(key_text(*read) == key);
    CHECK_FALSE(slots.read(index, "c_bob"));  // a stale reference to a reused slot reads nothing
    CHECK_FALSE(slots.read(index + 5, "c_alice"));
    CHECK((fs::status(s.file).permissions() & fs::perms::group_all) == fs::perms::none);
  }
  KeySlots reopened(s.file, s.env);
  CHECK(reopened.recover() == 0);  // nothing left over
  auto read = reopened.read(index, "c_alice");
  REQUIRE(read);
  CHECK(key_text(*read) == key);
  auto txn = s.env.begin_read();
  CHECK(reopened.taken(txn) == 1);
}

TEST_CASE(
    "key slots: release zeroes the slot after the commit, journals it, and the slot is "
    "reused, but never in the batch that released it") {
  Slots s;
  KeySlots slots(s.file, s.env);
  std::uint32_t a = 0;
  std::uint32_t b = 0;
  {
    auto txn = s.env.begin_write();
    a = slots.allocate(txn, "c_alice").index;
    b = slots.allocate(txn, "c_bob").index;
    slots.commit(txn);
  }
  CHECK(a != b);
  CHECK_FALSE(zero(slot_bytes(s.file, a)));
  {
    auto txn = s.env.begin_write();
    CHECK(slots.release(txn, a, true));
    CHECK_FALSE(slots.release(txn, a, true));  // released already
    // Same batch: alice's slot is not handed out again before it is zeroed (a crash before
    // this commit would otherwise leave alice's live record naming carol's key).
    auto c = slots.allocate(txn, "c_carol").index;
    CHECK(c != a);
    CHECK(c != b);
    txn.commit();
    CHECK_FALSE(zero(slot_bytes(s.file, a)));  // the commit alone does not zero...
    slots.after_commit();                      // ...the hook does, before acknowledging
  }
  CHECK(zero(slot_bytes(s.file, a)));
  CHECK_FALSE(slots.read(a, "c_alice"));
  CHECK(slots.read(b, "c_bob"));
  CHECK(slots.journal() == std::vector<std::string>{"c_alice"});
  // The next batch takes the freed slot.
  auto txn = s.env.begin_write();
  CHECK(slots.allocate(txn, "c_dave").index == a);
  slots.commit(txn);
  CHECK(slots.read(a, "c_dave"));
}

TEST_CASE(
    "key slots: a crash before the commit leaves a key nothing names; recover() zeroes "
    "it and the slot is free") {
  Slots s;
  std::uint32_t index = 0;
  {
    KeySlots slots(s.file, s.env);
    auto txn = s.env.begin_write();
    index = slots.allocate(txn, "c_ghost").index;
    slots.before_commit();  // durable on disk...
    txn.abort();            // ...but the process dies before LMDB commits
  }
  CHECK_FALSE(zero(slot_bytes(s.file, index)));
  KeySlots restarted(s.file, s.env);
  CHECK(restarted.recover() == 1);
  CHECK(zero(slot_bytes(s.file, index)));
  auto txn = s.env.begin_write();
  CHECK(restarted.allocate(txn, "c_next").index == index);
  restarted.commit(txn);
}

TEST_CASE(
    "key slots: a crash after an erasure commits but before the zeroing loses nothing "
    "live, and recover() zeroes the released key") {
  Slots s;
  std::uint32_t gone = 0;
  std::uint32_t kept = 0;
  std::string kept_key;
  {
    KeySlots slots(s.file, s.env);
    {
      auto txn = s.env.begin_write();
      gone = slots.allocate(txn, "c_erased").index;
      auto k = slots.allocate(txn, "c_live");
      kept = k.index;
      kept_key = key_text(k.key);
      slots.commit(txn);
    }
    auto txn = s.env.begin_write();
    slots.release(txn, gone, true);
    slots.before_commit();
    txn.commit();  // durable: the erasure is in LMDB; the process dies before after_commit
  }
  CHECK_FALSE(zero(slot_bytes(s.file, gone)));  // what the crash left
  KeySlots restarted(s.file, s.env);
  CHECK(restarted.recover() == 1);
  CHECK(zero(slot_bytes(s.file, gone)));
  auto read = restarted.read(kept, "c_live");
  REQUIRE(read);
  CHECK(key_text(*read) == kept_key);
}

TEST_CASE(
    "key slots: a request that rolls back leaves no key behind; a failing pre-commit hook "
    "fails its batch uncommitted") {
  Slots s;
  KeySlots slots(s.file, s.env);
  storage::Writer writer(s.env);
  slots.install(writer);
  std::uint32_t index = 0;
  auto rolled = writer.submit([&](storage::WriteTxn& txn) {
    index = slots.allocate(txn, "c_rolled").index;
    throw storage::Rollback<int>{7};
    return 0;
  });
  auto kept =
      writer.submit([&](storage::WriteTxn& txn) { return slots.allocate(txn, "c_kept").index; });
  CHECK(rolled.get() == 7);
  auto kept_index = kept.get();
  CHECK(kept_index == index);  // the rolled-back slot was free again, and overwritten
  CHECK(slots.read(kept_index, "c_kept"));
  CHECK_FALSE(slots.read(index, "c_rolled"));
  // Alone, a rolled-back allocation is zeroed after the batch commits.
  auto alone = writer.submit([&](storage::WriteTxn& txn) {
    index = slots.allocate(txn, "c_alone").index;
    throw storage::Rollback<int>{1};
    return 0;
  });
  CHECK(alone.get() == 1);
  CHECK(zero(slot_bytes(s.file, index)));
  CHECK_FALSE(slots.read(index, "c_alone"));  // not from the keys the batch wrote either
  // A pre-commit hook that throws fails the batch: nothing of it is committed.
  writer.before_commit([] { throw std::runtime_error("disk gone"); });
  auto failed =
      writer.submit([&](storage::WriteTxn& txn) { return slots.allocate(txn, "c_never").index; });
  CHECK_THROWS(failed.get());
  auto txn = s.env.begin_read();
  CHECK(slots.taken(txn) == 1);
}

TEST_CASE(
    "key slots: a key read in the batch that made it is that key; the file has it once the "
    "batch is about to commit") {
  Slots s;
  KeySlots slots(s.file, s.env);
  auto txn = s.env.begin_write();
  auto slot = slots.allocate(txn, "c_new");
  // Within the batch (a registration sealing its mail), read answers with the key just made,
  // for its owner only, as the slot itself would.
  auto read = slots.read(slot.index, "c_new");
  REQUIRE(read);
  CHECK(*read == slot.key);
  CHECK_FALSE(slots.read(slot.index, "c_other"));
  // The batch's keys are written together by before_commit (the pre-commit hook), not one
  // pwrite per key as they are made.
  CHECK_FALSE(slot_bytes(s.file, slot.index).substr(0, 32) == key_text(slot.key));
  slots.before_commit();
  CHECK(slot_bytes(s.file, slot.index).substr(0, 32) == key_text(slot.key));
  // The batch does not commit: once it is over the slot is zeroed, and nothing reads the key.
  txn.abort();
  slots.after_commit();
  CHECK(zero(slot_bytes(s.file, slot.index)));
  CHECK_FALSE(slots.read(slot.index, "c_new"));
}

TEST_CASE(
    "key slots: keys of a batch that never reached the file are dropped with it, not written "
    "by the next one") {
  Slots s;
  KeySlots slots(s.file, s.env);
  std::uint32_t index = 0;
  {
    auto txn = s.env.begin_write();
    index = slots.allocate(txn, "c_dropped").index;
    txn.abort();  // no before_commit: the key never left memory
    slots.after_commit();
  }
  CHECK_FALSE(slots.read(index, "c_dropped"));
  auto txn = s.env.begin_write();
  auto other = slots.allocate(txn, "c_other");
  CHECK(other.index == index);  // the free slot again
  slots.commit(txn);
  CHECK(slot_bytes(s.file, index).substr(0, 32) == key_text(other.key));
  CHECK_FALSE(slots.read(index, "c_dropped"));
  REQUIRE(slots.read(index, "c_other"));
  CHECK(*slots.read(index, "c_other") == other.key);
}

TEST_CASE("key slots: a batch that writes more keys than memory keeps reads them all back") {
  Slots s;
  KeySlots slots(s.file, s.env);
  auto txn = s.env.begin_write();
  std::vector<KeySlots::Slot> written;
  for (int i = 0; i < 1500; ++i) written.push_back(slots.allocate(txn, "c_" + std::to_string(i)));
  int same = 0;
  for (int i = 0; i < 1500; ++i) {
    auto read = slots.read(written[i].index, "c_" + std::to_string(i));
    same += read && *read == written[i].key ? 1 : 0;
  }
  CHECK(same == 1500);
  slots.commit(txn);
  CHECK(slots.read(written.back().index, "c_1499"));
}

namespace {

// The child: allocates and releases through a Writer (hooks installed, as the node does) and
// reports each acknowledged step on fd as "+<index> <owner> <hex key>" or "-<index> <owner>",
// and each release before it starts as "~<index> <owner>".
[[noreturn]] void churn_until_killed(const fs::path& dir, int fd) {
  try {
    auto env = storage::Environment::open(dir / "lmdb");
    KeySlots slots(dir / "candidate_keys", env);
    slots.recover();
    storage::Writer writer(env);
    slots.install(writer);
    std::mt19937 rng{std::random_device{}()};
    std::vector<std::pair<std::uint32_t, std::string>> live;
    for (std::uint64_t n = 0;; ++n) {
      std::string line;
      if (!live.empty() && rng() % 3 == 0) {
        auto at = rng() % live.size();
        auto index = live[at].first;
        auto owner = live[at].second;
        live.erase(live.begin() + static_cast<long>(at));
        // Said before it starts: a kill before its acknowledgement may leave it either way.
        auto intent = "~" + std::to_string(index) + " " + owner + "\n";
        if (::write(fd, intent.data(), intent.size()) != static_cast<ssize_t>(intent.size()))
          ::_exit(2);
        writer.submit_wait([&](storage::WriteTxn& txn) { slots.release(txn, index, true); });
        line = "-" + std::to_string(index) + " " + owner + "\n";
      } else {
        auto owner = "c_" + std::to_string(::getpid()) + "_" + std::to_string(n);
        auto [index, key] = writer.submit_wait([&](storage::WriteTxn& txn) {
          auto slot = slots.allocate(txn, owner);
          return std::make_pair(slot.index, relay::crypto::to_hex(relay::crypto::ByteView(
                                                slot.key.data(), slot.key.size())));
        });
        live.emplace_back(index, owner);
        line = "+" + std::to_string(index) + " " + owner + " " + key + "\n";
      }
      if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(2);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "key slot child: %s\n", e.what());
    ::_exit(3);
  }
}

}  // namespace

TEST_CASE(
    "key slots: killed with SIGKILL while allocating and releasing, every acknowledged "
    "key reads and every acknowledged release is zeroed after recover()") {
  TempDir dir{"key-slots-kill"};
  std::mt19937 rng{std::random_device{}()};
  std::map<std::string, std::pair<std::uint32_t, std::string>> live;  // owner -> index, key
  std::map<std::string, std::uint32_t> released;
  for (int round = 0; round < 3; ++round) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      churn_until_killed(dir.path, fds[1]);
    }
    REQUIRE(pid > 0);
    ::close(fds[1]);
    const auto kill_after = std::chrono::milliseconds(20 + rng() % 200);
    const auto started = std::chrono::steady_clock::now();
    bool killed = false;
    std::string pending;
    std::string in_flight;  // the owner whose release was started and not acknowledged
    char chunk[4096];
    std::size_t acks = 0;
    for (;;) {
      ssize_t n = ::read(fds[0], chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending.append(chunk, static_cast<std::size_t>(n));
      for (std::size_t end; (end = pending.find('\n')) != std::string::npos;) {
        auto line = pending.substr(0, end);
        pending.erase(0, end + 1);
        auto space = line.find(' ');
        auto index = static_cast<std::uint32_t>(std::stoul(line.substr(1, space - 1)));
        auto rest = line.substr(space + 1);
        if (line[0] == '~') {
          in_flight = rest;
          continue;
        }
        ++acks;
        in_flight.clear();
        if (line[0] == '+') {
          auto owner = rest.substr(0, rest.find(' '));
          live[owner] = {index, rest.substr(rest.find(' ') + 1)};
        } else {
          live.erase(rest);
          released[rest] = index;
        }
      }
      if (!killed && acks >= 20 && std::chrono::steady_clock::now() - started >= kill_after) {
        REQUIRE(::kill(pid, SIGKILL) == 0);
        killed = true;
      }
    }
    ::close(fds[0]);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(killed);
    MESSAGE("round " << round << ": killed after " << acks << " acknowledged steps");

    auto env = storage::Environment::open(dir.path / "lmdb");
    KeySlots slots(dir.path / "candidate_keys", env);
    slots.recover();
    std::size_t missing = 0;
    // A release the kill interrupted may have committed (or not): that owner is not judged.
    if (!in_flight.empty()) live.erase(in_flight);
    for (const auto& [owner, slot] : live) {
      auto key = slots.read(slot.first, owner);
      if (!key ||
          relay::crypto::to_hex(relay::crypto::ByteView(key->data(), key->size())) != slot.second)
        ++missing;
    }
    CHECK(missing == 0);
    std::size_t readable = 0;
    for (const auto& [owner, index] : released) readable += slots.read(index, owner) ? 1 : 0;
    CHECK(readable == 0);
    // Every released owner whose release was acknowledged is in the journal.
    auto journal = slots.journal();
    std::size_t unjournaled = 0;
    for (const auto& [owner, index] : released)
      unjournaled += std::find(journal.begin(), journal.end(), owner) == journal.end() ? 1 : 0;
    CHECK(unjournaled == 0);
  }
}

TEST_SUITE_END();

// The Store on key slots (tests/node/domain_fixture.hpp wires the hooks as node.cpp does).

namespace {

candidates::Registration registration(const std::string& email) {
  candidates::Registration reg;
  reg.personal = {"Slot Hanako", email, "078-555-0100"};
  reg.profile.job_category = "D";
  reg.profile.skills = {"sales"};
  reg.profile.prefecture = "JP-27";
  reg.profile.age_band = "25-34";
  reg.profile.experience_band = "3-5";
  reg.consent = {true, true, true, "2026-11-01", 1};
  return reg;
}

}  // namespace

TEST_SUITE_BEGIN("key slots");

TEST_CASE(
    "key slots: an old copy of an erased record (as LMDB's free pages keep it) opens "
    "nothing once the erasure is acknowledged") {
  relay::test::Domain d;
  auto reg = registration("slot.hanako@example.jp");
  auto created = d.write([&](storage::WriteTxn& txn) {
    auto r = d.candidates.create(txn, reg, d.candidates.pseudonym_of(reg.personal.email));
    d.candidates.queue_mail(txn, r, {"relay@unit", reg.personal.email, "s", "b"});
    return r;
  });
  auto old_copy = candidates::to_stored(created);  // what a free page still holds
  CHECK_FALSE(old_copy.contains("key"));           // no wrapped key next to the data
  REQUIRE(old_copy.contains("slot"));
  REQUIRE(d.candidates.open(candidates::from_stored(old_copy)));
  d.write([&](storage::WriteTxn& txn) {
    auto r = d.candidates.find(txn, created.id);
    d.candidates.erase(txn, *r);
  });
  CHECK_FALSE(d.candidates.open(candidates::from_stored(old_copy)));
  auto file = d.dir.path / "candidate_keys";
  CHECK(zero(slot_bytes(file, old_copy.at("slot").get<std::uint32_t>())));
  // And no key in the file opens the sealed data, whatever slot it sits in.
  auto all = file_bytes(file);
  for (std::size_t at = 0; at + 32 <= all.size(); at += candidates::kKeySlotSize) {
    relay::crypto::AeadKey key(std::span<const std::uint8_t, 32>(
        reinterpret_cast<const std::uint8_t*>(all.data() + at), 32));
    CHECK_FALSE(
        candidates::open_json(key, old_copy.at("data").get<std::string>(), created.id, "data"));
  }
  CHECK(d.candidates.key_slots().journal() == std::vector<std::string>{created.id});
}

TEST_CASE(
    "key slots: records written before key slots migrate at start; the retired data key "
    "opens no old copy") {
  relay::test::Domain d;
  auto reg = registration("legacy.taro@example.jp");
  // A record as the node wrote it before key slots: its key wrapped by the data key, inside.
  auto legacy = d.write([&](storage::WriteTxn& txn) {
    auto r = d.candidates.create(txn, reg, d.candidates.pseudonym_of(reg.personal.email));
    d.candidates.queue_mail(txn, r, {"relay@unit", reg.personal.email, "s", "legacy body"});
    auto j = candidates::to_stored(r);
    auto slot = j.at("slot").get<std::uint32_t>();
    auto key = *d.candidates.key_slots().read(slot, r.id);
    d.candidates.key_slots().release(txn, slot);
    j.erase("slot");
    j["key"] = candidates::wrap_key(d.keys.current()->data_key, key, r.id);
    j["data"] = candidates::seal_json(
        key, {{"personal", reg.personal.to_json()}, {"profile", reg.profile.to_json()}}, r.id,
        "data");
    // Its queued mail, sealed under the old key.
    std::string seq;
    txn.for_each_prefix(d.env.database("mail_queue"), "",
                        [&](std::string_view k, std::string_view) { seq = std::string(k); });
    nlohmann::json entry = {{"candidate", r.id},
                            {"mail", candidates::seal_json(key,
                                                           {{"from", "relay@unit"},
                                                            {"to", reg.personal.email},
                                                            {"subject", "s"},
                                                            {"body", "legacy body"}},
                                                           r.id, "mail")}};
    txn.put(d.env.database("mail_queue"), seq, entry.dump());
    txn.put(d.env.database("candidates"), r.id, j.dump());
    return j;
  });
  REQUIRE(d.candidates.open(candidates::from_stored(legacy)));  // still reads before migration
  auto data_key = d.dir.path / "data.key";
  relay::crypto::write_secret_file(data_key, d.keys.current()->data_key.view());
  d.writer.stop();  // start-up runs before the node's Writer
  CHECK(d.candidates.start_up(data_key).empty());
  auto txn = d.env.begin_read();
  auto migrated = d.candidates.find(txn, legacy.at("id").get<std::string>());
  REQUIRE(migrated);
  auto opened = d.candidates.open(*migrated);
  REQUIRE(opened);
  CHECK(opened->personal.email == reg.personal.email);
  auto stored = candidates::to_stored(*migrated);
  CHECK_FALSE(stored.contains("key"));
  CHECK(stored.contains("slot"));
  auto mail = d.candidates.queued_mail(txn, 10);
  REQUIRE(mail.size() == 1);
  CHECK(mail[0].mail.body == "legacy body");
  // The old copy: its wrapped key no longer unwraps with the key file now in the directory,
  // and the store no longer tries.
  auto retired = relay::crypto::read_secret_file<relay::crypto::AeadKey>(data_key);
  CHECK_FALSE(retired == d.keys.current()->data_key);
  CHECK_FALSE(candidates::unwrap_key(retired, legacy.at("key").get<std::string>(),
                                     legacy.at("id").get<std::string>()));
  CHECK_FALSE(d.candidates.open(candidates::from_stored(legacy)));
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("key slots");

TEST_CASE(
    "key slots: a pending registration is shredded once its newest confirmation link "
    "expired") {
  relay::test::Domain d;
  candidates::PendingExpiry expiry(d.env, d.candidates);
  auto reg = registration("pending.jiro@example.jp");
  const auto t = d.clock.now_ms();
  auto reg2 = registration("pending.saburo@example.jp");
  auto [created, listed] = d.write([&](storage::WriteTxn& txn) {
    // Links as intake lists them (the intake state), and as older versions stored them.
    auto r = d.candidates.create(txn, reg, d.candidates.pseudonym_of(reg.personal.email));
    r.intake.emplace();
    // Registered again later, through another member: a fresh link, valid longer.
    r.intake->links = {{"r_first", t + 5'000}, {"r_second", t + 9'000}};
    d.candidates.save(txn, r);
    auto old = d.candidates.create(txn, reg2, d.candidates.pseudonym_of(reg2.personal.email));
    d.candidates.bind_token(txn, "older-link-000000000001", old.id, "verify",
                            {{"expires_ms", t + 5'000}});
    d.candidates.bind_token(txn, "older-link-000000000002", old.id, "verify",
                            {{"expires_ms", t + 9'000}});
    return std::pair{old, r};
  });
  auto slots = {candidates::to_stored(created).at("slot").get<std::uint32_t>(),
                candidates::to_stored(listed).at("slot").get<std::uint32_t>()};
  CHECK(
      d.write([&](storage::WriteTxn& txn) { return expiry.shred(txn, t + 8'000, 1'000); }).empty());
  auto shredded =
      d.write([&](storage::WriteTxn& txn) { return expiry.shred(txn, t + 9'001, 1'000); });
  std::sort(shredded.begin(), shredded.end());
  auto expected = std::vector<std::string>{created.id, listed.id};
  std::sort(expected.begin(), expected.end());
  CHECK(shredded == expected);
  auto txn = d.env.begin_read();
  for (const auto& r : {created, listed}) {
    CHECK(d.candidates.find(txn, r.id)->status == candidates::Status::erased);
    CHECK_FALSE(d.candidates.find_by_pseudonym(txn, r.pseudonym));
  }
  for (auto slot : slots) CHECK(zero(slot_bytes(d.dir.path / "candidate_keys", slot)));
}

// The sweep reads the pending records' index, not every record (issue 19): it holds exactly
// the records registered and not confirmed, and a data directory from before it gets it
// built once at start.
TEST_CASE("key slots: candidates_pending holds exactly the pending records; built once") {
  relay::test::Domain d;
  candidates::PendingExpiry expiry(d.env, d.candidates);
  const auto t = d.clock.now_ms();
  std::vector<std::string> pending;
  d.write([&](storage::WriteTxn& txn) {
    for (int i = 0; i < 12; ++i) {
      auto reg = registration("pending" + std::to_string(i) + "@example.jp");
      auto r = d.candidates.create(txn, reg, d.candidates.pseudonym_of(reg.personal.email));
      if (i % 3 == 0) {  // confirmed
        r.status = candidates::Status::active;
        d.candidates.save(txn, r);
      } else if (i % 3 == 1) {  // erased
        d.candidates.erase(txn, r);
      } else {
        pending.push_back(r.id);
      }
    }
  });
  std::sort(pending.begin(), pending.end());
  auto ids = [&] {
    auto txn = d.env.begin_read();
    std::vector<std::string> out;
    for (const auto& r : d.candidates.pending(txn)) out.push_back(r.id);
    return out;
  };
  CHECK(pending.size() == 4);
  CHECK(ids() == pending);
  // An older data directory: no index, no mark; the start-up build finds the same records.
  d.write([&](storage::WriteTxn& txn) {
    txn.clear(d.env.database("candidates_pending"));
    txn.clear(d.env.database(storage::kIndexMarks));
  });
  CHECK(ids().empty());
  CHECK(d.write([&](storage::WriteTxn& txn) { return d.candidates.index_existing(txn); }) == 4);
  CHECK(ids() == pending);
  CHECK(d.write([&](storage::WriteTxn& txn) { return d.candidates.index_existing(txn); }) == 0);
  // Expired (no link, created long ago): every pending record is shredded, the others stay.
  auto shredded =
      d.write([&](storage::WriteTxn& txn) { return expiry.shred(txn, t + 10'000, 1'000); });
  std::sort(shredded.begin(), shredded.end());
  CHECK(shredded == pending);
  CHECK(ids().empty());
  auto txn = d.env.begin_read();
  std::size_t active = 0;
  d.candidates.for_each(txn, [&](const candidates::CandidateRecord& r) {
    active += r.status == candidates::Status::active;
    return true;
  });
  CHECK(active == 4);
}

// After a burst of registrations most pending records are young: the sweep leaves a record
// whose id says it is younger than the expiry unread. Ids from before ids carried their
// creation time ("c_" and 16 characters) are always read.
TEST_CASE("key slots: pending() skips records its ids say were created later, reads old ids") {
  relay::test::Domain d;
  const auto t = d.clock.now_ms();
  auto create = [&](const std::string& email) {
    return d.write([&](storage::WriteTxn& txn) {
      auto reg = registration(email);
      return d.candidates.create(txn, reg, d.candidates.pseudonym_of(reg.personal.email));
    });
  };
  const auto older = create("older@example.jp");
  d.clock.advance(std::chrono::milliseconds(5'000));
  const auto younger = create("younger@example.jp");
  CHECK(older.created_ms == t);
  CHECK(younger.created_ms == t + 5'000);
  auto ids = [&](std::int64_t before) {
    auto txn = d.env.begin_read();
    std::vector<std::string> out;
    for (const auto& r : d.candidates.pending(txn, before)) out.push_back(r.id);
    return out;
  };
  using Ids = std::vector<std::string>;
  CHECK(ids(t) == Ids{});
  CHECK(ids(t + 1) == Ids{older.id});
  CHECK(ids(t + 5'000) == Ids{older.id});
  CHECK(ids(t + 5'001) == Ids{older.id, younger.id});
  CHECK(ids(std::numeric_limits<std::int64_t>::max()) == Ids{older.id, younger.id});
  // The younger record's text under an id of the old form: read whatever the time asked.
  d.write([&](storage::WriteTxn& txn) {
    auto stored = txn.get(d.env.database("candidates"), younger.id);
    REQUIRE(stored);
    txn.put(d.env.database("candidates"), "c_AAAAAAAAAAAAAAAA", *stored);
    txn.put(d.env.database("candidates_pending"), "c_AAAAAAAAAAAAAAAA", "");
  });
  CHECK(ids(t) == Ids{younger.id});
  // The sweep: expiry 2 s at t + 6 s shreds the older record only (the younger one expires
  // at t + 7 s); its id alone kept the younger one from being read.
  candidates::PendingExpiry expiry(d.env, d.candidates);
  d.write([&](storage::WriteTxn& txn) {
    txn.del(d.env.database("candidates"), "c_AAAAAAAAAAAAAAAA");
    txn.del(d.env.database("candidates_pending"), "c_AAAAAAAAAAAAAAAA");
  });
  CHECK(d.write([&](storage::WriteTxn& txn) { return expiry.shred(txn, t + 6'000, 2'000); }) ==
        Ids{older.id});
  CHECK(d.write([&](storage::WriteTxn& txn) { return expiry.shred(txn, t + 7'001, 2'000); }) ==
        Ids{younger.id});
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("key slots");

TEST_CASE("key slots: registrations keep group commit (one key sync per batch, not per record)") {
  relay::test::Domain d;
  constexpr int kThreads = 8;
  constexpr int kEach = 100;
  auto reg = registration("throughput@example.jp");
  const auto before = d.writer.stats();
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        d.write([&](storage::WriteTxn& txn) {
          return d.candidates
              .create(txn, reg,
                      d.candidates.pseudonym_of(std::to_string(t) + "." + std::to_string(i)))
              .id;
        });
    });
  for (auto& th : threads) th.join();
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto after = d.writer.stats();
  const auto batches = after.batches_committed - before.batches_committed;
  const int total = kThreads * kEach;
  MESSAGE(total << " registrations from " << kThreads << " threads in " << seconds << " s ("
                << total / seconds << "/s), " << batches << " group commits");
  CHECK(batches < static_cast<std::uint64_t>(kThreads * kEach));  // grouped
  auto txn = d.env.begin_read();
  CHECK(d.candidates.key_slots().taken(txn) == static_cast<std::size_t>(kThreads * kEach));
}

TEST_SUITE_END();
