#include "node/storage/writer.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "node/storage/error.hpp"
#include "node/storage/internal.hpp"

namespace relay::node::storage {

namespace {

std::string describe(const std::exception_ptr& err) {
  try {
    std::rethrow_exception(err);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

// More doublings than any address space allows: a guard against a map that will not grow.
constexpr int kMaxGrowthsPerBatch = 64;

}  // namespace

Writer::Writer(Environment& env, Options options) : env_(env), options_(options) {
  options_.max_batch = std::max<std::size_t>(options_.max_batch, 1);
  env_.state_->writers.fetch_add(1);
  thread_ = std::thread([this] { run(); });
}

Writer::~Writer() {
  stop();
}

void Writer::stop() {
  check_not_writer_thread("stop");
  std::lock_guard stop_lock(stop_mutex_);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    env_.state_->writers.fetch_sub(1);
  }
}

WriterStats Writer::stats() const noexcept {
  return WriterStats{batches_committed_.load(),    requests_committed_.load(),
                     requests_rolled_back_.load(), batches_failed_.load(),
                     map_resizes_.load(),          batches_rerun_.load()};
}

void Writer::on_commit(std::function<void()> hook) {
  std::lock_guard lock(hooks_mutex_);
  commit_hooks_.push_back(std::move(hook));
}

void Writer::before_commit(std::function<void()> hook) {
  std::lock_guard lock(hooks_mutex_);
  before_commit_hooks_.push_back(std::move(hook));
}

void Writer::around_resolution(std::function<void()> open, std::function<void()> close) {
  std::lock_guard lock(hooks_mutex_);
  resolution_hooks_.emplace_back(std::move(open), std::move(close));
}

namespace {

// Runs a hook of the noexcept paths: an exception is logged and swallowed.
void run_hook(const std::function<void()>& hook) noexcept {
  try {
    hook();
  } catch (const std::exception& e) {
    spdlog::error("storage: a Writer hook threw: {}", e.what());
  } catch (...) {
    spdlog::error("storage: a Writer hook threw");
  }
}

}  // namespace

void Writer::run_commit_hooks() noexcept {
  std::lock_guard lock(hooks_mutex_);
  for (auto& hook : commit_hooks_) run_hook(hook);
}

void Writer::resolve(Batch& batch, const std::exception_ptr& failure) noexcept {
  {
    std::lock_guard lock(hooks_mutex_);
    for (auto& hooks : resolution_hooks_) run_hook(hooks.first);
  }
  // Not under hooks_mutex_: a `ready` callback may install hooks.
  for (auto& request : batch) {
    if (failure)
      request->fail(failure);
    else
      request->fulfil();  // durable now: acknowledge
  }
  std::lock_guard lock(hooks_mutex_);
  for (auto it = resolution_hooks_.rbegin(); it != resolution_hooks_.rend(); ++it)
    run_hook(it->second);
}

std::size_t Writer::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void Writer::enqueue(std::unique_ptr<detail::WriteRequest> request) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back(std::move(request));
      wake_.notify_one();
      return;
    }
  }
  request->fail(std::make_exception_ptr(StorageError("Writer::submit (stopped)", ECANCELED)));
}

void Writer::check_not_writer_thread(const char* what) const {
  if (std::this_thread::get_id() == thread_id_.load()) {
    throw std::logic_error(std::string("storage: Writer::") + what +
                           " called from a write request (it would wait for itself)");
  }
}

void Writer::run() {
  thread_id_.store(std::this_thread::get_id());
  pthread_setname_np(pthread_self(), "relay-writer");
  Batch batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued has been committed
      // Group commit: take everything that queued up while the last batch was fsyncing.
      std::size_t n = std::min(queue_.size(), options_.max_batch);
      batch.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    process(batch);
    batch.clear();
  }
}

void Writer::process(Batch& batch) {
  std::exception_ptr failure;
  try {
    bool children = careful_batches_ > 0;
    if (children) --careful_batches_;
    for (int growths = 0;;) {
      auto tried = try_batch(batch, children);
      if (tried == Tried::committed) {
        run_commit_hooks();
        resolve(batch, nullptr);
        return;
      }
      // The batch's txn has been aborted, so no txn of ours is open on this thread.
      for (auto& request : batch) request->reset();
      if (tried == Tried::request_failed) {
        children = true;
        batches_rerun_.fetch_add(1);
        continue;
      }
      // The map filled up: grow it (waiting for readers) and run the whole batch again.
      if (growths++ >= kMaxGrowthsPerBatch || !grow_map()) {
        throw StorageError("Writer: map full at max_map_size_bytes", MDB_MAP_FULL);
      }
    }
  } catch (...) {
    failure = std::current_exception();
  }
  batches_failed_.fetch_add(1);
  spdlog::error("storage: write batch of {} request(s) failed: {}", batch.size(),
                describe(failure));
  resolve(batch, failure);
}

Writer::Tried Writer::try_batch(Batch& batch, bool children) {
  WriteTxn root = env_.begin_write();
  std::uint64_t kept = 0;
  for (auto& request : batch) {
    if (!children) {
      // A failure, or an LMDB error the request caught, leaves writes the txn cannot drop.
      bool kept_writes = request->run(root);
      if (root.map_full_seen()) return Tried::map_full;
      if (!kept_writes || root.failure_seen()) {
        careful_batches_ = kCarefulBatches;
        return Tried::request_failed;
      }
      ++kept;
      continue;
    }
    WriteTxn child = root.child();
    bool keep = request->run(child);
    if (keep && child.active()) {
      try {
        child.commit();
      } catch (...) {
        request->set_error(std::current_exception());
        keep = false;
      }
    }
    // (a request that failed is aborted here, when `child` goes out of scope)
    if (root.map_full_seen()) return Tried::map_full;
    if (keep)
      ++kept;
    else
      careful_batches_ = kCarefulBatches;  // failures come in runs: stay careful
  }
  {
    std::lock_guard lock(hooks_mutex_);
    for (auto& hook : before_commit_hooks_) hook();  // throws: the batch fails, uncommitted
  }
  try {
    root.commit();  // the one fsync for the whole batch
  } catch (const StorageError& e) {
    if (e.map_full()) return Tried::map_full;
    throw;
  }
  batches_committed_.fetch_add(1);
  requests_committed_.fetch_add(kept);
  requests_rolled_back_.fetch_add(batch.size() - kept);
  return Tried::committed;
}

bool Writer::grow_map() {
  std::size_t current = env_.map_size();
  std::size_t limit = env_.options().max_map_size_bytes;
  if (current >= limit) return false;
  std::size_t next = current > limit / 2 ? limit : current * 2;
  env_.resize_map(next);  // throws StorageError if readers do not let go in time
  map_resizes_.fetch_add(1);
  spdlog::info("storage: map grown from {} to {} bytes", current, env_.map_size());
  return env_.map_size() > current;
}

}  // namespace relay::node::storage
