#include "node/candidates/mail_dispatch.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "node/storage/txn.hpp"

namespace relay::node::candidates {

namespace {
constexpr std::size_t kBatch = 256;
// Messages whose attempts, then outcomes, are recorded in one commit each.
constexpr std::size_t kChunk = 32;

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

// A pass's mail: what can be sent, and the sequences of what no one can read (the candidate
// was erased: dropped).
struct Sorted {
  std::vector<QueuedMail> readable;
  std::vector<std::string> unreadable;
};
Sorted sort_out(std::vector<QueuedMail> due) {
  Sorted out;
  for (auto& q : due) {
    if (q.mail.to.empty())
      out.unreadable.push_back(q.seq);
    else
      out.readable.push_back(std::move(q));
  }
  return out;
}
}  // namespace

MailDispatch::MailDispatch(storage::Environment& env, storage::Writer& writer, Store& store,
                           mail::Mailer& mailer, std::chrono::milliseconds period,
                           const common::Clock& clock, MailRetry retry, std::size_t connections)
    : env_(env),
      writer_(writer),
      store_(store),
      mailer_(mailer),
      clock_(clock),
      retry_(retry),
      connections_(std::max<std::size_t>(1, connections)),
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
  end_idle_sessions(true);
}
void MailDispatch::wake() {
  loop_.wake();
}

std::size_t MailDispatch::run_once() {
  end_idle_sessions();
  const auto now = clock_.now_ms();
  std::vector<QueuedMail> due;
  {
    auto txn = env_.begin_read();
    // Enough chunks for every session to have one.
    due = store_.queued_mail(txn, std::max(kBatch, connections_ * kChunk), now);
  }
  if (auto* spooler = dynamic_cast<mail::SpoolMailer*>(&mailer_))
    return spool(*spooler, std::move(due));
  return deliver(std::move(due));
}

std::size_t MailDispatch::deliver(std::vector<QueuedMail> due) {
  auto [readable, unreadable] = sort_out(interleaved(std::move(due)));
  if (!unreadable.empty())
    writer_.submit_wait([&](storage::WriteTxn& txn) {
      for (const auto& seq : unreadable) store_.drop_mail(txn, seq);
    });
  // Up to `connections_` sessions at once, each on its own thread taking the next chunk: one
  // session waits for each reply in turn, so a server a few milliseconds away caps it at a
  // few dozen messages a second.
  Pass pass{readable};
  std::atomic<std::size_t> delivered{0};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  auto worker = [&] {
    try {
      std::unique_ptr<mail::MailSession> session;
      for (;;) {
        auto chunk = pass.next_chunk();
        if (!chunk) break;
        if (chunk->empty()) continue;
        if (!session) session = take_session();
        delivered += send_chunk(*session, *chunk, pass);
      }
      if (session) keep_session(std::move(session));
    } catch (...) {  // the environment failed: rethrown on the loop's thread
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
    }
  };
  const auto chunks = (readable.size() + kChunk - 1) / kChunk;
  std::vector<std::thread> helpers;
  for (std::size_t i = 1; i < std::min(connections_, chunks); ++i)
    helpers.emplace_back([&] {
      pthread_setname_np(pthread_self(), "mail session");
      worker();
    });
  worker();
  for (auto& t : helpers) t.join();
  if (failure) std::rethrow_exception(failure);
  if (delivered) spdlog::info("mail: {} message(s) delivered", delivered.load());
  return delivered;
}

std::unique_ptr<mail::MailSession> MailDispatch::take_session() {
  std::unique_ptr<mail::MailSession> session;
  {
    std::lock_guard lock(kept_mutex_);
    if (!kept_.empty()) {
      session = std::move(kept_.back().session);  // the newest: the likeliest still open
      kept_.pop_back();
    }
  }
  if (!session) return mailer_.session();
  session->resume();
  return session;
}

void MailDispatch::keep_session(std::unique_ptr<mail::MailSession> session) {
  if (keep_idle_ <= std::chrono::steady_clock::duration::zero()) return;  // ended here
  std::lock_guard lock(kept_mutex_);
  if (kept_.size() >= connections_) return;
  kept_.push_back({std::move(session), std::chrono::steady_clock::now()});
}

void MailDispatch::end_idle_sessions(bool all) {
  std::vector<std::unique_ptr<mail::MailSession>> ending;
  {
    std::lock_guard lock(kept_mutex_);
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(kept_, [&](KeptSession& k) {
      if (!all && now - k.since <= keep_idle_) return false;
      ending.push_back(std::move(k.session));
      return true;
    });
  }
  // Destroyed outside the lock: an SMTP session says QUIT and waits for the reply.
}

