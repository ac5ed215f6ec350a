// node/http: replies that wait (http::Later) do not hold a server thread, and the Writer's
// `ready` callback that wakes them. On the real server over loopback with ONE thread: while
// one request waits for its wake-up, other connections are served; wake-ups gathered by a
// WakeGroup, and the Writer's hooks that open and close one around each batch's `ready` calls.
#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "node/http/client.hpp"
#include "node/http/router.hpp"
#include "node/http/server.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/error.hpp"
#include "node/storage/writer.hpp"
#include "support/temp_dir.hpp"

using namespace relay::node;
using namespace std::chrono_literals;

namespace {

// A one-thread server whose /slow/{n} replies wait until the test wakes them.
struct LaterSite {
  std::mutex mutex;
  std::vector<std::shared_ptr<http::Later>> waiting;
  http::Router router;
  http::Server server;
  std::thread thread;
  std::string url;

  LaterSite()
      : server(http::ServerOptions{.address = "127.0.0.1", .port = 0, .threads = 1, .tls = {}},
               [this](const http::Request& r) { return router.handle(r); }) {
    router.add("GET", "/fast", [](const http::Request&, const http::Params&) {
      return http::text_response(200, "fast");
    });
    router.add("GET", "/slow/{n}", [this](const http::Request&, const http::Params& p) {
      auto later = std::make_shared<http::Later>();
      later->set_finish([n = p.at("n")] { return http::text_response(200, "slow " + n); });
      std::lock_guard lock(mutex);
      waiting.push_back(later);
      return http::later_response(later);
    });
    router.add("GET", "/broken", [](const http::Request&, const http::Params&) {
      auto later = std::make_shared<http::Later>(
          []() -> http::Response { throw std::runtime_error("secret detail"); });
      later->wake();  // woken before the server waits: it must not wait forever
      return http::later_response(later);
    });
    server.listen();
    url = "http://127.0.0.1:" + std::to_string(server.port());
    thread = std::thread([this] { server.run(false); });
  }
  ~LaterSite() {
    wake_all();
    server.stop();
    thread.join();
  }
  std::size_t waiting_count() {
    std::lock_guard lock(mutex);
    return waiting.size();
  }
  // Sends GET /slow/first .. /slow/first+n-1 and returns once all n handlers have returned.
  std::vector<std::future<http::ClientResult>> start_slow(int n, int first = 0) {
    const std::size_t before = waiting_count();
    std::vector<std::future<http::ClientResult>> slow;
    for (int i = first; i < first + n; ++i)
      slow.push_back(std::async(std::launch::async, [this, i] {
        return http::http_request("GET", url + "/slow/" + std::to_string(i));
      }));
    const std::size_t want = before + static_cast<std::size_t>(n);
    for (int i = 0; i < 500 && waiting_count() < want; ++i) std::this_thread::sleep_for(10ms);
    REQUIRE(waiting_count() == want);
    return slow;
  }
  void wake_all() {
    std::lock_guard lock(mutex);
    for (auto& later : waiting) later->wake();
    waiting.clear();
  }
};

// Each reply of start_slow(n, first) is 200 "slow {first + i}".
void check_slow_answers(std::vector<std::future<http::ClientResult>>& slow, int first = 0) {
  for (std::size_t i = 0; i < slow.size(); ++i) {
    auto r = slow[i].get();
    REQUIRE(r);
    CHECK(r.response->status == 200);
    CHECK(r.response->body == "slow " + std::to_string(first + static_cast<int>(i)));
  }
}

}  // namespace

TEST_SUITE_BEGIN("http");

TEST_CASE("http later: waiting replies do not hold the only server thread") {
  LaterSite site;
  auto slow = site.start_slow(8);  // eight handlers returned while one thread serves

  // Still served while eight wait.
  auto fast = http::http_request("GET", site.url + "/fast");
  REQUIRE(fast);
  CHECK(fast.response->body == "fast");
  for (auto& f : slow) CHECK(f.wait_for(0s) == std::future_status::timeout);

  site.wake_all();
  check_slow_answers(slow);

  // Counted once each, under the route's pattern, with the final status.
  std::string metrics;
  site.router.metrics().write_prometheus(metrics);
  CHECK(metrics.find("route=\"/slow/{n}\",status=\"200\"} 8") != std::string::npos);
}

TEST_CASE("http later: a reply that fails while finishing is a 500 without its text") {
  LaterSite site;
  auto r = http::http_request("GET", site.url + "/broken");
  REQUIRE(r);
  CHECK(r.response->status == 500);
  CHECK(r.response->body.find("secret") == std::string::npos);
  CHECK(r.response->body.find("internal") != std::string::npos);
  // The connection's thread is free again.
  CHECK(http::http_request("GET", site.url + "/fast").response->status == 200);
}

