#include "node/federation/alerts.hpp"

#include <spdlog/spdlog.h>

#include "crypto/random.hpp"
#include "node/common/key_encoding.hpp"

namespace relay::node::federation {

Alerts::Alerts(storage::Environment& env, const common::Clock& clock)
    : clock_(clock), alerts_(env.database("alerts")) {}

void Alerts::raise(storage::WriteTxn& txn, const std::string& kind, const std::string& peer,
                   const std::string& message) {
  auto now = clock_.now_ms();
  spdlog::error("ALERT {} (peer {}): {}", kind, peer, message);
  txn.put(
      alerts_, common::be64(static_cast<std::uint64_t>(now)) + crypto::random_token(6),
      nlohmann::json{{"kind", kind}, {"peer", peer}, {"message", message}, {"at_ms", now}}.dump());
}

std::vector<nlohmann::json> Alerts::list(const storage::Txn& txn) const {
  std::vector<nlohmann::json> out;
  txn.for_each_prefix(alerts_, "", [&](std::string_view, std::string_view v) {
    out.push_back(nlohmann::json::parse(v));
  });
  return out;
}

}  // namespace relay::node::federation
