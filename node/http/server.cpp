#include "node/http/server.hpp"

#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/defer.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "node/common/secret_file.hpp"
#include "node/http/wire.hpp"

namespace relay::node::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

// Counts a session as open for as long as it lives.
class ConnectionSlot {
 public:
  explicit ConnectionSlot(std::atomic<std::size_t>& open) : open_(&open) {}
  ConnectionSlot(ConnectionSlot&& o) noexcept : open_(std::exchange(o.open_, nullptr)) {}
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ~ConnectionSlot() {
    if (open_) --*open_;
  }

 private:
  std::atomic<std::size_t>* open_;
};

}  // namespace

struct Server::Impl {
  ServerOptions options;
  Handler handler;
  asio::io_context io;
  // The acceptor lives on its own strand: the io threads run the accept loop while stop()
  // closes the acceptor, and the two must not touch it at once (ThreadSanitizer saw them).
  asio::strand<asio::io_context::executor_type> accept_strand{asio::make_strand(io)};
  tcp::acceptor acceptor{accept_strand};
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};
  std::atomic<std::size_t> connections{0};
  // Only touched by the accept loop (on accept_strand).
  asio::steady_timer accept_pause{accept_strand};
  asio::steady_timer drain_timer{io};
  // The TLS context new connections get; swapped by reload_tls(), kept alive by each session.
  std::mutex tls_mutex;
  std::shared_ptr<ssl::context> tls;

  Impl(ServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {}

  std::shared_ptr<ssl::context> current_tls() {
    std::lock_guard lock(tls_mutex);
    return tls;
  }
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> plain_session(beast::tcp_stream stream, ConnectionSlot slot);
  asio::awaitable<void> tls_session(TlsStream stream, std::shared_ptr<ssl::context> context,
                                    ConnectionSlot slot);
  template <class Stream>
  asio::awaitable<void> session(Stream& stream);
  Response dispatch(bhttp::request<bhttp::string_body>& req, const std::string& remote);
  asio::awaitable<Response> settle(std::shared_ptr<Later> later);
  void begin_stop();
  void drain();
};

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return beast::iequals(a, b);
}

// Checks the framing headers before any body byte is read (see server.hpp).
std::optional<std::string> framing_problem(const bhttp::request_parser<bhttp::string_body>& p) {
  const auto& h = p.get();
  // One pass over the fields: a count() each was four case-insensitive set look-ups a request.
  int hosts = 0, te = 0, lengths = 0;
  for (const auto& f : h) {
    switch (f.name()) {
      case bhttp::field::host:
        ++hosts;
        break;
      case bhttp::field::transfer_encoding:
        ++te;
        break;
      case bhttp::field::content_length:
        ++lengths;
        break;
      default:
        break;
    }
  }
  if (hosts != 1) return "exactly one Host header is required";
  if (te > 1) return "repeated Transfer-Encoding headers are not accepted";
  if (te == 1) {
    if (!iequals(h[bhttp::field::transfer_encoding], "chunked"))
      return "Transfer-Encoding other than chunked is not accepted";
    if (lengths > 0) return "Transfer-Encoding and Content-Length together are not accepted";
  }
  if (lengths > 1) return "repeated Content-Length headers";
  return std::nullopt;
}

// A server context from the PEM files; throws std::runtime_error naming the field at fault.
std::shared_ptr<ssl::context> load_tls(const TlsFiles& files) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
  beast::error_code ec;
  context->use_certificate_chain_file(files.certificate_file.string(), ec);
  if (ec)
    throw std::runtime_error("tls.certificate_file: cannot load " +
                             files.certificate_file.string() + " (" + ec.message() + ")");
  auto key = common::read_secret_file(files.key_file, "tls.key_file");
  context->use_private_key(asio::buffer(key), ssl::context::pem, ec);
  OPENSSL_cleanse(key.data(), key.size());
  if (ec)
    throw std::runtime_error("tls.key_file: cannot load " + files.key_file.string() + " (" +
                             ec.message() + ")");
  if (SSL_CTX_check_private_key(context->native_handle()) != 1)
    throw std::runtime_error("tls.key_file: " + files.key_file.string() +
                             " does not match tls.certificate_file");
  return context;
}

