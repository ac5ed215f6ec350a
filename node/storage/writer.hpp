#pragma once
// Writer: the node's single writer thread, with group commit.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "node/storage/environment.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::storage {

// Thrown by a Writer request to discard its writes yet hand the caller a value: the future
// gets `value`, as if returned, and nothing the request wrote is kept. T must be exactly the
// request's return type (anything else is an ordinary exception). Rollback<void>{} for void.
template <class T>
struct Rollback {
  T value;
};
template <>
struct Rollback<void> {};

// Settings for a Writer.
struct WriterOptions {
  // Most requests in one commit; the writer takes whatever is queued, up to this.
  std::size_t max_batch = 1024;
};

// Counters, for benchmarks and the dashboard. Each is monotonic.
struct WriterStats {
  std::uint64_t batches_committed = 0;     // write txns committed (one fsync each)
  std::uint64_t requests_committed = 0;    // requests whose writes were committed
  std::uint64_t requests_rolled_back = 0;  // requests that threw or Rollback (in committed batches)
  std::uint64_t batches_failed = 0;  // batches whose commit failed: every future got the error
  std::uint64_t map_resizes = 0;     // times the map was doubled
  std::uint64_t batches_rerun = 0;   // batches run again, a child per request, after a failure
};

namespace detail {

// One queued request, type-erased. Driven only by the writer thread.
class WriteRequest {
 public:
  virtual ~WriteRequest() = default;
  // Runs the request in txn (a child of the batch txn). True: keep its writes (commit the
  // child). False: it threw or rolled back; its outcome is recorded and the child is aborted.
  virtual bool run(WriteTxn& txn) noexcept = 0;
  // Records err as the outcome (its child failed to commit).
  virtual void set_error(std::exception_ptr err) noexcept = 0;
  // Forgets the outcome before the batch is run again (after map growth).
  virtual void reset() noexcept = 0;
  // Delivers the recorded outcome to the future: only after the batch is durable.
  virtual void fulfil() noexcept = 0;
  // Delivers err instead (the batch failed to commit).
  virtual void fail(std::exception_ptr err) noexcept = 0;
};

template <class F, class R>
class WriteRequestImpl final : public WriteRequest {
 public:
  WriteRequestImpl(F fn, std::function<void()> ready)
      : fn_(std::move(fn)), ready_(std::move(ready)) {}
  std::future<R> future() { return promise_.get_future(); }

  bool run(WriteTxn& txn) noexcept override {
    try {
      if constexpr (std::is_void_v<R>) {
        fn_(txn);
        done_ = true;
      } else {
        value_.emplace(fn_(txn));
      }
      return true;
    } catch (Rollback<R>& rollback) {
      if constexpr (std::is_void_v<R>) {
        done_ = true;
      } else {
        try {
          value_.emplace(std::move(rollback.value));
        } catch (...) {
          error_ = std::current_exception();
        }
      }
    } catch (...) {
      error_ = std::current_exception();
    }
    return false;
  }
  void set_error(std::exception_ptr err) noexcept override {
    reset();
    error_ = std::move(err);
  }
  void reset() noexcept override {
    error_ = nullptr;
    done_ = false;
    if constexpr (!std::is_void_v<R>) value_.reset();
  }
  void fulfil() noexcept override {
    try {
      if (error_) {
        promise_.set_exception(error_);
      } else if constexpr (std::is_void_v<R>) {
        promise_.set_value();
      } else {
        promise_.set_value(std::move(*value_));
      }
    } catch (...) {
      fail(std::current_exception());
    }
    tell_ready();
  }
  void fail(std::exception_ptr err) noexcept override {
    try {
      promise_.set_exception(std::move(err));
    } catch (...) {  // already satisfied: nothing left to tell
    }
    tell_ready();
  }

 private:
  // Once, after the promise is satisfied; an exception is swallowed (the caller's to avoid).
  void tell_ready() noexcept {
    if (auto ready = std::exchange(ready_, nullptr)) try {
        ready();
      } catch (...) {
      }
  }

  F fn_;
  std::function<void()> ready_;
  std::promise<R> promise_;
  std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> value_{};
  bool done_ = false;
  std::exception_ptr error_;
};

}  // namespace detail

// The single writer of an Environment. Requests are closures `R fn(WriteTxn&)`; submit()
// queues one and returns a std::future<R>. The writer thread takes every queued request (up
// to max_batch), opens ONE write txn, runs each request in order in it, commits once (one
// fsync for the batch) and only then resolves the futures. So:
//
//  - A resolved future means durable: its writes survived an fsync (and so kill -9 or power
//    loss). Nothing is acknowledged before the commit that contains it.
//  - Requests apply in submission order; each sees the writes of those before it.
//  - A request that throws (or rolls back) has its writes discarded: the others in the batch
//    are untouched, and its future gets the exception (after the batch commits). The batch's
//    txn cannot drop one request's writes, so the batch is aborted and run again with each
//    request in a child txn of its own, aborted if it fails. Children are kept for the next
//    kCarefulBatches batches too. (A child per request always cost LMDB a 2.5 MiB dirty list
//    and a sorted merge of its pages into the parent: a tenth of the writer's time.)
//  - If the batch commit fails, every future of the batch gets that StorageError, including
//    those that threw: their outcomes may rest on writes that were never made durable.
//
// Expected failures (not found, duplicate, insufficient credit) are values, not exceptions:
// validate first and return the outcome before writing anything; or, if a request has written
// and then finds it must not keep that, `throw Rollback<R>{outcome}`: its writes are discarded
// and the future resolves to `outcome`.
//
// A request may run more than once: when the map is full, the whole batch is aborted, the map
// doubled (Environment::resize_map) and the batch run again; and when a request of its batch
// fails (above). So a request must do nothing but
// read and write through its txn; side effects (sending, logging outcomes) belong after the
// future resolves. It must not commit or abort the txn, keep it or its cursors, or wait for
// another request (that would deadlock the writer).
//
// Threads: submit(), submit_wait(), stats() and stop() may be called from any thread
// concurrently, except that submit_wait() and stop() must not be called from a request (they
// throw std::logic_error). Do not hold a ReadTxn while waiting on a future: map growth waits
// for every open txn (up to resize_wait, after which the batch fails with MDB_MAP_FULL).
// The Environment must outlive the Writer.
class Writer {
 public:
  using Options = WriterOptions;

