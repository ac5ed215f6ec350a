// Writer commit hooks (storage/writer.hpp) and the mail dispatch they wake
// (candidates/mail_dispatch.hpp): work queued in a commit is acted on without waiting for a
// loop's periodic pass, so no caller has to remember to wake anything.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "node/candidates/mail_dispatch.hpp"
#include "node/domain_fixture.hpp"

using namespace relay::node;
using namespace std::chrono_literals;
using relay::test::Domain;

namespace {

// Keeps sent mail in memory.
class RecordingMailer final : public mail::Mailer {
 public:
  mail::Attempt deliver(const mail::Mail& mail) override {
    std::lock_guard lock(mutex_);
    sent_.push_back(mail);
    return mail::Attempt::delivered("spool-" + std::to_string(sent_.size()));
  }
  bool discard(const std::string&) override { return true; }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return sent_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<mail::Mail> sent_;
};

template <class Pred>
bool within(std::chrono::milliseconds limit, Pred pred) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

}  // namespace

TEST_SUITE_BEGIN("commit hooks");

TEST_CASE("writer: a commit runs every hook on the writer thread before submit_wait returns") {
  Domain d;
  std::atomic<int> first{0};
  std::atomic<int> second{0};
  std::atomic<std::thread::id> hook_thread{};
  std::thread::id request_thread{};
  auto db = d.env.database("hook_test");
  d.writer.on_commit([&] {
    hook_thread = std::this_thread::get_id();
    ++first;
  });
  d.writer.on_commit([&] { ++second; });
  d.write([&](storage::WriteTxn& txn) {
    request_thread = std::this_thread::get_id();
    txn.put(db, "k", "v");
  });
  CHECK(first == 1);
  CHECK(second == 1);
  CHECK(hook_thread.load() == request_thread);
  CHECK(hook_thread.load() != std::this_thread::get_id());
  d.write([&](storage::WriteTxn& txn) { txn.put(db, "k2", "v"); });
  CHECK(first == 2);
}

TEST_CASE("writer: a hook that throws is contained; later hooks and the request are unaffected") {
  Domain d;
  std::atomic<int> ran{0};
  auto db = d.env.database("hook_test");
  d.writer.on_commit([] { throw std::runtime_error("hook failed"); });
  d.writer.on_commit([&] { ++ran; });
  auto value = d.write([&](storage::WriteTxn& txn) {
    txn.put(db, "k", "v");
    return 7;
  });
  CHECK(value == 7);
  CHECK(ran == 1);
  auto txn = d.env.begin_read();
  CHECK(txn.get(db, "k") == std::optional<std::string>("v"));
}

TEST_CASE("mail dispatch: mail queued in a commit is spooled at once, not at the next period") {
  Domain d;
  RecordingMailer mailer;
  // A period far longer than the test: only the commit hook can explain a prompt delivery.
  candidates::MailDispatch dispatch(d.env, d.writer, d.candidates, mailer, std::chrono::hours(1));
  d.writer.on_commit([&] { dispatch.wake(); });
  dispatch.start();
  auto m = d.admit("Hook KK").member;
  auto result = d.write([&](storage::WriteTxn& txn) {
    return d.intake.submit(txn, m.link_token,
                           {{"name", "Taro"},
                            {"email", "taro@example.jp"},
                            {"job_category", "C"},
                            {"skills", "Excel"},
                            {"prefecture", "JP-13"},
                            {"age_band", "35-44"},
                            {"experience_band", "6-10"},
                            {"consent_region", "yes"}});
  });
  REQUIRE(result.accepted);
  CHECK(within(5s, [&] { return mailer.count() == 1; }));
  // ...and recorded as spooled, in the commit right after the send.
  CHECK(within(5s, [&] {
    auto txn = d.env.begin_read();
    return d.candidates.queued_mail(txn, 10).empty();
  }));
  dispatch.stop();
}

TEST_CASE("mail dispatch: without the hook, queued mail waits for the period") {
  Domain d;
  RecordingMailer mailer;
  candidates::MailDispatch dispatch(d.env, d.writer, d.candidates, mailer, std::chrono::hours(1));
  dispatch.start();
  auto m = d.admit("NoHook KK").member;
  auto result = d.write([&](storage::WriteTxn& txn) {
    return d.intake.submit(txn, m.link_token,
                           {{"name", "Jiro"},
                            {"email", "jiro@example.jp"},
                            {"job_category", "C"},
                            {"skills", "Excel"},
                            {"prefecture", "JP-13"},
                            {"age_band", "35-44"},
                            {"experience_band", "6-10"},
                            {"consent_region", "yes"}});
  });
  REQUIRE(result.accepted);
  std::this_thread::sleep_for(200ms);  // the negative control: nothing should wake it
  CHECK(mailer.count() == 0);
  dispatch.wake();
  CHECK(within(5s, [&] { return mailer.count() == 1; }));
  dispatch.stop();
}

TEST_SUITE_END();
