#include "support/traffic_meter.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <list>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace relay::test {

namespace {

// Enough to hold any request a node accepts (http.max_body_bytes is 64 KiB by default), so the
// envelope's type, which canonical JSON puts after the body, is always seen.
constexpr std::size_t kCaptured = 256 * 1024;

int loopback_socket() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  return fd;
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// What a connection carried, from the start of its request.
std::string classify(const std::string& request) {
  if (!request.empty() && request[0] == 0x16) return "TLS (not classified)";  // a handshake record
  auto line_end = request.find("\r\n");
  auto line = request.substr(0, line_end == std::string::npos ? 0 : line_end);
  auto space = line.find(' ');
  if (space == std::string::npos) return "(no request)";
  auto method = line.substr(0, space);
  auto target = line.substr(space + 1, line.find(' ', space + 1) - space - 1);
  target = target.substr(0, target.find('?'));
  if (method == "POST" && target == "/federation/v1/batch") return "POST batch";
  if (method == "POST" && target == "/federation/v1/messages") {
    // The envelope's own "type" is the last one: its body (which may have a "type" of its own)
    // comes first in canonical JSON.
    const std::string key = "\"type\":\"";
    auto at = request.rfind(key);
    if (at != std::string::npos) {
      at += key.size();
      return "POST " + request.substr(at, request.find('"', at) - at);
    }
  }
  return method + " " + target;
}

}  // namespace

// One relayed connection: the peer's side (client) and the node's side (upstream).
struct TrafficMeter::Connection {
  int client = -1;
  int upstream = -1;
  std::string to_upstream;  // read from the client, not yet written
  std::string to_client;
  bool client_eof = false;
  bool upstream_eof = false;
  bool upstream_shut = false;  // our write side towards the node closed
  bool client_shut = false;
  bool broken = false;
  // The client's bytes cut into requests by their framing: the node's client keeps its
  // connections, so one carries several requests, one after another (never pipelined).
  bool tls = false;           // opaque: the connection is one exchange
  bool in_head = false;       // the current request's head is not whole yet
  std::size_t body_left = 0;  // of the current request's body (Content-Length)
  std::string current;        // the current request, its first kCaptured bytes
  std::uint64_t current_bytes = 0;
  std::string replied_to;  // the key of the last whole request: its reply's bytes go there
};

namespace {

// The Content-Length of a request head (lower-case or not), 0 if none.
std::size_t content_length(std::string_view head) {
  for (std::size_t at = head.find("\r\n"); at != std::string_view::npos;
       at = head.find("\r\n", at + 2)) {
    auto line = head.substr(at + 2, head.find("\r\n", at + 2) - at - 2);
    constexpr std::string_view kName = "content-length:";
    if (line.size() <= kName.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < kName.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(line[i])) == kName[i];
    if (same) return std::strtoull(std::string(line.substr(kName.size())).c_str(), nullptr, 10);
  }
  return 0;
}

}  // namespace

void TrafficMeter::count(const std::string& key, const Tally& tally) {
  std::lock_guard lock(mutex_);
  tallies_[key] += tally;
}

// A request is counted once whole (its body holds the envelope's type); its reply's bytes
// after it, as they come.
void TrafficMeter::sent(Connection& c, const char* data, std::size_t n) {
  if (c.current_bytes == 0 && c.replied_to.empty() && n > 0 && data[0] == 0x16) {
    c.tls = true;  // a handshake record
    c.replied_to = "TLS (not classified)";
    count(c.replied_to, {1, 0, 0});
  }
  if (c.tls) return count(c.replied_to, {0, n, 0});
  while (n > 0) {
    if (!c.in_head && c.body_left == 0) {
      c.in_head = true;
      c.current.clear();
      c.current_bytes = 0;
    }
    std::size_t take = n;
    if (c.in_head) {
      // Up to the head's blank line, which a read may split.
      const std::size_t had = c.current.size();
      c.current.append(data, std::min(n, kCaptured - had));
      const auto end = c.current.find("\r\n\r\n", had < 3 ? 0 : had - 3);
      if (end == std::string::npos) {
        c.current_bytes += n;
        return;
      }
      const std::size_t head_size = end + 4;
      take = head_size - had;  // of this read, the head's
      c.current.resize(head_size);
      c.in_head = false;
      c.body_left = content_length(c.current);
    } else {
      take = std::min(n, c.body_left);
      c.current.append(data, std::min(take, kCaptured - std::min(kCaptured, c.current.size())));
      c.body_left -= take;
    }
    c.current_bytes += take;
    data += take;
    n -= take;
    if (!c.in_head && c.body_left == 0) {
      c.replied_to = classify(c.current);
      count(c.replied_to, {1, c.current_bytes, 0});
      c.current_bytes = 0;
    }
  }
}

void TrafficMeter::replied(Connection& c, std::size_t n) {
  // A reply before its request was whole (an early refusal) goes with that request's start.
  count(c.replied_to.empty() ? classify(c.current) : c.replied_to, {0, 0, n});
}

