#include "support/traffic_meter.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <list>
#include <stdexcept>
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
  std::string request;  // the first kCaptured bytes the client sent
  Tally tally;
};

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
  std::lock_guard lock(mutex_);
  c.tally.exchanges = 1;
  tallies_[c.upstream < 0 ? "unreachable" : classify(c.request)] += c.tally;
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
  // Reads what `from` has into `pending` (towards the other side); false at end of stream or
  // on an error.
  auto pump_in = [&](int from, std::string& pending, std::uint64_t& counted, std::string* capture) {
    auto n = ::recv(from, buffer.data(), buffer.size(), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    if (n <= 0) return false;
    const auto got = static_cast<std::size_t>(n);
    pending.append(buffer.data(), got);
    counted += got;
    if (capture && capture->size() < kCaptured)
      capture->append(buffer.data(), std::min(got, kCaptured - capture->size()));
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
          eof = !(client_side ? pump_in(c.client, c.to_upstream, c.tally.request_bytes, &c.request)
                              : pump_in(c.upstream, c.to_client, c.tally.reply_bytes, nullptr));
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