TEST_CASE("http later: replies woken in a WakeGroup are sent when the group closes") {
  LaterSite site;
  auto slow = site.start_slow(4);

  // Woken inside two nested groups: held until the outer one closes.
  http::WakeGroup::open();
  http::WakeGroup::open();
  site.wake_all();
  http::WakeGroup::close();
  std::this_thread::sleep_for(200ms);
  for (auto& f : slow) CHECK(f.wait_for(0s) == std::future_status::timeout);
  // The server thread is free meanwhile.
  CHECK(http::http_request("GET", site.url + "/fast").response->status == 200);
  http::WakeGroup::close();
  check_slow_answers(slow);

  // No group open: a wake-up is posted at once, and a close without an open does nothing.
  http::WakeGroup::close();
  auto one = site.start_slow(1, 9);
  site.wake_all();
  REQUIRE(one[0].wait_for(5s) == std::future_status::ready);
  check_slow_answers(one, 9);
}

TEST_CASE("storage writer: around_resolution wraps each batch's `ready` calls, committed or not") {
  relay::test::TempDir dir;
  auto env = storage::Environment::open(dir.path);
  auto db = env.database("resolution");
  storage::Writer writer(env);
  std::mutex mutex;
  std::vector<std::string> events;
  auto note = [&](std::string event) {
    std::lock_guard lock(mutex);
    events.push_back(std::move(event));
  };
  writer.around_resolution([&] { note("open"); }, [&] { note("close"); });
  std::atomic<bool> fail_commits{false};
  writer.before_commit([&] {
    if (fail_commits) throw storage::StorageError("test: the commit fails", EIO);
  });

  // The first request holds the writer until three more are queued: they form one batch.
  std::promise<void> started;
  std::promise<void> release;
  auto released = release.get_future().share();
  std::vector<std::future<int>> futures;
  futures.push_back(writer.submit(
      [&started, released](storage::WriteTxn&) {
        started.set_value();
        released.wait();
        return 0;
      },
      [&] { note("ready 0"); }));
  started.get_future().wait();
  for (int i = 1; i <= 3; ++i)
    futures.push_back(writer.submit(
        [db, i](storage::WriteTxn& txn) {
          txn.put(db, std::to_string(i), "v");
          return i;
        },
        [&note, i] { note("ready " + std::to_string(i)); }));
  release.set_value();
  for (int i = 0; i <= 3; ++i) CHECK(futures[static_cast<std::size_t>(i)].get() == i);

  // A batch whose commit fails: its `ready` calls are wrapped too.
  fail_commits = true;
  auto failed = writer.submit([](storage::WriteTxn&) { return 4; }, [&] { note("ready 4"); });
  CHECK_THROWS_AS(failed.get(), storage::StorageError);
  writer.stop();  // the last close has run
  CHECK(events == std::vector<std::string>{"open", "ready 0", "close", "open", "ready 1", "ready 2",
                                           "ready 3", "close", "open", "ready 4", "close"});
}

TEST_CASE("storage writer: `ready` is called once the future is ready, after the commit") {
  relay::test::TempDir dir;
  auto env = storage::Environment::open(dir.path);
  auto db = env.database("ready");
  storage::Writer writer(env);
  std::atomic<int> calls{0};
  std::promise<bool> durable_when_ready;
  auto future = writer.submit(
      [db](storage::WriteTxn& txn) {
        txn.put(db, "k", "v");
        return 7;
      },
      [&] {
        // Called on the writer thread after the commit: a reader sees the write. Counted
        // before the promise is kept, which lets the test thread go on (CI once saw 0).
        const bool visible = env.begin_read().get(db, "k").has_value();
        ++calls;
        durable_when_ready.set_value(visible);
      });
  CHECK(durable_when_ready.get_future().get());
  CHECK(future.wait_for(0s) == std::future_status::ready);
  CHECK(future.get() == 7);
  CHECK(calls == 1);

  // A request that throws still wakes its caller, with the exception in the future.
  std::promise<void> woken;
  auto failed = writer.submit([](storage::WriteTxn&) -> int { throw std::runtime_error("no"); },
                              [&] { woken.set_value(); });
  woken.get_future().wait();
  CHECK_THROWS_AS(failed.get(), std::runtime_error);

  // After stop(): called at once, the future holds the refusal.
  writer.stop();
  bool called = false;
  auto late = writer.submit([](storage::WriteTxn&) { return 1; }, [&] { called = true; });
  CHECK(called);
  CHECK_THROWS_AS(late.get(), storage::StorageError);
}

TEST_SUITE_END();
