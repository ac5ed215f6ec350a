#pragma once
// Moves queued candidate mail (candidate_store.hpp) to the Mailer after it has committed, on
// its own BackgroundLoop: woken after every commit (the composition root installs a Writer
// commit hook that calls wake()) and at least every `period`, so mail queued before a crash
// goes out after the restart. Delivery is at least once (a crash between spooling and
// recording it spools the message again); mail of an erased candidate is unreadable and
// dropped.
//
// Threads: start/stop/wake from any thread; passes run on the loop's thread (run_once() may
// also be called directly, e.g. by tests, but not concurrently with a started loop).
#include <chrono>
#include <cstddef>

#include "node/candidates/candidate_store.hpp"
#include "node/common/background_loop.hpp"
#include "node/mail/mailer.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::candidates {

class MailDispatch {
 public:
  MailDispatch(storage::Environment& env, storage::Writer& writer, Store& store,
               mail::Mailer& mailer, std::chrono::milliseconds period = std::chrono::seconds(1));
  ~MailDispatch();
  MailDispatch(const MailDispatch&) = delete;
  MailDispatch& operator=(const MailDispatch&) = delete;

  void start();
  void stop();
  // Asks for a pass soon (the commit hook calls it after every commit).
  void wake();
  // Passes completed by the loop so far.
  std::uint64_t passes() const { return loop_.passes(); }
  // One pass on the calling thread; returns how many messages were spooled.
  std::size_t run_once();

 private:
  storage::Environment& env_;
  storage::Writer& writer_;
  Store& store_;
  mail::Mailer& mailer_;
  common::BackgroundLoop loop_;  // last: its thread stops before the members it uses go
};

}  // namespace relay::node::candidates