// One log line per interval for a repeated event, with how many times it happened: an
// attacker who makes accept fail cannot fill the disk with lines. Used by one strand only.
class ThrottledLog {
 public:
  explicit ThrottledLog(std::chrono::seconds interval) : interval_(interval) {}
  template <class Log>
  void event(Log&& log) {
    ++count_;
    auto now = std::chrono::steady_clock::now();
    if (logged_ && now - *logged_ < interval_) return;
    log(count_);
    count_ = 0;
    logged_ = now;
  }

 private:
  std::chrono::seconds interval_;
  std::uint64_t count_ = 0;
  std::optional<std::chrono::steady_clock::time_point> logged_;
};

// The last hop of an X-Forwarded-For value, if it is an IP address.
std::optional<std::string> forwarded_client(std::string_view value) {
  auto comma = value.rfind(',');
  auto hop = comma == std::string_view::npos ? value : value.substr(comma + 1);
  auto begin = hop.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return std::nullopt;
  hop = hop.substr(begin, hop.find_last_not_of(" \t") - begin + 1);
  beast::error_code ec;
  auto address = asio::ip::make_address(std::string(hop), ec);
  if (ec) return std::nullopt;
  return address.to_string();
}

// Feeds `parser` the bytes already in `buffer` (consuming what it takes) until the message is
// complete or the buffer runs out; what Beast's read would do with them before reading more.
// Returns the parser's error; running out of bytes is none.
beast::error_code parse_buffered(bhttp::request_parser<bhttp::string_body>& parser,
                                 beast::flat_buffer& buffer) {
  beast::error_code ec;
  while (!parser.is_done() && buffer.size() > 0) {
    auto used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == bhttp::error::need_more) return {};
    if (ec || used == 0) break;
  }
  return ec;
}

bool connection_gone(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == beast::error::timeout || ec == asio::error::operation_aborted ||
         ec == asio::error::connection_reset || ec == ssl::error::stream_truncated;
}

// The path for a log line, with every segment that could be a capability token (candidate
// pages carry one: /r/m/<token>) replaced by "*": ids and route words are short.
std::string redacted_path(const std::string& path) {
  std::string out;
  std::size_t start = 0;
  while (start < path.size()) {
    auto end = path.find('/', start + 1);
    if (end == std::string::npos) end = path.size();
    auto segment = path.substr(start, end - start);  // with its leading '/'
    out += segment.size() > 17 ? "/*" : segment;
    start = end;
  }
  return out;
}

}  // namespace

Response Server::Impl::dispatch(bhttp::request<bhttp::string_body>& req,
                                const std::string& remote) {
  Request request;
  request.method = std::string(req.method_string());
  request.target = std::string(req.target());
  for (const auto& field : req)
    request.headers.insert_or_assign(field_name(field.name_string()), std::string(field.value()));
  request.body = std::move(req.body());
  request.remote_address = remote;
  if (options.behind_proxy) {
    if (auto it = request.headers.find("x-forwarded-for"); it != request.headers.end())
      if (auto client = forwarded_client(it->second)) request.remote_address = *client;
  }
  if (!parse_target(request)) return error_response(400, "bad_target", "malformed request target");
  try {
    return handler(request);
  } catch (const std::exception& e) {
    // Never echo the exception text: it could carry request data.
    spdlog::error("handler failed for {} {}: internal error", request.method,
                  redacted_path(request.path));
    (void)e;
    return error_response(500, "internal", "internal error");
  } catch (...) {
    return error_response(500, "internal", "internal error");
  }
}

