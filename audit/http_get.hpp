#pragma once
// A minimal blocking HTTP/1.1 GET client over POSIX sockets, so that relay-audit can read a
// live node without linking Boost or anything of node/. Plain http only (loopback, or a TLS
// terminator in front): an https:// URL is refused as a usage error by parse_http_url.
//
// One connection per request ("Connection: close"). The response body is framed by
// Content-Length, by "Transfer-Encoding: chunked" (exactly that value; anything else is
// refused), or by the server closing the connection. Bodies are limited in size; every
// socket operation shares one deadline.
//
// Failures (unresolvable host, refused connection, time-out, malformed response) are return
// values, never exceptions. Thread safety: every function may be called from any thread.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace relay::audit {

struct HttpUrl {
  std::string host;         // a name or an IPv4 literal, or an IPv6 literal without brackets
  std::uint16_t port = 80;  //
  std::string path;         // the path prefix without a trailing "/" ("" for the root)
};

// Parses "http://host[:port][/path]". nullopt for any other scheme, a userinfo part, a query
// or fragment, or a bad port.
std::optional<HttpUrl> parse_http_url(std::string_view text);

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names; the last value of a repeat
  std::string body;
};

struct HttpResult {
  std::optional<HttpResponse> response;  // set when a whole response arrived
  std::string error;                     // otherwise, why not
  explicit operator bool() const { return response.has_value(); }
};

struct HttpGetOptions {
  std::chrono::milliseconds timeout{30000};           // for the whole exchange
  std::size_t max_body_bytes = std::size_t{1} << 28;  // 256 MiB
};

// GET `target` (a path with an optional query, starting with "/") from url's host and port.
// extra_headers are sent as given (for Authorization); Host, Connection and User-Agent are
// always set here.
HttpResult http_get(const HttpUrl& url, std::string_view target,
                    const std::map<std::string, std::string>& extra_headers = {},
                    const HttpGetOptions& options = {});

// Decodes a chunked body (RFC 9112 section 7.1; extensions and trailers are ignored). nullopt
// if it is malformed or incomplete. Exposed for tests.
std::optional<std::string> decode_chunked(std::string_view body, std::size_t max_bytes);

}  // namespace relay::audit
