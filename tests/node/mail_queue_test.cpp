// node/candidates/mail_queue: the queue of mail to candidates and its two indexes (by
// candidate, for erasure; by next try, for the dispatcher), on a real LMDB environment. Issue
// 19: erasure and every dispatcher pass used to read and decode the whole queue, which holds
// every mail since SMTP went down.
#include "node/candidates/mail_queue.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "crypto/bytes.hpp"
#include "node/common/key_encoding.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/index_marks.hpp"
#include "support/temp_dir.hpp"

using namespace relay::node;
using candidates::MailEntry;
using candidates::MailQueue;
using relay::test::TempDir;

namespace {

std::string seq_of(int i) {
  return common::be64(static_cast<std::uint64_t>(1000 + i)) + "rnd" + std::to_string(i);
}

relay::crypto::Bytes bytes_of(const std::string& s) {
  auto view = relay::crypto::as_bytes(s);
  return {view.begin(), view.end()};
}

MailEntry entry_for(const std::string& candidate, std::int64_t next_try_ms = 0) {
  return {candidate, 0, next_try_ms, bytes_of("sealed " + candidate)};
}

std::vector<std::string> due_seqs(storage::Environment& env, const MailQueue& queue,
                                  std::int64_t at_ms, std::size_t limit = 1000) {
  auto txn = env.begin_read();
  std::vector<std::string> out;
  for (const auto& [seq, entry] : queue.due(txn, limit, at_ms)) out.push_back(seq);
  return out;
}

}  // namespace

TEST_SUITE_BEGIN("candidates");