namespace {

// The wake-ups gathered on this thread while a WakeGroup is open (server.hpp), by server.
struct GatheredWakes {
  int depth = 0;
  std::vector<std::pair<asio::io_context*, std::vector<std::function<void()>>>> by_server;
};
thread_local GatheredWakes gathered;

// Completes `token` once `later` is woken, by one post of its handler to the handler's own
// executor (the connection's strand): the wait holds no thread and the wake-up cannot race it.
// Woken inside a WakeGroup, the handler waits for the group's one post to `io`, which defers
// it to its strand from a server thread: a continuation, queued without waking another thread.
template <class Token>
auto async_woken(asio::io_context& io, std::shared_ptr<Later> later, Token&& token) {
  return asio::async_initiate<Token, void()>(
      [&io](auto handler, std::shared_ptr<Later> later) {
        // on_wake keeps a std::function, which must be copyable; the handler is move-only.
        auto held = std::make_shared<decltype(handler)>(std::move(handler));
        later->on_wake([held, &io] {
          if (gathered.depth == 0) {
            asio::post(asio::get_associated_executor(*held), std::move(*held));
            return;
          }
          auto resume = [held] {
            asio::defer(asio::get_associated_executor(*held), std::move(*held));
          };
          auto& by_server = gathered.by_server;
          auto it = std::find_if(by_server.begin(), by_server.end(),
                                 [&io](const auto& entry) { return entry.first == &io; });
          if (it == by_server.end()) it = by_server.insert(by_server.end(), {&io, {}});
          it->second.push_back(std::move(resume));
        });
      },
      token, std::move(later));
}

}  // namespace

// Waits for a Later reply without holding the thread, then builds it (see message.hpp). One
// post resumes it: a timer woken by cancelling its wait took three handlers and a timer queue
// update for every reply that waited for a commit.
asio::awaitable<Response> Server::Impl::settle(std::shared_ptr<Later> later) {
  co_await async_woken(io, later, asio::use_awaitable);
  try {
    co_return later->finish();
  } catch (...) {
    spdlog::error("handler failed while finishing a reply: internal error");
  }
  co_return error_response(500, "internal", "internal error");
}

