#include "audit/http_get.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace relay::audit {

namespace {

using Clock = std::chrono::steady_clock;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<std::uint64_t> parse_uint(std::string_view digits, int base) {
  if (digits.empty() || digits.size() > 16) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : digits) {
    int d = -1;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    if (d < 0 || d >= base) return std::nullopt;
    value = value * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(d);
  }
  return value;
}

// Owns a socket descriptor.
class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<std::chrono::milliseconds::rep>(0, left.count()));
}

// Waits for `events` on fd until the deadline; false on time-out or error.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

// Connects to the first address that accepts, before the deadline; -1 and `error` if none.
int connect_to(const HttpUrl& url, Clock::time_point deadline, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const auto port = std::to_string(url.port);
  if (int rc = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    error = "cannot resolve " + url.host + ": " + ::gai_strerror(rc);
    return -1;
  }
  error = "cannot connect to " + url.host + ":" + port;
  int result = -1;
  for (addrinfo* a = found; a != nullptr && result < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS && wait_for(fd, POLLOUT, deadline)) {
      int so_error = 0;
      socklen_t len = sizeof so_error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      rc = so_error == 0 ? 0 : -1;
      if (so_error != 0) error += std::string(": ") + std::strerror(so_error);
    } else if (rc != 0) {
      error += std::string(": ") + std::strerror(errno);
    }
    if (rc == 0)
      result = fd;
    else
      ::close(fd);
  }
  ::freeaddrinfo(found);
  return result;
}

bool send_all(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(fd, POLLOUT, deadline)) return false;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return false;
    }
  }
  return true;
}

// Where a chunked body ends in `body` (just past the final CRLF), or nullopt if it is not
// complete yet; sets malformed if it can never be valid. Skips chunk data by its length, so
// a scan costs one step per chunk.
std::optional<std::size_t> chunked_end(std::string_view body, bool& malformed,
                                       std::string* out = nullptr, std::size_t max_bytes = 0) {
  std::size_t pos = 0;
  for (;;) {
    auto eol = body.find("\r\n", pos);
    if (eol == std::string_view::npos) return std::nullopt;
    auto line = body.substr(pos, eol - pos);
    line = trim(line.substr(0, line.find(';')));  // chunk extensions are ignored
    auto size = parse_uint(line, 16);
    if (!size || (out != nullptr && out->size() + *size > max_bytes)) {
      malformed = true;
      return std::nullopt;
    }
    pos = eol + 2;
    if (*size == 0) break;
    if (body.size() < pos + *size + 2) return std::nullopt;
    if (body.substr(pos + *size, 2) != "\r\n") {
      malformed = true;
      return std::nullopt;
    }
    if (out != nullptr) out->append(body.substr(pos, *size));
    pos += *size + 2;
  }
  // Trailer fields, then an empty line.
  for (;;) {
    auto eol = body.find("\r\n", pos);
    if (eol == std::string_view::npos) return std::nullopt;
    bool empty = eol == pos;
    pos = eol + 2;
    if (empty) return pos;
  }
}

struct Head {
  int status = 0;
  std::map<std::string, std::string> headers;
};

std::optional<Head> parse_head(std::string_view head) {
  auto eol = head.find("\r\n");
  auto status_line = head.substr(0, eol);
  if (status_line.substr(0, 9) != "HTTP/1.1 " && status_line.substr(0, 9) != "HTTP/1.0 ")
    return std::nullopt;
  auto code = parse_uint(status_line.substr(9, 3), 10);
  if (!code || *code < 100 || *code > 599) return std::nullopt;
  Head result;
  result.status = static_cast<int>(*code);
  std::size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    auto end = head.find("\r\n", pos);
    if (end == std::string_view::npos) end = head.size();
    auto line = head.substr(pos, end - pos);
    pos = end + 2;
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    result.headers[lower(line.substr(0, colon))] = std::string(trim(line.substr(colon + 1)));
  }
  return result;
}

HttpResult failure(std::string error) {
  HttpResult result;
  result.error = std::move(error);
  return result;
}

}  // namespace

