// node/http: the client keeps idle connections for the next request to the same server
// (kept_connections.hpp). On the real server over loopback, and on a scripted one for what the
// real one does only by chance: closing a kept connection just as a request goes out on it.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "node/http/client.hpp"
#include "node/http/kept_connections.hpp"
#include "node/http/router.hpp"
#include "node/http/server.hpp"

using namespace relay::node;
using namespace std::chrono_literals;

namespace {

// A relay server on loopback answering GET /hello.
struct HelloSite {
  http::Router router;
  http::Server server;
  std::thread thread;
  std::string url;

  explicit HelloSite(std::chrono::milliseconds idle_timeout = 30s)
      : server(http::ServerOptions{.address = "127.0.0.1",
                                   .port = 0,
                                   .idle_timeout = idle_timeout,
                                   .threads = 1,
                                   .tls = {}},
               [this](const http::Request& r) { return router.handle(r); }) {
    router.add("GET", "/hello", [](const http::Request&, const http::Params&) {
      return http::text_response(200, "hello");
    });
    server.listen();
    url = "http://127.0.0.1:" + std::to_string(server.port()) + "/hello";
    thread = std::thread([this] { server.run(false); });
  }
  ~HelloSite() {
    server.stop();
    thread.join();
  }
};

bool eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 200; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

// A loopback server that plays a script, one step a request, in the order they come, whatever
// the connection: answer it (keep-alive); answer it with a 408 nobody asked for in the same
// write, or 50 ms later (as some servers do before closing an idle connection), and serve that
// connection no more; close its connection after reading it; or read it and say nothing.
// Counts the connections it accepted.
class ScriptedServer {
 public:
  enum class Step { answer, answer_and_unasked, answer_then_unasked, close, hang };

  explicit ScriptedServer(std::vector<Step> script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 16) != 0)
      throw std::runtime_error("cannot listen");
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    url_ = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
    thread_ = std::thread([this] { run(); });
  }
  ~ScriptedServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    for (int c : open_) ::close(c);
    ::close(fd_);
  }
  const std::string& url() const { return url_; }
  std::size_t accepted() const { return accepted_.load(); }

 private:
  void run() {
    std::size_t next = 0;
    while (next < script_.size()) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++accepted_;
      open_.push_back(c);
      // Requests on this connection until the script closes it or the client does.
      while (next < script_.size() && read_request(c)) {
        const auto step = script_[next++];
        if (step == Step::close) {
          ::close(c);
          open_.pop_back();
          break;
        }
        if (step == Step::hang) continue;
        const std::string body = "answer " + std::to_string(next);
        const std::string unasked = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n";
        std::string reply =
            "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        if (step == Step::answer_and_unasked) reply += unasked;
        if (::send(c, reply.data(), reply.size(), MSG_NOSIGNAL) < 0) break;
        if (step == Step::answer_then_unasked) {
          // Once the client has read the reply and keeps the connection idle.
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          ::send(c, unasked.data(), unasked.size(), MSG_NOSIGNAL);
        }
        if (step != Step::answer) break;  // left open, never read again
      }
    }
  }
  // A request without a body: up to its blank line.
  static bool read_request(int c) {
    std::string got;
    char byte = 0;
    while (got.find("\r\n\r\n") == std::string::npos) {
      if (::recv(c, &byte, 1, 0) != 1) return false;
      got += byte;
    }
    return true;
  }

  std::vector<Step> script_;
  int fd_ = -1;
  std::string url_;
  std::atomic<std::size_t> accepted_{0};
  std::vector<int> open_;
  std::thread thread_;
};

using Step = ScriptedServer::Step;

}  // namespace

TEST_SUITE_BEGIN("http");

TEST_CASE("http client: the next request to the same server goes over the kept connection") {
  HelloSite site;
  auto first = http::http_request("GET", site.url);
  REQUIRE_MESSAGE(first, first.error);
  CHECK(first.response->body == "hello");
  CHECK_FALSE(first.connection_reused);
  for (int i = 0; i < 3; ++i) {
    auto next = http::http_request("GET", site.url);
    REQUIRE_MESSAGE(next, next.error);
    CHECK(next.response->body == "hello");
    CHECK(next.connection_reused);
  }
  CHECK(eventually([&] { return site.server.connections() == 1; }));

  // "Connection: close" opens a connection of its own and leaves it closed; the kept one stays.
  auto closing = http::http_request("GET", site.url, {}, {{"Connection", "close"}});
  REQUIRE_MESSAGE(closing, closing.error);
  CHECK_FALSE(closing.connection_reused);
  CHECK(eventually([&] { return site.server.connections() == 1; }));
  CHECK(http::http_request("GET", site.url).connection_reused);

  // Another server is another connection.
  HelloSite other;
  auto elsewhere = http::http_request("GET", other.url);
  REQUIRE_MESSAGE(elsewhere, elsewhere.error);
  CHECK_FALSE(elsewhere.connection_reused);
}

