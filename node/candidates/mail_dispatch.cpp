#include "node/candidates/mail_dispatch.hpp"

#include <spdlog/spdlog.h>

#include "node/storage/txn.hpp"

namespace relay::node::candidates {

MailDispatch::MailDispatch(storage::Environment& env, storage::Writer& writer, Store& store,
                           mail::Mailer& mailer)
    : env_(env), writer_(writer), store_(store), mailer_(mailer) {}

MailDispatch::~MailDispatch() { stop(); }

void MailDispatch::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_ || pending_; });
      if (stopping_) break;
      pending_ = false;
      lock.unlock();
      try {
        run_once();
      } catch (const std::exception& e) {
        spdlog::error("mail dispatch failed: {}", e.what());
      }
      lock.lock();
    }
  });
}

void MailDispatch::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MailDispatch::notify() {
  {
    std::lock_guard lock(mutex_);
    pending_ = true;
  }
  wake_.notify_all();
}

std::size_t MailDispatch::run_once() {
  std::vector<QueuedMail> queued;
  {
    auto txn = env_.begin_read();
    queued = store_.queued_mail(txn, 64);
  }
  std::size_t sent = 0;
  for (const auto& q : queued) {
    if (q.mail.to.empty()) {
      writer_.submit_wait([&](storage::WriteTxn& txn) { store_.drop_mail(txn, q.seq); });
      continue;
    }
    auto spool_id = mailer_.send(q.mail);
    bool kept = writer_.submit_wait(
        [&](storage::WriteTxn& txn) { return store_.mail_spooled(txn, q.seq, q.candidate_id, spool_id); });
    if (!kept) mailer_.discard(spool_id);  // erased while it was being spooled
    ++sent;
  }
  if (sent) spdlog::info("mail: {} message(s) spooled", sent);
  return sent;
}

}  // namespace relay::node::candidates
