#pragma once
// The node's rate limits (config "limits"), one RateLimit per kind of key: the client address
// (every request), the member (API requests with its key), the relay link (registrations
// through it) and the email address (registrations for it, keyed by a hash so that no
// address is held in memory). The route table applies the first two, Intake the other two.
//
// Threads: any (each RateLimit has its own mutex).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "node/common/clock.hpp"
#include "node/services/rate_limit.hpp"

namespace relay::node::services {

struct RequestLimits {
  struct Rules {
    RateLimit::Rule per_ip;
    RateLimit::Rule per_member;
    RateLimit::Rule per_link;
    RateLimit::Rule per_address;
    std::size_t tracked_keys = 100000;
  };

  RequestLimits(const common::Clock& clock, const Rules& rules);

  // The key per_address uses for an email address (services::Intake passes the canonical
  // one, address_identity.hpp: one mailbox, one count): a MAC under a key drawn when the node
  // starts, so memory holds no address and no guessable hash of one.
  std::string address_key(std::string_view normalised_email) const;

  RateLimit per_ip;
  RateLimit per_member;
  RateLimit per_link;
  RateLimit per_address;

 private:
  std::array<std::uint8_t, 32> address_salt_{};
};

}  // namespace relay::node::services
