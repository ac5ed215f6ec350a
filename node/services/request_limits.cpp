#include "node/services/request_limits.hpp"

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"

namespace relay::node::services {

RequestLimits::RequestLimits(const common::Clock& clock, const Rules& rules)
    : per_ip(clock, rules.per_ip, rules.tracked_keys),
      per_member(clock, rules.per_member, rules.tracked_keys),
      per_link(clock, rules.per_link, rules.tracked_keys),
      per_address(clock, rules.per_address, rules.tracked_keys) {
  crypto::random_fill(address_salt_.data(), address_salt_.size());
}

std::string RequestLimits::address_key(std::string_view normalised_email) const {
  auto mac = crypto::hmac_sha256(address_salt_, crypto::as_bytes(normalised_email));
  return crypto::to_hex_public(mac);
}

}  // namespace relay::node::services
