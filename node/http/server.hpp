#pragma once
// The node's HTTP/1.1 server (Boost.Beast, C++20 coroutines), hidden behind a small
// interface so that only server.cpp pays Beast's compile cost.
//
// HTTPS when ServerOptions::tls names a certificate chain and a key (OpenSSL, TLS 1.2 and
// later): the key file must be readable by its owner only. reload_tls() (and SIGHUP, when the
// server handles signals) reads both again: connections accepted afterwards use the new ones,
// open connections keep theirs, the listener never closes; a pair that does not load is
// logged and the old one stays.
//
// Per connection: a fresh parser per request with header and body limits, an idle timeout
// while waiting for a request and a read timeout while reading it, keep-alive. Requests that
// could be smuggled past a proxy are refused before their body is read: a Transfer-Encoding
// other than exactly "chunked", Transfer-Encoding together with Content-Length, and anything
// but exactly one Host header. The handler runs on one of the server's threads and may block
// (it waits for durable commits), or answer with a Later (message.hpp) that the server waits
// for while serving others; an exception from either becomes a 500 with a JSON error body.
//
// At most `max_connections` are open at once: past it a new connection is closed as soon as
// it is accepted. When accept itself fails (EMFILE/ENFILE at the descriptor limit) the loop
// waits (100 ms, doubling to 1 s) instead of spinning. Both are logged at most once per
// 10 s, with how many happened. With `behind_proxy`, Request::remote_address is the last hop
// of X-Forwarded-For (the address the proxy saw), when it is a valid IP address.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "node/http/message.hpp"

namespace relay::node::http {

struct TlsFiles {
  std::filesystem::path certificate_file;  // PEM chain, leaf first
  std::filesystem::path key_file;          // PEM private key, mode 0600
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: an ephemeral port, see Server::port()
  std::size_t max_body_bytes = 64 * 1024;
  std::size_t max_header_bytes = 8 * 1024;
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds idle_timeout{30'000};
  int threads = 4;
  std::optional<TlsFiles> tls;  // none: plain HTTP
  bool behind_proxy = false;
  std::size_t max_connections = 4096;
};

using Handler = std::function<Response(const Request&)>;

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the TLS files (std::runtime_error naming tls.certificate_file or tls.key_file if
  // they do not load, or the key is readable by others), binds and listens (std::system_error
  // naming the address if it cannot).
  void listen();
  // Loads the TLS files again for new connections; false (the old pair stays, the reason is
  // logged) if they do not load. Thread-safe. True without TLS (nothing to reload).
  bool reload_tls();
  // The bound port (after listen()).
  std::uint16_t port() const;
  // Connections open now (any thread).
  std::size_t connections() const;
  // Serves on options.threads threads until stop() is called or SIGINT/SIGTERM arrives
  // (if handle_signals; SIGHUP then calls reload_tls()). In-flight requests finish; then it
  // returns.
  void run(bool handle_signals);
  // Thread-safe; may be called from a handler or another thread.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Gathers the wake-ups of Later replies (Later::wake) made on this thread from open() to
// close(), and hands each server its share in one post. Each wake-up alone is a post that
// wakes an idle server thread: a futex call and, on a busy core, a switch that preempts the
// thread waking them (the Writer, which wakes a whole batch's replies after a commit). In one
// post, the replies are queued from a server thread as continuations, which wake no other.
// The node opens one around each batch's futures (Writer::around_resolution). Per thread;
// nested groups hand on at the outermost close. A reply woken outside a group is posted at
// once, as before.
class WakeGroup {
 public:
  static void open();
  static void close();
};

}  // namespace relay::node::http
