#pragma once
// A small blocking HTTP/1.1 client for the federation outbox, witnessing and tests. A call uses
// a connection an earlier one to the same server left open, if one is kept
// (kept_connections.hpp), or opens one, over https:// resuming the TLS session of the last one
// to the same host and port (tls_sessions.hpp). A request with "Connection: close" opens its
// own and leaves none. Failures to connect, time-outs and refused certificates are return
// values, never exceptions. https:// URLs are verified: the peer's certificate must
// chain to the system CA store or to the file given to set_trusted_ca_file
// (federation.ca_file), and name the URL's host (DNS name or IP address).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace relay::node::http {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;
  std::uint16_t port = 80;  // 443 for https unless given
  std::string target;       // path and query, at least "/"
};
// Parses "http(s)://host[:port][/path]"; nullopt for anything else.
std::optional<Url> parse_url(std::string_view text);
// "localhost", "::1" / "[::1]" or 127.x.x.x: the URL does not leave this machine.
bool is_loopback_host(const std::string& host);

struct ClientResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

struct ClientResult {
  std::optional<ClientResponse> response;  // set when an HTTP response arrived
  std::string error;                       // why not, otherwise
  // https: the request's new connection resumed a session (http/tls_sessions.hpp).
  bool tls_resumed = false;
  // The request went over a connection kept from an earlier one (http/kept_connections.hpp).
  bool connection_reused = false;
  explicit operator bool() const { return response.has_value(); }
};

// `timeout` bounds the whole call: connecting, the handshake, the exchange, and a second
// attempt if a kept connection turned out closed.
ClientResult http_request(std::string_view method, std::string_view url, std::string_view body = {},
                          const std::map<std::string, std::string>& headers = {},
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// What http_request has done since the process started (for /metrics): requests answered over
// a new connection and over a kept one, and requests sent a second time because the server
// closed a kept connection as they went out.
struct ClientCounts {
  std::uint64_t answered_new = 0;
  std::uint64_t answered_kept = 0;
  std::uint64_t second_attempts = 0;
};
ClientCounts client_counts();

// CA certificates (PEM) trusted for https:// besides the system store; nullopt for the system
// store alone. Thread-safe; requests already under way keep the trust they started with.
void set_trusted_ca_file(std::optional<std::filesystem::path> file);

// Sends raw bytes to host:port and returns whatever came back until the peer closed or the
// timeout passed (for tests of malformed requests).
std::string send_raw(const std::string& host, std::uint16_t port, std::string_view bytes,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

}  // namespace relay::node::http
