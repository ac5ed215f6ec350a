#include "node/settlement/obligations.hpp"

#include "protocol/event.hpp"

namespace relay::node::settlement {

namespace {
// Peer names never contain '/' (PeerRegistry refuses them), so the peer is a clean prefix.
std::string key_of(const std::string& peer, const std::string& handoff) {
  return peer + "/" + handoff;
}
}  // namespace

nlohmann::json Obligation::to_json() const {
  return {{"peer", peer},
          {"handoff", handoff},
          {"owed_by", owed_by_self ? "self" : "peer"},
          {"recorded_ms", recorded_ms},
          {"evidence", evidence},
          {"statement", statement}};
}

std::optional<Obligation> Obligation::from_json(const nlohmann::json& j) {
  try {
    return Obligation{j.at("peer"),        j.at("handoff"),  j.at("owed_by") == "self",
                      j.at("recorded_ms"), j.at("evidence"), j.at("statement")};
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

Obligations::Obligations(storage::Environment& env, ledger::Ledger& ledger)
    : ledger_(ledger),
      obligations_(env.database("obligations")),
      open_(env.database("obligations_open")) {}

bool Obligations::record(storage::WriteTxn& txn, const std::string& peer,
                         const std::string& handoff, bool owed_by_self,
                         const std::string& evidence) {
  auto key = key_of(peer, handoff);
  if (txn.contains(obligations_, key)) return false;
  Obligation o{peer, handoff, owed_by_self, ledger_.clock().now_ms(), evidence, ""};
  txn.put(obligations_, key, o.to_json().dump());
  txn.put(open_, key, "");
  ledger_.append(txn, protocol::obligation_recorded(handoff, peer, owed_by_self, evidence));
  return true;
}

std::optional<Obligation> Obligations::find(const storage::Txn& txn, const std::string& peer,
                                            const std::string& handoff) const {
  auto value = txn.get(obligations_, key_of(peer, handoff));
  if (!value) return std::nullopt;
  return Obligation::from_json(nlohmann::json::parse(*value));
}

std::vector<Obligation> Obligations::open_with(const storage::Txn& txn, const std::string& peer,
                                               std::int64_t until_ms, std::size_t max) const {
  std::vector<Obligation> out;
  txn.for_each_prefix(open_, peer + "/", [&](std::string_view key, std::string_view) {
    auto value = txn.get(obligations_, key);
    auto o = value ? Obligation::from_json(nlohmann::json::parse(*value)) : std::nullopt;
    if (o && o->recorded_ms < until_ms) out.push_back(std::move(*o));
    return out.size() < max;
  });
  return out;
}

OpenPosition Obligations::open_position(const storage::Txn& txn, const std::string& peer) const {
  OpenPosition p;
  for (const auto& o : open_with(txn, peer, INT64_MAX, SIZE_MAX))
    ++(o.owed_by_self ? p.owed_by_us : p.owed_to_us);
  return p;
}

void Obligations::settle(storage::WriteTxn& txn, Obligation obligation,
                         const std::string& statement) {
  auto key = key_of(obligation.peer, obligation.handoff);
  obligation.statement = statement;
  txn.put(obligations_, key, obligation.to_json().dump());
  txn.del(open_, key);
}

}  // namespace relay::node::settlement