asio::awaitable<void> Server::Impl::plain_session(beast::tcp_stream stream, ConnectionSlot slot) {
  (void)slot;  // held until the connection ends
  co_await session(stream);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> Server::Impl::tls_session(TlsStream stream,
                                                std::shared_ptr<ssl::context> context,
                                                ConnectionSlot slot) {
  (void)context;  // held: the stream uses it for as long as the connection lives
  (void)slot;
  beast::get_lowest_layer(stream).expires_after(options.read_timeout);
  auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
  if (ec) co_return;  // not TLS, an untrusting client, or too slow: nothing to answer
  co_await session(stream);
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
  co_await stream.async_shutdown(use_tuple);
}

template <class Stream>
asio::awaitable<void> Server::Impl::session(Stream& stream) {
  auto& lowest = beast::get_lowest_layer(stream);
  beast::flat_buffer buffer;
  std::string remote;
  {
    beast::error_code ec;
    auto ep = lowest.socket().remote_endpoint(ec);
    if (!ec) remote = ep.address().to_string();
  }
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser.body_limit(options.max_body_bytes);
    lowest.expires_after(options.idle_timeout);
    auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, use_tuple);
    (void)n;
    std::optional<Response> early;  // an error answered before the body is read
    if (connection_gone(ec)) {
      break;
    } else if (ec == bhttp::error::header_limit) {
      early = error_response(431, "header_too_large", "request headers are too large");
    } else if (ec == bhttp::error::body_limit) {
      // Beast checks a declared Content-Length against body_limit while reading the header.
      early = error_response(413, "body_too_large", "request body is too large");
    } else if (ec) {
      early = error_response(400, "bad_request", "malformed HTTP request");
    } else if (auto problem = framing_problem(parser)) {
      early = error_response(400, "bad_framing", *problem);
    } else if (auto len = parser.content_length(); len && *len > options.max_body_bytes) {
      early = error_response(413, "body_too_large", "request body is too large");
    }
    // A request without a body (most GETs) is complete with its header: no second read, which
    // would cost a whole asynchronous operation (timer, strand, coroutine) to learn nothing.
    if (!early && !parser.is_done()) {
      auto& h = parser.get();
      if (iequals(h[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, h.version()};
        co_await bhttp::async_write(stream, cont, use_tuple);
      }
      // A small body (a form) mostly comes in the head's packets: parse what is buffered
      // here, and read only for the rest. A read of a body already buffered would complete by
      // a post (a whole asynchronous operation: timer, strand, coroutine) to learn nothing.
      auto rec = parse_buffered(parser, buffer);
      if (!rec && !parser.is_done()) {
        lowest.expires_after(options.read_timeout);
        auto [ec_read, rn] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
        (void)rn;
        rec = ec_read;
      }
      if (rec == bhttp::error::body_limit) {
        early = error_response(413, "body_too_large", "request body is too large");
      } else if (rec == beast::error::timeout) {
        early = error_response(408, "timeout", "request not received in time");
      } else if (rec) {
        break;  // the peer went away or sent garbage mid-body: nothing to answer
      }
    }
    if (early) {
      // After a framing error the stream position is unknown: answer and close.
      lowest.expires_after(options.read_timeout);
      co_await async_send(stream, *early, 11, false);
      break;
    }
    auto req = parser.release();
    bool keep_alive = req.keep_alive() && !stopping.load();
    unsigned version = req.version();
    ++in_flight;
    Response response = dispatch(req, remote);
    if (response.later) response = co_await settle(std::move(response.later));
    --in_flight;
    if (response.stream) {
      if (version == 10) keep_alive = false;  // the body ends with the connection
      auto failed =
          co_await async_send_stream(stream, response, version, keep_alive, options.read_timeout);
      if (failed == std::errc::io_error) spdlog::error("a streamed reply failed part-way");
      if (failed || !keep_alive) break;
      continue;
    }
    lowest.expires_after(options.read_timeout);
    auto failed = co_await async_send(stream, response, version, keep_alive);
    if (failed || !keep_alive) break;
  }
}

asio::awaitable<void> Server::Impl::accept_loop() {
  ThrottledLog accept_failures(std::chrono::seconds(10));
  ThrottledLog at_capacity(std::chrono::seconds(10));
  auto pause = std::chrono::milliseconds(100);
  for (;;) {
    // Each connection gets its own strand (not the acceptor's: sessions run in parallel).
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping) co_return;
      // Out of descriptors (or another failure that repeats at once): accepting again now
      // would fail again and spin, so wait; open connections close and free descriptors.
      accept_failures.event([&](std::uint64_t n) {
        spdlog::warn("accept failed: {} ({} times in 10 s); pausing accepts for {} ms",
                     ec.message(), n, pause.count());
      });
      accept_pause.expires_after(pause);
      co_await accept_pause.async_wait(use_tuple);
      pause = std::min(pause * 2, std::chrono::milliseconds(1000));
      continue;
    }
    pause = std::chrono::milliseconds(100);
    if (connections.load() >= options.max_connections) {
      at_capacity.event([&](std::uint64_t n) {
        spdlog::warn("{} connections open (http.max_connections): {} new ones closed in 10 s",
                     options.max_connections, n);
      });
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    ++connections;
    ConnectionSlot slot(connections);
    // Each write goes out at once. With Nagle's algorithm a small write waits for the ACK of
    // the one before, which the client delays by up to 40 ms: over HTTPS every new connection's
    // first reply waited so (the TLS 1.3 session tickets are a write of their own), and a reply
    // of more than a TLS record is several writes.
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto executor = socket.get_executor();
    auto ended = [](std::exception_ptr e) {
      if (e) spdlog::error("http session ended with an internal error");
    };
    if (auto context = current_tls()) {
      TlsStream stream(beast::tcp_stream(std::move(socket)), *context);
      asio::co_spawn(executor, tls_session(std::move(stream), std::move(context), std::move(slot)),
                     ended);
    } else {
      asio::co_spawn(executor, plain_session(beast::tcp_stream(std::move(socket)), std::move(slot)),
                     ended);
    }
  }
}