  // Starts the writer thread.
  explicit Writer(Environment& env, Options options = {});
  // stop().
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Queues fn to run in the next batch. The future resolves once the batch has committed.
  // After stop(), returns a future holding StorageError (ECANCELED).
  //
  // With `ready`: it is called once the future is ready (on the writer thread right after the
  // commit, or at once if the Writer has stopped), so that a caller can go on with other work
  // instead of blocking a thread on get() (an HTTP handler answering with http::Later lets
  // every request in flight share one fsync). `ready` must be cheap: the rest of the batch's
  // futures wait for it. It must not throw (an exception is swallowed) nor submit_wait.
  template <class F>
  auto submit(F fn, std::function<void()> ready = {})
      -> std::future<std::invoke_result_t<F&, WriteTxn&>> {
    using R = std::invoke_result_t<F&, WriteTxn&>;
    static_assert(!std::is_reference_v<R>, "a write request returns a value, not a reference");
    auto request =
        std::make_unique<detail::WriteRequestImpl<F, R>>(std::move(fn), std::move(ready));
    auto future = request->future();
    enqueue(std::move(request));
    return future;
  }

  // submit(fn) and wait: returns fn's result once durable, or rethrows its exception.
  template <class F>
  auto submit_wait(F fn) -> std::invoke_result_t<F&, WriteTxn&> {
    check_not_writer_thread("submit_wait");
    return submit(std::move(fn)).get();
  }

  // Stops taking requests, commits everything already queued, and joins the thread.
  // Idempotent.
  void stop();

  // A snapshot of the counters.
  WriterStats stats() const noexcept;
  // Requests queued for the next batch, now.
  std::size_t queued() const;

  // Batches run with a child txn per request after one with a failed request: a run of
  // failures (a peer sending bad messages) costs one extra pass per this many batches, not
  // one per batch.
  static constexpr int kCarefulBatches = 16;

  // Runs `hook` on the writer thread after each durable group commit (after the fsync, before
  // the batch's futures resolve, so a caller of submit_wait returns after its hooks ran).
  // For waking loops that act on committed work (mail, federation delivery), so no caller
  // has to remember to. A hook must be cheap, must not throw (it is called from a noexcept
  // path; an exception is logged and swallowed) and must not submit to this Writer. Install
  // hooks while wiring, before the node serves requests; installing later is safe but
  // commits before it do not run it.
  void on_commit(std::function<void()> hook);

  // Runs `hook` on the writer thread just before each batch's commit (after every request
  // ran), every time the batch is tried. For state kept outside LMDB that a commit must not
  // get ahead of (candidates/key_slots.hpp syncs new keys here, so no committed record names a
  // key that a crash could lose). A hook that throws fails the whole batch, uncommitted.
  void before_commit(std::function<void()> hook);

  // Runs `open` on the writer thread before a batch's futures resolve (before the first
  // `ready`) and `close` after the last, whether the batch committed or failed: so that what
  // the `ready` callbacks start can be handed on together (http::WakeGroup gathers the
  // replies they wake into one post to the server). The same rules as on_commit's hooks.
  void around_resolution(std::function<void()> open, std::function<void()> close);

 private:
  using Batch = std::vector<std::unique_ptr<detail::WriteRequest>>;

  void enqueue(std::unique_ptr<detail::WriteRequest> request);
  void check_not_writer_thread(const char* what) const;
  void run();
  // How one try of a batch ended.
  enum class Tried { committed, map_full, request_failed };
  void process(Batch& batch);
  // With `children`, each request runs in a child txn of its own; without, in the batch's
  // txn, and the first failure ends the try (request_failed, nothing committed).
  Tried try_batch(Batch& batch, bool children);
  bool grow_map();

  Environment& env_;
  Options options_;

  mutable std::mutex mutex_;  // guards queue_ and stopping_
  std::condition_variable wake_;
  std::deque<std::unique_ptr<detail::WriteRequest>> queue_;
  bool stopping_ = false;
  int careful_batches_ = 0;  // writer thread only: batches left to run with children

  void run_commit_hooks() noexcept;
  // Resolves every future of the batch: fulfils them, or fails them with `failure`.
  void resolve(Batch& batch, const std::exception_ptr& failure) noexcept;

  std::mutex hooks_mutex_;  // guards the hook lists below
  std::vector<std::function<void()>> commit_hooks_;
  std::vector<std::function<void()>> before_commit_hooks_;
  std::vector<std::pair<std::function<void()>, std::function<void()>>> resolution_hooks_;

  std::mutex stop_mutex_;  // serialises stop()
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};  // the writer thread's id, for deadlock checks

  std::atomic<std::uint64_t> batches_committed_{0};
  std::atomic<std::uint64_t> requests_committed_{0};
  std::atomic<std::uint64_t> requests_rolled_back_{0};
  std::atomic<std::uint64_t> batches_failed_{0};
  std::atomic<std::uint64_t> map_resizes_{0};
  std::atomic<std::uint64_t> batches_rerun_{0};
};

}  // namespace relay::node::storage
