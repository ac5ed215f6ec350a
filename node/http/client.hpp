#pragma once
// A small blocking HTTP/1.1 client (plain http for now; TLS comes with hardening) for the
// federation outbox, witnessing and tests. Each call opens its own connection; failures to
// connect or time-outs are return values, never exceptions.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace relay::node::http {

struct Url {
  std::string scheme;  // "http"
  std::string host;
  std::uint16_t port = 80;
  std::string target;  // path and query, at least "/"
};
// Parses "http://host[:port][/path]"; nullopt for anything else.
std::optional<Url> parse_url(std::string_view text);

struct ClientResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

struct ClientResult {
  std::optional<ClientResponse> response;  // set when an HTTP response arrived
  std::string error;                       // why not, otherwise
  explicit operator bool() const { return response.has_value(); }
};

ClientResult http_request(std::string_view method, std::string_view url, std::string_view body = {},
                          const std::map<std::string, std::string>& headers = {},
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// Sends raw bytes to host:port and returns whatever came back until the peer closed or the
// timeout passed (for tests of malformed requests).
std::string send_raw(const std::string& host, std::uint16_t port, std::string_view bytes,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

}  // namespace relay::node::http
