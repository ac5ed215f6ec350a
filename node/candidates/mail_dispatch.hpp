#pragma once
// Delivers queued candidate mail (candidate_store.hpp) through the Mailer after it has
// committed, on its own BackgroundLoop: woken after every commit (the composition root installs
// a Writer commit hook that calls wake()) and at least every `period`, so mail queued before a
// crash goes out after the restart.
//
// Spooled mail is exactly once: the file is named by the queue entry (mail::Mail::key), so a
// crash after spooling but before recording it spools the same file again, and erasure sweeps
// every file named by the candidate (spooled, recorded or not). SMTP is at least once (a crash
// after the server took the message, before that was recorded, sends it again, with the same
// Message-ID); nothing can make it exactly once without the server's help.
// The queue entry is the durable record of delivery: before remote (SMTP) attempts one
// Writer request counts them and sets when the next is due (now + exponential backoff with
// jitter), so a crash during an attempt retries only the messages in flight, after their
// backoff (at least once; spooling is local, so a crash before it is recorded spools again at
// once); after them, a delivered message leaves the queue, a rejected one (5xx) or one still
// undelivered after `give_up_after` is given up: dropped, and reported through `on_given_up`
// in the same Writer request (the composition root raises an operator alert; the reason
// carries no personal data). SMTP goes by chunks of 32 messages: their attempts in one commit,
// the messages through an SMTP session (mail::MailSession) kept for the pass, their outcomes
// in one commit (a commit before and after each message, and a connection each, kept a
// smarthost's queue far behind intake); up to `connections` sessions at once, each on a thread
// of the pass taking the next chunk (one session waits for every reply in turn). A session is
// kept after its pass for `keep_sessions` (5 s by default) and resumed by the next pass
// (MailSession::resume: a NOOP), so mail arriving a message at a time, one pass each, does not
// open a connection, a TLS handshake and a login for every message; a session idle longer is
// ended (QUIT) by the next pass or by stop().
// Fair between recipients: a pass takes due mail round-robin across recipient domains, and a
// domain whose server deferred one message this pass is not tried again in it (a message of
// its domain recorded as attempted in the same chunk gets its count and due time back), so a
// slow or failing domain delays only its own mail. Mail of an erased candidate is unreadable (its
// key is gone) and dropped; its queue entry is gone too, so an attempt is never started for it.
// Sending happens on the loop's thread, outside any transaction. The spool takes a pass's due
// mail together: written, synced once (SpoolMailer::send_all) and recorded in one commit, so
// it keeps up with intake (two fsyncs a message could not).
//
// Threads: start/stop/wake from any thread; passes run on the loop's thread (run_once() may
// also be called directly, e.g. by tests, but not concurrently with a started loop).
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "node/candidates/candidate_store.hpp"
#include "node/common/background_loop.hpp"
#include "node/common/clock.hpp"
#include "node/common/retry_policy.hpp"
#include "node/mail/mailer.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::candidates {

using MailRetry = common::RetryPolicy;

class MailDispatch {
 public:
  // Called inside the Writer request that drops a given-up message.
  using GivenUp = std::function<void(storage::WriteTxn&, const std::string& reason)>;

  MailDispatch(storage::Environment& env, storage::Writer& writer, Store& store,
               mail::Mailer& mailer, std::chrono::milliseconds period = std::chrono::seconds(1),
               const common::Clock& clock = common::system_clock(), MailRetry retry = {},
               std::size_t connections = 1);
  ~MailDispatch();
  MailDispatch(const MailDispatch&) = delete;
  MailDispatch& operator=(const MailDispatch&) = delete;

  // Before start().
  void on_given_up(GivenUp callback) { on_given_up_ = std::move(callback); }
  // How long a session stays open after its pass for the next one (0: ended with its pass).
  // Before start().
  void keep_sessions(std::chrono::steady_clock::duration idle) { keep_idle_ = idle; }
  void start();
  void stop();
  // Asks for a pass soon (the commit hook calls it after every commit).
  void wake();
  // Passes completed by the loop so far.
  std::uint64_t passes() const { return loop_.passes(); }
  // One pass on the calling thread; returns how many messages were delivered.
  std::size_t run_once();
  // Messages given up since start (the alerts keep them durably).
  std::uint64_t given_up() const { return given_up_.load(); }

 private:
  // The SMTP pass (or any Mailer but the spool): through up to `connections_` sessions.
  std::size_t deliver(std::vector<QueuedMail> due);
  // A pass's due mail, shared by its sessions: the next chunk to send (without the domains
  // deferred so far; nullopt at the end) and the deferred domains.
  struct Pass {
    explicit Pass(const std::vector<QueuedMail>& mail) : due(mail) {}
    const std::vector<QueuedMail>& due;
    std::mutex mutex;
    std::size_t next = 0;
    std::set<std::string> deferred;
    std::optional<std::vector<const QueuedMail*>> next_chunk();
    bool is_deferred(const std::string& domain);
    void defer(const std::string& domain);
  };
  // Up to kChunk messages through the session: their attempts recorded in one commit, then
  // sent, then their outcomes recorded in one commit. Returns how many were delivered.
  std::size_t send_chunk(mail::MailSession& session, const std::vector<const QueuedMail*>& chunk,
                         Pass& pass);
  // The spool's pass: every due message written, synced once and recorded in one commit.
  std::size_t spool(mail::SpoolMailer& spool, std::vector<QueuedMail> due);
  // A session kept from an earlier pass (resumed), or a new one.
  std::unique_ptr<mail::MailSession> take_session();
  // Keeps a session after its pass (up to connections_ of them).
  void keep_session(std::unique_ptr<mail::MailSession> session);
  // Ends the kept sessions idle for longer than keep_idle_ (all of them with `all`).
  void end_idle_sessions(bool all = false);

  storage::Environment& env_;
  storage::Writer& writer_;
  Store& store_;
  mail::Mailer& mailer_;
  const common::Clock& clock_;
  MailRetry retry_;
  std::size_t connections_;  // SMTP sessions at once
  GivenUp on_given_up_;
  std::chrono::steady_clock::duration keep_idle_ = std::chrono::seconds(5);
  struct KeptSession {
    std::unique_ptr<mail::MailSession> session;
    std::chrono::steady_clock::time_point since;
  };
  std::mutex kept_mutex_;
  std::vector<KeptSession> kept_;  // idle since their pass, newest last
  // RELAY_TEST_KILL_AFTER_SPOOL (tests only): SIGKILL right after a message is spooled, before
  // that is recorded (tests/integration/shredding_test.cpp replays the crash of finding 7).
  bool kill_after_spool_ = false;
  std::atomic<std::uint64_t> given_up_{0};
  common::BackgroundLoop loop_;  // last: its thread stops before the members it uses go
};

}  // namespace relay::node::candidates
