#pragma once
// Moves queued candidate mail (candidate_store.hpp) to the Mailer after it has committed, on
// its own thread: wakes when notified and every second, so mail queued before a crash goes
// out after the restart. Delivery is at least once (a crash between spooling and recording
// it spools the message again); mail of an erased candidate is unreadable and dropped.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "node/candidates/candidate_store.hpp"
#include "node/mail/mailer.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::candidates {

class MailDispatch {
 public:
  MailDispatch(storage::Environment& env, storage::Writer& writer, Store& store, mail::Mailer& mailer);
  ~MailDispatch();
  void start();
  void stop();
  // Asks for a pass soon (after a commit that queued mail).
  void notify();
  // One pass on the calling thread; returns how many messages were spooled.
  std::size_t run_once();

 private:
  storage::Environment& env_;
  storage::Writer& writer_;
  Store& store_;
  mail::Mailer& mailer_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool pending_ = false;
  std::thread thread_;
};

}  // namespace relay::node::candidates
