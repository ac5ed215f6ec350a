#include "node/federation/alerts.hpp"

#include <spdlog/spdlog.h>

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"
#include "node/common/key_encoding.hpp"
#include "node/storage/index_marks.hpp"
#include "node/storage/index_page.hpp"

namespace relay::node::federation {

namespace {
// An alert as read: what was stored, and its id (the hex of its key, which `after` takes back).
nlohmann::json listed(std::string_view key, std::string_view value) {
  auto alert = nlohmann::json::parse(value);
  alert["id"] = crypto::to_hex_public(crypto::as_bytes(key));
  return alert;
}
}  // namespace

Alerts::Alerts(storage::Environment& env, const common::Clock& clock)
    : clock_(clock),
      alerts_(env.database("alerts")),
      by_kind_(env.database("alerts_by_kind")),
      index_marks_(env.database(storage::kIndexMarks)) {}

void Alerts::raise(storage::WriteTxn& txn, const std::string& kind, const std::string& peer,
                   const std::string& message) {
  auto now = clock_.now_ms();
  spdlog::error("ALERT {} (peer {}): {}", kind, peer, message);
  auto key = common::be64(static_cast<std::uint64_t>(now)) + crypto::random_token(6);
  txn.put(
      alerts_, key,
      nlohmann::json{{"kind", kind}, {"peer", peer}, {"message", message}, {"at_ms", now}}.dump());
  txn.put(by_kind_, kind + "/" + key, "");
}

std::optional<AlertPage> Alerts::read(const storage::Txn& txn, const AlertQuery& query) const {
  // One kind is walked in alerts_by_kind ("<kind>/" + the alert's key), every kind in alerts.
  const std::string prefix = query.kind.empty() ? "" : query.kind + "/";
  const auto db = query.kind.empty() ? alerts_ : by_kind_;
  std::string last_key;  // of the alert shown last
  if (!query.after.empty()) {
    auto key = crypto::from_hex(query.after);
    if (!key || key->empty()) return std::nullopt;
    last_key = prefix + std::string(key->begin(), key->end());
    if (!txn.contains(db, last_key)) return std::nullopt;
  }
  AlertPage page;
  page.more = storage::index_page(txn, db, prefix, last_key, query.limit, query.newest_first,
                                  [&](std::string_view entry, std::string_view value) {
                                    auto key = entry.substr(prefix.size());
                                    if (prefix.empty())
                                      page.alerts.push_back(listed(key, value));
                                    else if (auto alert = txn.get(alerts_, key))
                                      page.alerts.push_back(listed(key, *alert));
                                  });
  return page;
}

std::size_t Alerts::index_existing(storage::WriteTxn& txn) {
  std::size_t n = 0;
  storage::build_index_once(txn, index_marks_, "alerts_by_kind", [&] {
    // Read first, then written: a scan's callback must not write.
    std::vector<std::string> keys;
    txn.for_each_prefix(alerts_, "", [&](std::string_view key, std::string_view value) {
      keys.push_back(nlohmann::json::parse(value).value("kind", "") + "/" + std::string(key));
    });
    for (const auto& key : keys) txn.put(by_kind_, key, "");
    n = keys.size();
  });
  return n;
}

}  // namespace relay::node::federation