std::optional<std::vector<const QueuedMail*>> MailDispatch::Pass::next_chunk() {
  std::lock_guard lock(mutex);
  if (next >= due.size()) return std::nullopt;
  std::vector<const QueuedMail*> chunk;
  const auto from = next;
  next = std::min(from + kChunk, due.size());
  for (auto i = from; i < next; ++i)
    if (!deferred.contains(domain_of(due[i].mail.to))) chunk.push_back(&due[i]);
  return chunk;
}

bool MailDispatch::Pass::is_deferred(const std::string& domain) {
  std::lock_guard lock(mutex);
  return deferred.contains(domain);
}

void MailDispatch::Pass::defer(const std::string& domain) {
  std::lock_guard lock(mutex);
  deferred.insert(domain);
}

std::size_t MailDispatch::send_chunk(mail::MailSession& session,
                                     const std::vector<const QueuedMail*>& chunk, Pass& pass) {
  // The chunk's attempts are recorded first, in one commit, so a crash retries each after a
  // backoff (a commit each was two fsyncs a message).
  const auto started = clock_.now_ms();
  auto present = writer_.submit_wait([&](storage::WriteTxn& txn) {
    std::vector<bool> out;
    for (const auto* q : chunk)
      out.push_back(store_.mail_attempt(txn, q->seq, started + retry_.backoff_ms(q->attempts + 1)));
    return out;
  });
  enum class Step { gone, untried, sent };
  std::vector<Step> steps(chunk.size(), Step::gone);
  std::vector<mail::Attempt> attempts(chunk.size());
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    if (!present[i]) continue;  // erased since the pass began
    auto domain = domain_of(chunk[i]->mail.to);
    // Its domain deferred a message since the chunk was taken (earlier in it, or in another
    // session's): not tried in this pass after all.
    if (pass.is_deferred(domain)) {
      steps[i] = Step::untried;
      continue;
    }
    attempts[i] = session.send(chunk[i]->mail);
    steps[i] = Step::sent;
    if (attempts[i].outcome == mail::Attempt::Outcome::retry_later) pass.defer(domain);
  }
  // What each outcome did, written by the request below (which may run twice: it only
  // overwrites these); counted and logged after its commit.
  enum class Recorded { nothing, delivered, not_kept, given_up, deferred };
  std::vector<Recorded> recorded(chunk.size());
  std::vector<std::string> given_up_text(chunk.size());
  const auto finished = clock_.now_ms();
  writer_.submit_wait([&](storage::WriteTxn& txn) {
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      const auto& q = *chunk[i];
      recorded[i] = Recorded::nothing;
      if (steps[i] == Step::untried) store_.mail_untried(txn, q);
      if (steps[i] != Step::sent) continue;
      const auto& attempt = attempts[i];
      using Outcome = mail::Attempt::Outcome;
      if (attempt.outcome == Outcome::delivered) {
        recorded[i] = store_.mail_spooled(txn, q.seq, q.candidate_id, attempt.id)
                          ? Recorded::delivered
                          : Recorded::not_kept;  // erased meanwhile
        continue;
      }
      auto reason = attempt.reason;
      if (attempt.outcome == Outcome::retry_later) {
        if (!retry_.expired(q.queued_ms, finished)) {
          recorded[i] = Recorded::deferred;
          continue;
        }
        reason += " (no delivery within mail.give_up_after_hours)";
      }
      given_up_text[i] =
          "mail given up after " + std::to_string(q.attempts + 1) + " attempt(s): " + reason;
      if (store_.drop_mail(txn, q.seq)) {  // false: erased meanwhile
        if (on_given_up_) on_given_up_(txn, given_up_text[i]);
        recorded[i] = Recorded::given_up;
      }
    }
  });
  std::size_t delivered = 0;
  // One line per reason, not per message: with the server down, every queued message is
  // deferred each retry period.
  std::map<std::string, std::size_t> deferred;
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    switch (recorded[i]) {
      case Recorded::delivered:
        ++delivered;
        break;
      case Recorded::not_kept:
        ++delivered;
        if (!attempts[i].id.empty()) mailer_.discard(attempts[i].id);
        break;
      case Recorded::given_up:
        ++given_up_;
        spdlog::warn("mail: {}", given_up_text[i]);
        break;
      case Recorded::deferred:
        ++deferred[attempts[i].reason];
        break;
      case Recorded::nothing:
        break;
    }
  }
  for (const auto& [reason, n] : deferred)
    spdlog::info("mail: {} message(s) deferred: {}", n, reason);
  return delivered;
}

// Spooling is local and atomic: a crash before it is recorded spools the same files again at
// once (named by their queue entries), so exactly once holds for a whole pass as for one.
std::size_t MailDispatch::spool(mail::SpoolMailer& spooler, std::vector<QueuedMail> due) {
  // Nothing due, nothing written: a commit here would wake this loop again, for ever.
  if (due.empty()) return 0;
  auto [readable, unreadable] = sort_out(std::move(due));
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
