#include "node/http/client.hpp"

#include <openssl/ssl.h>

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

#include "node/common/tls_client.hpp"
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
  asio::io_context io;
  beast::error_code ec;
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(url->host, std::to_string(url->port), ec);
  if (ec) {
    result.error = "resolve: " + ec.message();
    return result;
  }
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), url->target, 11};
  req.set(bhttp::field::host, url->host + ":" + std::to_string(url->port));
  req.set(bhttp::field::user_agent, "relaynode");
  for (const auto& [name, value] : headers) req.set(name, value);
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.body() = std::string(body);
    if (req.find(bhttp::field::content_type) == req.end())
      req.set(bhttp::field::content_type, "application/json");
  }
  req.keep_alive(false);
  req.prepare_payload();

  // Asynchronous operations on a private io_context give a real deadline for each step.
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  beast::flat_buffer buffer;
  auto exchange = [&](auto& stream) {
    bhttp::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
      if (wec) {
        ec = wec;
        return;
      }
      bhttp::async_read(stream, buffer, parser,
                        [&](beast::error_code rec, std::size_t) { ec = rec; });
    });
  };
  if (tls) {
    beast::ssl_stream<beast::tcp_stream> stream(io, tls->context);
    // SNI for names (not addresses); the certificate must name the host either way.
    if (!is_ip_literal(url->host) &&
        !SSL_set_tlsext_host_name(stream.native_handle(), url->host.c_str())) {
      result.error = "cannot set the TLS server name";
      return result;
    }
    stream.set_verify_callback(ssl::host_name_verification(url->host));
    const auto server = url->host + ":" + std::to_string(url->port);
    tls->sessions.offer(server, stream.native_handle());
    auto& lowest = beast::get_lowest_layer(stream);
    lowest.expires_after(timeout);
    lowest.async_connect(endpoints, [&](beast::error_code cec, const tcp::endpoint&) {
      if (cec) {
        ec = cec;
        return;
      }
      send_at_once(lowest.socket());
      stream.async_handshake(ssl::stream_base::client, [&](beast::error_code hec) {
        if (hec) {
          ec = hec;
          result.error = "TLS: " + hec.message();
          return;
        }
        exchange(stream);
      });
    });
    io.run();
    if (ec) {
      tls->sessions.forget(server);
    } else {
      result.tls_resumed = SSL_session_reused(stream.native_handle()) == 1;
      tls->sessions.keep(server, stream.native_handle());
    }
    beast::error_code ignored;
    lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
  } else {
    beast::tcp_stream stream(io);
    stream.expires_after(timeout);
    stream.async_connect(endpoints, [&](beast::error_code cec, const tcp::endpoint&) {
      if (cec) {
        ec = cec;
        return;
      }
      send_at_once(stream.socket());
      exchange(stream);
    });
    io.run();
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
  if (ec) {
    if (result.error.empty()) result.error = ec.message();
    return result;
  }
  ClientResponse response;
  auto& res = parser.get();
  response.status = static_cast<int>(res.result_int());
  response.body = std::move(res.body());
  for (const auto& field : res)
    response.headers[field_name(field.name_string())] = std::string(field.value());
  result.response = std::move(response);
  return result;
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
