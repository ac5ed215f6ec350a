#include "protocol/settlement.hpp"

#include <algorithm>
#include <set>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "crypto/sign.hpp"
#include "protocol/canonical_json.hpp"

namespace relay::protocol::settlement {

namespace {

constexpr std::string_view kProposer = "proposer";
constexpr std::string_view kCounterparty = "counterparty";

std::optional<Item> parse_item(const nlohmann::json& j, std::size_t fields) {
  if (!j.is_object() || j.size() != fields || !j.contains("handoff") || !j.contains("owed_by"))
    return std::nullopt;
  const auto& handoff = j["handoff"];
  const auto& owed_by = j["owed_by"];
  if (!handoff.is_string() || !owed_by.is_string()) return std::nullopt;
  auto id = handoff.get<std::string>();
  auto by = owed_by.get<std::string>();
  if (!valid_id(id) || (by != kProposer && by != kCounterparty)) return std::nullopt;
  return Item{id, by == kProposer};
}

bool is_disputed(const std::vector<Dispute>& disputed, const Item& item) {
  return std::any_of(disputed.begin(), disputed.end(),
                     [&](const Dispute& d) { return d.item == item; });
}

}  // namespace

nlohmann::json Item::to_json() const {
  return {{"handoff", handoff}, {"owed_by", owed_by_proposer ? kProposer : kCounterparty}};
}

nlohmann::json Dispute::to_json() const {
  auto j = item.to_json();
  j["reason"] = reason;
  return j;
}

bool is_dispute_reason(std::string_view reason) {
  return reason == dispute_reason::unknown_obligation ||
         reason == dispute_reason::wrong_direction || reason == dispute_reason::already_settled ||
         reason == dispute_reason::in_open_statement;
}

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

nlohmann::json to_json(const std::vector<Item>& items) {
  auto out = nlohmann::json::array();
  for (const auto& i : items) out.push_back(i.to_json());
  return out;
}

nlohmann::json to_json(const std::vector<Dispute>& disputes) {
  auto out = nlohmann::json::array();
  for (const auto& d : disputes) out.push_back(d.to_json());
  return out;
}

std::string statement_bytes(const Statement& s) {
  return canonical_dump({{"type", kStatementType},
                         {"statement", s.id},
                         {"proposer", s.proposer},
                         {"counterparty", s.counterparty},
                         {"period", s.period},
                         {"until_ms", s.until_ms},
                         {"items", to_json(s.items)}});
}

std::vector<Item> agreed_items(const Statement& statement, const std::vector<Dispute>& disputed) {
  std::vector<Item> agreed;
  for (const auto& i : statement.items)
    if (!is_disputed(disputed, i)) agreed.push_back(i);
  return agreed;
}

std::int64_t net_for_proposer(const Statement& statement, const std::vector<Dispute>& disputed) {
  std::int64_t net = 0;
  for (const auto& i : agreed_items(statement, disputed)) net += i.owed_by_proposer ? -1 : 1;
  return net;
}

std::string agreement_bytes(const Statement& statement, const std::vector<Dispute>& disputed) {
  auto digest = crypto::to_hex(crypto::sha256(crypto::as_bytes(statement_bytes(statement))));
  // Disputes in the statement's order, whatever order they were named in.
  std::vector<Dispute> ordered;
  for (const auto& i : statement.items)
    for (const auto& d : disputed)
      if (d.item == i) ordered.push_back(d);
  return canonical_dump({{"type", kAgreementType},
                         {"statement", statement.id},
                         {"statement_digest", digest},
                         {"agreed", to_json(agreed_items(statement, disputed))},
                         {"disputed", to_json(ordered)},
                         {"net", net_for_proposer(statement, disputed)}});
}

std::optional<std::vector<Item>> parse_items(const nlohmann::json& items) {
  if (!items.is_array() || items.size() > kMaxItems) return std::nullopt;
  std::vector<Item> out;
  out.reserve(items.size());
  for (const auto& j : items) {
    auto item = parse_item(j, 2);
    if (!item || (!out.empty() && !(out.back().handoff < item->handoff))) return std::nullopt;
    out.push_back(std::move(*item));
  }
  return out;
}

std::optional<std::vector<Dispute>> parse_disputes(const nlohmann::json& disputes,
                                                   const Statement& statement) {
  if (!disputes.is_array() || disputes.size() > statement.items.size()) return std::nullopt;
  std::vector<Dispute> out;
  std::set<std::string> seen;
  for (const auto& j : disputes) {
    auto item = parse_item(j, 3);
    if (!item || !j.contains("reason") || !j["reason"].is_string()) return std::nullopt;
    auto reason = j["reason"].get<std::string>();
    bool listed =
        std::find(statement.items.begin(), statement.items.end(), *item) != statement.items.end();
    if (!is_dispute_reason(reason) || !listed || !seen.insert(item->handoff).second)
      return std::nullopt;
    out.push_back({std::move(*item), std::move(reason)});
  }
  return out;
}

bool verify(const crypto::Ed25519PublicKey& key, const std::string& bytes,
            const std::string& signature_base64) {
  auto raw = crypto::from_base64(signature_base64);
  if (!raw) return false;
  auto sig = crypto::ed25519_signature_from(*raw);
  return sig && crypto::verify(key, crypto::as_bytes(bytes), *sig);
}

}  // namespace relay::protocol::settlement