TEST_CASE("mail queue: erasure removes one candidate's mail through the index, no other") {
  TempDir dir;
  auto env = storage::Environment::open(dir.path);
  MailQueue queue(env);
  {
    auto txn = env.begin_write();
    // 300 mails to 100 candidates; c_7 has three, one of them waiting for a retry.
    for (int i = 0; i < 300; ++i)
      queue.add(txn, seq_of(i), entry_for("c_" + std::to_string(i % 100), i == 207 ? 50'000 : 0));
    txn.commit();
  }
  {
    auto txn = env.begin_write();
    CHECK(queue.remove_candidate(txn, "c_7") == 3);
    CHECK(queue.remove_candidate(txn, "c_7") == 0);
    CHECK(queue.remove_candidate(txn, "c_") == 0);  // a prefix of other ids names nobody
    txn.commit();
  }
  auto txn = env.begin_read();
  CHECK(queue.size(txn) == 297);
  std::set<std::string> left;
  queue.for_each(txn, [&](std::string_view, MailEntry e) {
    left.insert(e.candidate);
    return true;
  });
  CHECK(left.size() == 99);
  CHECK_FALSE(left.count("c_7"));
  CHECK(left.count("c_70"));  // an id c_7 is a prefix of keeps its mail
  // Neither index still names the erased mail.
  CHECK(txn.count(env.database("mail_by_candidate")) == 297);
  CHECK(txn.count(env.database("mail_due")) == 297);
  CHECK(queue.due(txn, 1000, 100'000).size() == 297);
}

TEST_CASE(
    "mail queue: due() returns what is due, longest due first, and skips retries not yet due") {
  TempDir dir;
  auto env = storage::Environment::open(dir.path);
  MailQueue queue(env);
  {
    auto txn = env.begin_write();
    queue.add(txn, seq_of(0), entry_for("c_a", 9'000));
    queue.add(txn, seq_of(1), entry_for("c_b"));  // never tried: due when queued (1'001)
    queue.add(txn, seq_of(2), entry_for("c_c", 5'000));
    queue.add(txn, seq_of(3), entry_for("c_d"));
    queue.add(txn, seq_of(4), entry_for("c_e", -5));  // no next try: due when queued
    txn.commit();
  }
  CHECK(due_seqs(env, queue, 0).empty());
  CHECK(due_seqs(env, queue, 1'003) == std::vector<std::string>{seq_of(1), seq_of(3)});
  CHECK(due_seqs(env, queue, 1'004) == std::vector<std::string>{seq_of(1), seq_of(3), seq_of(4)});
  CHECK(due_seqs(env, queue, 4'999).size() == 3);
  CHECK(due_seqs(env, queue, 5'000) ==
        std::vector<std::string>{seq_of(1), seq_of(3), seq_of(4), seq_of(2)});
  CHECK(due_seqs(env, queue, 9'000).back() == seq_of(0));
  CHECK(due_seqs(env, queue, 9'000, 2) == std::vector<std::string>{seq_of(1), seq_of(3)});
  CHECK(due_seqs(env, queue, 9'000, 0).empty());
  CHECK(due_seqs(env, queue, -1).empty());
  {
    auto txn = env.begin_read();
    auto got = queue.due(txn, 1, 5'000);
    REQUIRE(got.size() == 1);
    CHECK(got[0].second.candidate == "c_b");
    CHECK(relay::crypto::to_string(got[0].second.sealed) == "sealed c_b");
  }

  // A failed attempt moves the mail's due key: it is no longer due now, and due at its retry.
  {
    auto txn = env.begin_write();
    auto e = queue.find(txn, seq_of(1));
    REQUIRE(e);
    e->attempts = 1;
    e->next_try_ms = 7'000;
    CHECK(queue.replace(txn, seq_of(1), *e));
    CHECK_FALSE(queue.replace(txn, seq_of(99), *e));  // gone: nothing written
    txn.commit();
  }
  CHECK(due_seqs(env, queue, 6'999) == std::vector<std::string>{seq_of(3), seq_of(4), seq_of(2)});
  CHECK(due_seqs(env, queue, 7'000).back() == seq_of(1));
  // A retry that has come due goes before mail queued after it fell due (no starving it while
  // new mail keeps coming).
  const auto later = common::be64(8'000) + "rnd-later";
  {
    auto txn = env.begin_write();
    queue.add(txn, later, entry_for("c_f"));
    txn.commit();
  }
  CHECK(due_seqs(env, queue, 9'000) ==
        std::vector<std::string>{seq_of(3), seq_of(4), seq_of(2), seq_of(1), later, seq_of(0)});
  {
    auto txn = env.begin_write();
    CHECK(queue.remove(txn, later));
    txn.commit();
  }
  {
    auto txn = env.begin_read();
    CHECK(queue.find(txn, seq_of(1))->attempts == 1);
    CHECK(queue.size(txn) == 5);
    CHECK(txn.count(env.database("mail_due")) == 5);
    CHECK_FALSE(queue.find(txn, seq_of(99)));
  }
  // Sent (or dropped): gone from the queue and both indexes.
  {
    auto txn = env.begin_write();
    CHECK(queue.remove(txn, seq_of(1)));
    CHECK_FALSE(queue.remove(txn, seq_of(1)));
    txn.commit();
  }
  CHECK(due_seqs(env, queue, 100'000).size() == 4);
  auto txn = env.begin_read();
  CHECK(txn.count(env.database("mail_due")) == 4);
  CHECK(txn.count(env.database("mail_by_candidate")) == 4);
}

TEST_CASE(
    "mail queue: an older data directory's queue is indexed once at start-up, an unreadable "
    "entry as due when queued so that the dispatcher drops it") {
  TempDir dir;
  auto env = storage::Environment::open(dir.path);
  MailQueue queue(env);
  auto marks = env.database(storage::kIndexMarks);
  auto raw = env.database("mail_queue");
  {
    // Written as an older node wrote them: the queue alone.
    auto txn = env.begin_write();
    txn.put(raw, seq_of(0), candidates::encode_mail_entry(entry_for("c_a", 3'000)));
    txn.put(raw, seq_of(1), candidates::encode_mail_entry(entry_for("c_b")));
    txn.put(raw, seq_of(2), "\x07not an entry");
    txn.put(raw, seq_of(3), candidates::encode_mail_entry(entry_for("c_a")));
    txn.commit();
  }
  // Without the indexes neither the dispatcher nor erasure sees them.
  CHECK(due_seqs(env, queue, 100'000).empty());
  {
    auto txn = env.begin_write();
    CHECK(queue.remove_candidate(txn, "c_a") == 0);
    txn.abort();
  }
  {
    auto txn = env.begin_write();
    CHECK(queue.index_existing(txn, marks) == 4);
    CHECK(queue.index_existing(txn, marks) == 0);  // once
    txn.commit();
  }
  CHECK(due_seqs(env, queue, 1'003) == std::vector<std::string>{seq_of(1), seq_of(2), seq_of(3)});
  {
    auto txn = env.begin_read();
    auto got = queue.due(txn, 10, 1'003);
    REQUIRE(got.size() == 3);
    CHECK(got[1].second.candidate.empty());  // unreadable: the dispatcher drops it
    CHECK_FALSE(queue.find(txn, seq_of(2)));
  }
  {
    auto txn = env.begin_write();
    CHECK(queue.remove(txn, seq_of(2)));  // the dispatcher's drop takes its index keys too
    CHECK(queue.remove_candidate(txn, "c_a") == 2);
    txn.commit();
  }
  auto txn = env.begin_read();
  CHECK(queue.size(txn) == 1);
  CHECK(txn.count(env.database("mail_due")) == 1);
  CHECK(txn.count(env.database("mail_by_candidate")) == 1);
  CHECK(queue.due(txn, 10, 1'003).at(0).second.candidate == "c_b");
}

TEST_SUITE_END();