TrafficMeter::TrafficMeter(std::uint16_t upstream_port) : upstream_port_(upstream_port) {
  listen_fd_ = loopback_socket();
  auto addr = loopback(0);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 256) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe2(wake_, O_CLOEXEC) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("traffic meter: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  set_nonblocking(listen_fd_);
  thread_ = std::thread([this] { run(); });
}

TrafficMeter::~TrafficMeter() {
  stopping_ = true;
  [[maybe_unused]] auto n = ::write(wake_[1], "x", 1);
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

std::map<std::string, TrafficMeter::Tally> TrafficMeter::tallies() const {
  std::lock_guard lock(mutex_);
  return tallies_;
}

void TrafficMeter::finish(Connection& c) {
  ::close(c.client);
  if (c.upstream >= 0) ::close(c.upstream);
  if (c.upstream < 0) return count("unreachable", {1, 0, 0});
  // A request cut short (the client or the node went away mid-way) is an exchange too.
  if (c.current_bytes > 0) count(classify(c.current), {1, c.current_bytes, 0});
}

void TrafficMeter::accept_all(std::list<Connection>& connections) {
  for (;;) {
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client < 0) return;
    Connection c;
    c.client = client;
    c.upstream = loopback_socket();
    auto addr = loopback(upstream_port_);
    // Loopback: the connect is answered at once, refused while the node is stopped.
    if (::connect(c.upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(c.upstream);
      c.upstream = -1;
      finish(c);  // the peer sees its connection closed, as if the node were unreachable
      continue;
    }
    set_nonblocking(c.upstream);
    connections.push_back(std::move(c));
  }
}

void TrafficMeter::run() {
  std::list<Connection> connections;  // a list: pointers to its elements stay valid
  std::array<char, 64 * 1024> buffer{};
  // Reads what one side of `c` has into what goes to the other, and counts it; false at end
  // of stream or on an error.
  auto pump_in = [&](Connection& c, bool client_side) {
    auto n = ::recv(client_side ? c.client : c.upstream, buffer.data(), buffer.size(), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    if (n <= 0) return false;
    const auto got = static_cast<std::size_t>(n);
    (client_side ? c.to_upstream : c.to_client).append(buffer.data(), got);
    if (client_side)
      sent(c, buffer.data(), got);
    else
      replied(c, got);
    return true;
  };
  // MSG_NOSIGNAL: a peer that went away is an error here, not a SIGPIPE for the test process.
  auto pump_out = [](int to, std::string& pending) {
    auto n = ::send(to, pending.data(), pending.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    if (n < 0) return false;
    pending.erase(0, static_cast<std::size_t>(n));
    return true;
  };

  std::vector<pollfd> fds;
  std::vector<Connection*> owners;  // fds[2 + 2k] is owners[k]'s client, fds[3 + 2k] upstream
  while (!stopping_) {
    fds.assign({{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}});
    owners.clear();
    for (auto& c : connections) {
      // A side with nothing left to read or write is left out (fd -1), so that its POLLHUP
      // does not spin the loop while the other side finishes.
      auto entry = [](int fd, bool eof, const std::string& out) {
        short events = static_cast<short>((eof ? 0 : POLLIN) | (out.empty() ? 0 : POLLOUT));
        return pollfd{events ? fd : -1, events, 0};
      };
      fds.push_back(entry(c.client, c.client_eof, c.to_client));
      fds.push_back(entry(c.upstream, c.upstream_eof, c.to_upstream));
      owners.push_back(&c);
    }
    if (::poll(fds.data(), fds.size(), 200) < 0) continue;
    for (std::size_t i = 2; i < fds.size(); ++i) {
      auto& c = *owners[(i - 2) / 2];
      const bool client_side = (i - 2) % 2 == 0;
      const auto revents = fds[i].revents;
      if (!revents || c.broken) continue;
      if (revents & (POLLIN | POLLHUP | POLLERR)) {
        bool& eof = client_side ? c.client_eof : c.upstream_eof;
        if (!eof)
          eof = !pump_in(c, client_side);
        else if (revents & POLLERR)
          c.broken = true;
      }
      if ((revents & POLLOUT) &&
          !(client_side ? pump_out(c.client, c.to_client) : pump_out(c.upstream, c.to_upstream)))
        c.broken = true;
    }
    for (auto it = connections.begin(); it != connections.end();) {
      auto& c = *it;
      // An end of stream is passed on once everything before it has been written.
      if (c.client_eof && c.to_upstream.empty() && !c.upstream_shut) {
        ::shutdown(c.upstream, SHUT_WR);
        c.upstream_shut = true;
      }
      if (c.upstream_eof && c.to_client.empty() && !c.client_shut) {
        ::shutdown(c.client, SHUT_WR);
        c.client_shut = true;
      }
      if (c.broken || (c.upstream_shut && c.client_shut)) {
        finish(c);
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
    if (fds[0].revents & POLLIN) accept_all(connections);
  }
  for (auto& c : connections) finish(c);
}

TrafficMeter::Tally sum(const std::map<std::string, TrafficMeter::Tally>& tallies,
                        const std::string& prefix) {
  TrafficMeter::Tally total;
  for (const auto& [what, t] : tallies)
    if (what.rfind(prefix, 0) == 0) total += t;
  return total;
}

}  // namespace relay::test
