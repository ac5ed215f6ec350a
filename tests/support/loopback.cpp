#include "support/loopback.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <thread>

namespace relay::test {

std::uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    throw std::system_error(err, std::generic_category(), "bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;  // close() may replace it; the caller reports connect's
    ::close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

std::string exchange_in_pieces(std::uint16_t port, const std::vector<std::string>& pieces,
                               std::chrono::milliseconds pause, std::chrono::milliseconds timeout) {
  int fd = connect_loopback(port);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "connect 127.0.0.1");
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (i > 0) std::this_thread::sleep_for(pause);
    if (::send(fd, pieces[i].data(), pieces[i].size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(pieces[i].size())) {
      const int err = errno;
      ::close(fd);
      throw std::system_error(err, std::generic_category(), "send");
    }
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  timeval tv{static_cast<time_t>(seconds.count()),
             static_cast<suseconds_t>((timeout - seconds).count() * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string received;
  char chunk[4096];
  for (;;) {
    auto n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;  // closed, reset or quiet for `timeout`
    received.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return received;
}

}  // namespace relay::test
