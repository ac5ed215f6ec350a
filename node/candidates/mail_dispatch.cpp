#include "node/candidates/mail_dispatch.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <map>
#include <set>

#include "node/storage/txn.hpp"

namespace relay::node::candidates {

namespace {
constexpr std::size_t kBatch = 256;

std::string domain_of(const std::string& address) {
  auto at = address.rfind('@');
  std::string d = at == std::string::npos ? address : address.substr(at + 1);
  std::transform(d.begin(), d.end(), d.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return d;
}

// Due mail taken round-robin across recipient domains, queue order within each.
std::vector<QueuedMail> interleaved(std::vector<QueuedMail> due) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<QueuedMail>> by_domain;
  for (auto& q : due) {
    auto d = domain_of(q.mail.to);
    auto& list = by_domain[d];
    if (list.empty()) order.push_back(d);
    list.push_back(std::move(q));
  }
  std::vector<QueuedMail> out;
  for (std::size_t round = 0; out.size() < due.size(); ++round)
    for (const auto& d : order)
      if (auto& list = by_domain[d]; round < list.size()) out.push_back(std::move(list[round]));
  return out;
}
}  // namespace

MailDispatch::MailDispatch(storage::Environment& env, storage::Writer& writer, Store& store,
                           mail::Mailer& mailer, std::chrono::milliseconds period,
                           const common::Clock& clock, MailRetry retry)
    : env_(env),
      writer_(writer),
      store_(store),
      mailer_(mailer),
      clock_(clock),
      retry_(retry),
      kill_after_spool_(std::getenv("RELAY_TEST_KILL_AFTER_SPOOL") != nullptr),
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

void MailDispatch::give_up(const QueuedMail& q, const std::string& reason) {
  auto text = "mail given up after " + std::to_string(q.attempts + 1) + " attempt(s): " + reason;
  writer_.submit_wait([&](storage::WriteTxn& txn) {
    if (!store_.drop_mail(txn, q.seq)) return;  // erased meanwhile
    if (on_given_up_) on_given_up_(txn, text);
  });
  ++given_up_;
  spdlog::warn("mail: {}", text);
}

std::size_t MailDispatch::run_once() {
  const auto now = clock_.now_ms();
  std::vector<QueuedMail> due;
  {
    auto txn = env_.begin_read();
    due = store_.queued_mail(txn, kBatch, now);
  }
  if (auto* spooler = dynamic_cast<mail::SpoolMailer*>(&mailer_))
    return spool(*spooler, std::move(due));
  std::size_t delivered = 0;
  std::size_t deferred = 0;
  std::set<std::string> deferred_domains;
  for (const auto& q : interleaved(std::move(due))) {
    if (q.mail.to.empty()) {  // unreadable: its candidate was erased
      writer_.submit_wait([&](storage::WriteTxn& txn) { store_.drop_mail(txn, q.seq); });
      continue;
    }
    auto domain = domain_of(q.mail.to);
    if (deferred_domains.contains(domain)) continue;
    const auto started = clock_.now_ms();
    // A remote attempt is recorded first, so a crash retries after a backoff.
    bool present = writer_.submit_wait([&](storage::WriteTxn& txn) {
      return store_.mail_attempt(txn, q.seq, started + retry_.backoff_ms(q.attempts + 1));
    });
    if (!present) continue;  // erased since the pass began
    auto attempt = mailer_.deliver(q.mail);
    switch (attempt.outcome) {
      case mail::Attempt::Outcome::delivered: {
        bool kept = writer_.submit_wait([&](storage::WriteTxn& txn) {
          return store_.mail_spooled(txn, q.seq, q.candidate_id, attempt.id);
        });
        if (!kept && !attempt.id.empty()) mailer_.discard(attempt.id);  // erased meanwhile
        ++delivered;
        break;
      }
      case mail::Attempt::Outcome::rejected:
        give_up(q, attempt.reason);
        break;
      case mail::Attempt::Outcome::retry_later:
        deferred_domains.insert(domain);
        if (retry_.expired(q.queued_ms, clock_.now_ms())) {
          give_up(q, attempt.reason + " (no delivery within mail.give_up_after_hours)");
        } else {
          ++deferred;
          spdlog::info("mail: attempt {} deferred: {}", q.attempts + 1, attempt.reason);
        }
        break;
    }
  }
  if (delivered) spdlog::info("mail: {} message(s) delivered", delivered);
  return delivered;
}

// Spooling is local and atomic: a crash before it is recorded spools the same files again at
// once (named by their queue entries), so exactly once holds for a whole pass as for one.
std::size_t MailDispatch::spool(mail::SpoolMailer& spooler, std::vector<QueuedMail> due) {
  // Nothing due, nothing written: a commit here would wake this loop again, for ever.
  if (due.empty()) return 0;
  std::vector<QueuedMail> readable;
  std::vector<std::string> unreadable;  // their candidate was erased
  for (auto& q : due) {
    if (q.mail.to.empty())
      unreadable.push_back(q.seq);
    else
      readable.push_back(std::move(q));
  }
  std::vector<mail::Mail> mails;
  mails.reserve(readable.size());
  for (const auto& q : readable) mails.push_back(q.mail);
  auto ids = spooler.send_all(mails);
  if (kill_after_spool_ && !ids.empty())
    ::raise(SIGKILL);  // tests only: the crash between spooling and recording it
  auto kept = writer_.submit_wait([&](storage::WriteTxn& txn) {
    for (const auto& seq : unreadable) store_.drop_mail(txn, seq);
    std::vector<bool> out;
    for (std::size_t i = 0; i < readable.size(); ++i)
      out.push_back(store_.mail_spooled(txn, readable[i].seq, readable[i].candidate_id, ids[i]));
    return out;
  });
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (!kept[i]) spooler.discard(ids[i]);  // erased meanwhile
  if (!ids.empty()) spdlog::info("mail: {} message(s) delivered", ids.size());
  return ids.size();
}

}  // namespace relay::node::candidates
