#include "node/http/client.hpp"

#include <openssl/ssl.h>
#include <poll.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <memory>
#include <mutex>
#include <optional>

#include "node/common/tls_client.hpp"
#include "node/http/kept_connections.hpp"
#include "node/http/message.hpp"
#include "node/http/tls_sessions.hpp"

namespace relay::node::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// The client's TLS for https://: its context and the sessions kept under it, built on first use
// and after set_trusted_ca_file. Each request holds the one it started with, so a session
// verified under the old trust is never kept under the new.
struct ClientTls {
  ssl::context context{ssl::context::tls_client};
  TlsSessions sessions;
};
std::mutex trust_mutex;
std::optional<std::filesystem::path> trusted_ca_file;
std::shared_ptr<ClientTls> client_tls;

std::shared_ptr<ClientTls> current_client_tls(std::string& error) {
  std::lock_guard lock(trust_mutex);
  if (client_tls) return client_tls;
  auto tls = std::make_shared<ClientTls>();
  beast::error_code ec;
  common::verify_peers(tls->context, trusted_ca_file, ec);
  if (ec) {
    error = "cannot load the trusted CA certificates: " + ec.message();
    return nullptr;
  }
  client_tls = tls;
  return tls;
}

// A request's header and body, and a TLS handshake's messages, are writes of their own: with
// Nagle's algorithm each after the first waits for the ACK of the one before, which the server
// may delay by up to 40 ms (node/http/server.cpp sets the same on its side).
void send_at_once(tcp::socket& socket) {
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
}

bool is_ip_literal(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

void set_trusted_ca_file(std::optional<std::filesystem::path> file) {
  std::lock_guard lock(trust_mutex);
  trusted_ca_file = std::move(file);
  client_tls.reset();
}

std::optional<Url> parse_url(std::string_view text) {
  Url url;
  if (text.starts_with("http://")) {
    url.scheme = "http";
    text.remove_prefix(7);
  } else if (text.starts_with("https://")) {
    url.scheme = "https";
    url.port = 443;
    text.remove_prefix(8);
  } else {
    return std::nullopt;
  }
  auto slash = text.find('/');
  auto authority = text.substr(0, slash);
  url.target = slash == std::string_view::npos ? "/" : std::string(text.substr(slash));
  auto colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    auto port_text = authority.substr(colon + 1);
    if (port_text.empty() || port_text.size() > 5) return std::nullopt;
    unsigned port = 0;
    for (char c : port_text) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
      port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) return std::nullopt;
    url.port = static_cast<std::uint16_t>(port);
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) return std::nullopt;
  url.host = std::string(authority);
  return url;
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "[::1]") return true;
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

namespace {

// An open connection to one server, kept between requests (kept_connections.hpp): its own
// io_context (a socket belongs to one), its stream, and for https:// the trust it was verified
// under.
struct Connection {
  asio::io_context io{1};
  std::shared_ptr<ClientTls> tls;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  // Every exchange on it ended whole. OpenSSL takes a TLS connection freed without a shutdown
  // for one cut short and marks its session not resumable (the one tls_sessions.hpp keeps:
  // sessions are shared, not copied), so such a connection counts as shut down when it goes.
  bool whole = false;

  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  // The server closed it while it was idle (or sent something unasked): not to be used.
  bool closed_meanwhile() {
    if (secure && SSL_pending(secure->native_handle()) > 0) return true;
    pollfd p{lowest().socket().native_handle(), POLLIN, 0};
    return ::poll(&p, 1, 0) != 0;
  }

  ~Connection() {
    if (!plain && !secure) return;  // never connected
    if (secure && whole)
      SSL_set_shutdown(secure->native_handle(),
                       SSL_get_shutdown(secure->native_handle()) | SSL_SENT_SHUTDOWN);
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
};

// Up to 8 idle connections a server and 64 in all (four descriptors each, with their
// io_context's), idle 20 s at most: under the 30 s after which the node's server closes them.
// Never destroyed: at exit OpenSSL may have been cleaned up before a static's destructor would
// free their TLS state; the process's end closes the sockets.
KeptConnections<Connection>& kept_connections() {
  static auto* kept = new KeptConnections<Connection>(64, 8, std::chrono::seconds(20));
  return *kept;
}

using Deadline = std::chrono::steady_clock::time_point;

std::atomic<std::uint64_t> answered_new{0};
std::atomic<std::uint64_t> answered_kept{0};
std::atomic<std::uint64_t> second_attempts{0};

// Connects to `url` (and for https:// completes a verified handshake, resuming a kept session)
// by `deadline`; null with `error` set otherwise.
std::unique_ptr<Connection> open_connection(const Url& url, const std::string& server,
                                            std::shared_ptr<ClientTls> tls, Deadline deadline,
                                            std::string& error) {
  auto c = std::make_unique<Connection>();
  beast::error_code ec;
  tcp::resolver resolver(c->io);
  auto endpoints = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec) {
    error = "resolve: " + ec.message();
    return nullptr;
  }
  if (tls) {
    c->tls = std::move(tls);
    auto& stream = c->secure.emplace(c->io, c->tls->context);
    // SNI for names (not addresses); the certificate must name the host either way.
    if (!is_ip_literal(url.host) &&
        !SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
      error = "cannot set the TLS server name";
      return nullptr;
    }
    stream.set_verify_callback(ssl::host_name_verification(url.host));
    c->tls->sessions.offer(server, stream.native_handle());
  } else {
    c->plain.emplace(c->io);
  }
  auto& lowest = c->lowest();
  lowest.expires_at(deadline);
  lowest.async_connect(endpoints, [&](beast::error_code cec, const tcp::endpoint&) {
    if (cec) {
      ec = cec;
      return;
    }
    send_at_once(lowest.socket());
    if (!c->secure) return;
    c->secure->async_handshake(ssl::stream_base::client, [&](beast::error_code hec) {
      if (hec) {
        ec = hec;
        error = "TLS: " + hec.message();
      }
    });
  });
  c->io.run();
  if (ec) {
    if (c->tls) c->tls->sessions.forget(server);
    if (error.empty()) error = ec.message();
    return nullptr;
  }
  return c;
}

// One request and its reply on `c`, by `deadline`. Bytes after the reply (which no request
// asked for) make the connection unfit to keep: `leftover` says so.
beast::error_code exchange(Connection& c, bhttp::request<bhttp::string_body>& req,
                           bhttp::response_parser<bhttp::string_body>& parser, Deadline deadline,
                           bool& leftover) {
  c.whole = false;
  c.io.restart();
  beast::error_code ec;
  beast::flat_buffer buffer;
  auto run = [&](auto& stream) {
    bhttp::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
      if (wec) {
        ec = wec;
        return;
      }
      bhttp::async_read(stream, buffer, parser,
                        [&](beast::error_code rec, std::size_t) { ec = rec; });
    });
  };
  c.lowest().expires_at(deadline);
  if (c.secure)
    run(*c.secure);
  else
    run(*c.plain);
  c.io.run();
  c.whole = !ec;
  leftover = buffer.size() > 0;
  return ec;
}

}  // namespace