TEST_CASE("http client: threads sending at once to one server share its kept connections") {
  HelloSite site;
  std::atomic<int> answered{0};
  std::atomic<int> reused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto r = http::http_request("GET", site.url);
        if (r && r.response->body == "hello") ++answered;
        if (r.connection_reused) ++reused;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(answered == 200);
  // Each thread opens at most one connection of its own (eight kept a server at most), so
  // nearly all go over one already open.
  CHECK(reused >= 192);
  CHECK(site.server.connections() <= 8);
}

TEST_CASE("http client: a kept connection the server closed while idle is not used") {
  HelloSite site(100ms);  // the server closes a connection idle for 100 ms
  REQUIRE(http::http_request("GET", site.url));
  REQUIRE(eventually([&] { return site.server.connections() == 0; }));
  auto later = http::http_request("GET", site.url);
  REQUIRE_MESSAGE(later, later.error);
  CHECK(later.response->body == "hello");
  CHECK_FALSE(later.connection_reused);
}

TEST_CASE("http client: a request the server closed unanswered on a kept connection goes again") {
  // The server reads the second request and closes, as a server closing an idle connection
  // does when a request crosses the close: nothing of it was answered, so it goes once more.
  ScriptedServer server({Step::answer, Step::close, Step::answer});
  auto first = http::http_request("GET", server.url());
  REQUIRE_MESSAGE(first, first.error);
  CHECK(first.response->body == "answer 1");
  auto second = http::http_request("GET", server.url());
  REQUIRE_MESSAGE(second, second.error);
  CHECK(second.response->body == "answer 3");
  CHECK_FALSE(second.connection_reused);
  CHECK(server.accepted() == 2);
}

TEST_CASE("http client: a connection with bytes nobody asked for is not kept, nor used") {
  // Sent over it, the next request would read the 408 as its reply (or, had the client read
  // the 408 with the reply and dropped it, wait for an answer that never comes).
  for (auto first : {Step::answer_and_unasked, Step::answer_then_unasked}) {
    ScriptedServer server({first, Step::answer});
    REQUIRE(http::http_request("GET", server.url()));
    std::this_thread::sleep_for(200ms);  // the 408 has arrived
    auto second = http::http_request("GET", server.url(), {}, {}, 1s);
    REQUIRE_MESSAGE(second, second.error);
    CHECK(second.response->status == 200);
    CHECK(second.response->body == "answer 2");
    CHECK_FALSE(second.connection_reused);
    CHECK(server.accepted() == 2);
  }
}

TEST_CASE("http client: a kept connection whose server hangs is not tried again") {
  // A time-out is not a close: the request may be under way, and a second try would wait as
  // long again.
  ScriptedServer server({Step::answer, Step::hang});
  REQUIRE(http::http_request("GET", server.url()));
  auto second = http::http_request("GET", server.url(), {}, {}, 300ms);
  CHECK_FALSE(second);
  CHECK_FALSE(second.error.empty());
  CHECK(server.accepted() == 1);
}

TEST_CASE("kept connections: the last given back is taken; caps and idle time are kept") {
  using Kept = http::KeptConnections<int>;
  const auto t0 = Kept::Clock::time_point{} + 1h;
  Kept kept(3, 2, 20s);
  CHECK(kept.take("a", t0) == nullptr);
  kept.give("a", std::make_unique<int>(1), t0);
  kept.give("a", std::make_unique<int>(2), t0 + 1s);
  kept.give("b", std::make_unique<int>(3), t0 + 2s);
  CHECK(kept.size() == 3);
  // Two a server at most: a third for "a" puts out its oldest.
  kept.give("a", std::make_unique<int>(4), t0 + 3s);
  CHECK(kept.size() == 3);
  auto taken = kept.take("a", t0 + 4s);
  REQUIRE(taken);
  CHECK(*taken == 4);  // the last given back
  taken = kept.take("a", t0 + 4s);
  REQUIRE(taken);
  CHECK(*taken == 2);
  CHECK(kept.take("a", t0 + 4s) == nullptr);  // 1 was put out

  // Three in all: a fourth puts out the one idle longest, whichever its server.
  kept.give("c", std::make_unique<int>(5), t0 + 5s);
  kept.give("d", std::make_unique<int>(6), t0 + 6s);
  kept.give("e", std::make_unique<int>(7), t0 + 7s);
  CHECK(kept.size() == 3);
  CHECK(kept.take("b", t0 + 8s) == nullptr);  // 3, the oldest, went

  // Idle longer than 20 s: dropped, not taken.
  CHECK(kept.take("c", t0 + 26s) == nullptr);
  auto d = kept.take("d", t0 + 26s);
  REQUIRE(d);
  CHECK(*d == 6);
  CHECK(kept.size() == 1);
}

TEST_SUITE_END();
