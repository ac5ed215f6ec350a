#pragma once
// Loopback ports for tests that start servers (nodes, the SMTP test server).
#include <cstdint>

namespace relay::test {

// A loopback TCP port that was free a moment ago (bind port 0, read it, close).
std::uint16_t free_loopback_port();

}  // namespace relay::test
