#pragma once
// Loopback ports for tests that start servers (nodes, the SMTP test server), and raw TCP
// connections to them.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace relay::test {

// A loopback TCP port that was free a moment ago (bind port 0, read it, close).
std::uint16_t free_loopback_port();

// A TCP connection to 127.0.0.1:port (the caller closes it), or -1 with connect's errno.
int connect_loopback(std::uint16_t port);

// Sends `pieces` on one connection to 127.0.0.1:port, `pause` apart (so that each arrives as
// its own segments), then returns all that came back until the server closed or `timeout`
// passed without a byte.
std::string exchange_in_pieces(std::uint16_t port, const std::vector<std::string>& pieces,
                               std::chrono::milliseconds pause,
                               std::chrono::milliseconds timeout = std::chrono::seconds(3));

}  // namespace relay::test