ClientCounts client_counts() {
  return {answered_new.load(), answered_kept.load(), second_attempts.load()};
}

ClientResult http_request(std::string_view method, std::string_view url_text, std::string_view body,
                          const std::map<std::string, std::string>& headers,
                          std::chrono::milliseconds timeout) {
  ClientResult result;
  auto url = parse_url(url_text);
  if (!url) {
    result.error = "bad url";
    return result;
  }
  std::shared_ptr<ClientTls> tls;
  if (url->scheme == "https") {
    tls = current_client_tls(result.error);
    if (!tls) return result;
  }
  const auto server = url->host + ":" + std::to_string(url->port);
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), url->target, 11};
  req.set(bhttp::field::host, server);
  req.set(bhttp::field::user_agent, "relaynode");
  for (const auto& [name, value] : headers) req.set(name, value);
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.body() = std::string(body);
    if (req.find(bhttp::field::content_type) == req.end())
      req.set(bhttp::field::content_type, "application/json");
  }
  req.prepare_payload();
  // "Connection: close" from the caller: a connection of its own, not kept after.
  const bool keep = req.keep_alive();
  const auto key = url->scheme + "://" + server;
  // One deadline for the whole call, a second attempt included.
  const auto deadline = std::chrono::steady_clock::now() + timeout;

  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Connection> c;
    if (keep && attempt == 0) c = kept_connections().take(key);
    // A kept connection made under other trust is not used: its handshake's check was theirs.
    if (c && (c->tls != tls || c->closed_meanwhile())) c.reset();
    const bool reused = c != nullptr;
    if (!c) c = open_connection(*url, server, tls, deadline, result.error);
    if (!c) return result;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    bool leftover = false;
    auto ec = exchange(*c, req, parser, deadline, leftover);
    if (ec) {
      // The server closed the kept connection as the request went out: nothing of a reply came,
      // so it was not answered. Once more, on a new connection, in the time left (not after a
      // time-out: none is). The node's requests may be sent twice:
      // federation messages are applied once by id (inbox.hpp), and a witness answers a
      // checkpoint it has with 409 and its size, from which witnessing starts again.
      if (reused && !parser.got_some() && ec != beast::error::timeout) {
        ++second_attempts;
        continue;
      }
      if (tls) tls->sessions.forget(server);
      result.error = ec.message();
      return result;
    }
    result.connection_reused = reused;
    ++(reused ? answered_kept : answered_new);
    if (tls && !reused) {
      result.tls_resumed = SSL_session_reused(c->secure->native_handle()) == 1;
      // After the exchange: a TLS 1.3 server sends its tickets after the handshake.
      tls->sessions.keep(server, c->secure->native_handle());
    }
    ClientResponse response;
    auto& res = parser.get();
    response.status = static_cast<int>(res.result_int());
    response.body = std::move(res.body());
    for (const auto& field : res)
      response.headers[field_name(field.name_string())] = std::string(field.value());
    result.response = std::move(response);
    if (keep && parser.keep_alive() && !leftover) kept_connections().give(key, std::move(c));
    return result;
  }
}

std::string send_raw(const std::string& host, std::uint16_t port, std::string_view bytes,
                     std::chrono::milliseconds timeout) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return {};
  std::string received;
  std::array<char, 4096> chunk{};
  std::function<void(beast::error_code, std::size_t)> on_read;
  on_read = [&](beast::error_code rec, std::size_t n) {
    received.append(chunk.data(), n);
    if (rec) return;
    stream.async_read_some(asio::buffer(chunk), on_read);
  };
  stream.expires_after(timeout);
  stream.async_connect(endpoints, [&](beast::error_code cec, const tcp::endpoint&) {
    if (cec) return;
    asio::async_write(stream, asio::buffer(bytes.data(), bytes.size()),
                      [&](beast::error_code wec, std::size_t) {
                        if (wec) return;
                        stream.async_read_some(asio::buffer(chunk), on_read);
                      });
  });
  io.run();
  return received;
}

}  // namespace relay::node::http
