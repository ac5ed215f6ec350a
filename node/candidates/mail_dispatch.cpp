#include "node/candidates/mail_dispatch.hpp"

#include <spdlog/spdlog.h>

#include "node/storage/txn.hpp"

namespace relay::node::candidates {

MailDispatch::MailDispatch(storage::Environment& env, storage::Writer& writer, Store& store,
                           mail::Mailer& mailer, std::chrono::milliseconds period)
    : env_(env),
      writer_(writer),
      store_(store),
      mailer_(mailer),
      loop_("mail dispatch", period, [this] { run_once(); }) {}

MailDispatch::~MailDispatch() {
  stop();
}

void MailDispatch::start() {
  loop_.start();
}
void MailDispatch::stop() {
  loop_.stop();
}
void MailDispatch::wake() {
  loop_.wake();
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
    bool kept = writer_.submit_wait([&](storage::WriteTxn& txn) {
      return store_.mail_spooled(txn, q.seq, q.candidate_id, spool_id);
    });
    if (!kept) mailer_.discard(spool_id);  // erased while it was being spooled
    ++sent;
  }
  if (sent) spdlog::info("mail: {} message(s) spooled", sent);
  return sent;
}

}  // namespace relay::node::candidates