void Server::Impl::begin_stop() {
  if (stopping.exchange(true)) return;
  asio::post(accept_strand, [this] {
    beast::error_code ignored;
    acceptor.close(ignored);
    drain();
  });
}

// Waits (up to ~5 s) for handlers in progress to finish, then stops the io threads; idle
// keep-alive connections are simply dropped.
void Server::Impl::drain() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  struct Poller {
    Impl* self;
    std::chrono::steady_clock::time_point deadline;
    void operator()(beast::error_code = {}) const {
      if (self->in_flight.load() == 0 || std::chrono::steady_clock::now() > deadline) {
        self->io.stop();
        return;
      }
      self->drain_timer.expires_after(std::chrono::milliseconds(20));
      self->drain_timer.async_wait(*this);
    }
  };
  Poller{this, deadline}();
}

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() = default;

void Server::listen() {
  auto& o = impl_->options;
  if (o.tls) {
    auto context = load_tls(*o.tls);
    std::lock_guard lock(impl_->tls_mutex);
    impl_->tls = std::move(context);
  }
  beast::error_code ec;
  auto address = asio::ip::make_address(o.address, ec);
  if (ec) throw std::system_error(ec, "listen address " + o.address);
  tcp::endpoint endpoint{address, o.port};
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::system_error(ec, "cannot listen on " + o.address + ":" + std::to_string(o.port));
}

bool Server::reload_tls() {
  if (!impl_->options.tls) return true;
  try {
    auto context = load_tls(*impl_->options.tls);
    {
      std::lock_guard lock(impl_->tls_mutex);
      impl_->tls = std::move(context);
    }
    spdlog::info("TLS certificate and key reloaded");
    return true;
  } catch (const std::exception& e) {
    spdlog::error("TLS reload failed, the previous certificate stays: {}", e.what());
    return false;
  }
}

std::size_t Server::connections() const {
  return impl_->connections.load();
}

std::uint16_t Server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

void Server::run(bool handle_signals) {
  auto& impl = *impl_;
  asio::co_spawn(impl.accept_strand, impl.accept_loop(), asio::detached);
  asio::signal_set signals(impl.io);
  if (handle_signals) {
    signals.add(SIGINT);
    signals.add(SIGTERM);
    signals.async_wait([&impl](beast::error_code ec, int sig) {
      if (ec) return;
      spdlog::info("signal {} received: shutting down", sig);
      impl.begin_stop();
    });
  }
  // SIGHUP: the certificate was renewed. Re-armed after each signal.
  asio::signal_set hangup(impl.io);
  std::function<void(beast::error_code, int)> on_hangup = [&](beast::error_code ec, int) {
    if (ec) return;
    if (impl.options.tls)
      reload_tls();
    else
      spdlog::info("SIGHUP: no TLS files to reload");
    hangup.async_wait(on_hangup);
  };
  if (handle_signals) {
    hangup.add(SIGHUP);
    hangup.async_wait(on_hangup);
  }
  std::vector<std::thread> threads;
  for (int i = 1; i < impl.options.threads; ++i) threads.emplace_back([&impl] { impl.io.run(); });
  impl.io.run();
  for (auto& t : threads) t.join();
}

void Server::stop() {
  impl_->begin_stop();
}

void WakeGroup::open() {
  ++gathered.depth;
}

void WakeGroup::close() {
  if (gathered.depth == 0 || --gathered.depth > 0) return;
  auto by_server = std::exchange(gathered.by_server, {});
  for (auto& [io, resumes] : by_server) {
    asio::post(*io, [resumes = std::move(resumes)] {
      for (const auto& resume : resumes) resume();
    });
  }
}

}  // namespace relay::node::http