std::optional<HttpUrl> parse_http_url(std::string_view text) {
  constexpr std::string_view scheme = "http://";
  if (text.substr(0, scheme.size()) != scheme) return std::nullopt;
  text.remove_prefix(scheme.size());
  auto slash = text.find('/');
  auto authority = text.substr(0, slash);
  auto path = slash == std::string_view::npos ? std::string_view{} : text.substr(slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  if (path.find_first_of("?#") != std::string_view::npos) return std::nullopt;
  HttpUrl url;
  std::string_view port;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    url.host = std::string(authority.substr(1, close - 1));
    auto rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
    if (!rest.empty())
      port = rest.substr(1);
    else
      port = "80";
  } else {
    auto colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    port = colon == std::string_view::npos ? "80" : authority.substr(colon + 1);
  }
  auto number = parse_uint(port, 10);
  if (url.host.empty() || !number || *number == 0 || *number > 65535) return std::nullopt;
  url.port = static_cast<std::uint16_t>(*number);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  url.path = std::string(path);
  return url;
}

std::optional<std::string> decode_chunked(std::string_view body, std::size_t max_bytes) {
  bool malformed = false;
  std::string out;
  auto end = chunked_end(body, malformed, &out, max_bytes);
  if (!end || malformed) return std::nullopt;
  return out;
}

HttpResult http_get(const HttpUrl& url, std::string_view target,
                    const std::map<std::string, std::string>& extra_headers,
                    const HttpGetOptions& options) {
  const auto deadline = Clock::now() + options.timeout;
  std::string error;
  Socket socket(connect_to(url, deadline, error));
  if (socket.fd() < 0) return failure(error);

  const bool ipv6 = url.host.find(':') != std::string::npos;
  std::string request = "GET " + url.path + std::string(target) +
                        " HTTP/1.1\r\nHost: " + (ipv6 ? "[" + url.host + "]" : url.host) + ":" +
                        std::to_string(url.port) +
                        "\r\nUser-Agent: relay-audit\r\nConnection: close\r\n";
  for (const auto& [name, value] : extra_headers) request += name + ": " + value + "\r\n";
  request += "\r\n";
  if (!send_all(socket.fd(), request, deadline)) return failure("cannot send the request");

  std::string buffer;
  std::optional<Head> head;
  std::size_t body_start = 0;
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  char chunk[65536];
  for (;;) {
    if (head) {
      std::string_view body = std::string_view(buffer).substr(body_start);
      if (content_length && body.size() >= *content_length) break;
      if (chunked) {
        bool malformed = false;
        if (chunked_end(body, malformed)) break;
        if (malformed) return failure("malformed chunked response body");
      }
      if (body.size() > options.max_body_bytes) return failure("response body too large");
    } else if (auto end = buffer.find("\r\n\r\n"); end != std::string::npos) {
      head = parse_head(std::string_view(buffer).substr(0, end));
      if (!head) return failure("malformed HTTP response head");
      body_start = end + 4;
      auto te = head->headers.find("transfer-encoding");
      auto cl = head->headers.find("content-length");
      if (te != head->headers.end()) {
        if (lower(te->second) != "chunked") return failure("unsupported Transfer-Encoding");
        if (cl != head->headers.end()) return failure("both Transfer-Encoding and Content-Length");
        chunked = true;
      } else if (cl != head->headers.end()) {
        content_length = parse_uint(cl->second, 10);
        if (!content_length) return failure("malformed Content-Length");
        if (*content_length > options.max_body_bytes) return failure("response body too large");
      }
      continue;  // the body may be complete already
    } else if (buffer.size() > 1 << 20) {
      return failure("response head too large");
    }
    if (!wait_for(socket.fd(), POLLIN, deadline)) return failure("timed out reading the response");
    auto n = ::recv(socket.fd(), chunk, sizeof chunk, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n < 0) return failure(std::string("read failed: ") + std::strerror(errno));
    if (n == 0) {
      if (!head) return failure("connection closed before a response");
      if (content_length || chunked) return failure("connection closed mid-body");
      break;  // the body ends with the connection
    }
    buffer.append(chunk, static_cast<std::size_t>(n));
  }

  HttpResponse response;
  response.status = head->status;
  response.headers = std::move(head->headers);
  std::string_view body = std::string_view(buffer).substr(body_start);
  if (chunked) {
    auto decoded = decode_chunked(body, options.max_body_bytes);
    if (!decoded) return failure("malformed chunked response body");
    response.body = std::move(*decoded);
  } else if (content_length) {
    response.body = std::string(body.substr(0, *content_length));
  } else {
    response.body = std::string(body);
  }
  HttpResult result;
  result.response = std::move(response);
  return result;
}

}  // namespace relay::audit
