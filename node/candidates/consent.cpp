#include "node/candidates/consent.hpp"

namespace relay::node::candidates {

nlohmann::json Consent::to_json() const {
  return {{"region", region},
          {"peers", peers},
          {"stats", stats},
          {"version", version},
          {"at_ms", at_ms}};
}

Consent Consent::from_json(const nlohmann::json& j) {
  Consent c;
  c.region = j.at("region");
  c.peers = j.at("peers");
  c.stats = j.at("stats");
  c.version = j.at("version");
  c.at_ms = j.at("at_ms");
  return c;
}

}  // namespace relay::node::candidates
