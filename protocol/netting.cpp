#include "protocol/netting.hpp"

#include <algorithm>

#include "protocol/canonical_json.hpp"
#include "protocol/settlement.hpp"

namespace relay::protocol::netting {

namespace {

// A node name as peers are named (node/federation/peer.cpp): 1..64 of [a-z0-9.-].
bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  });
}

std::optional<std::vector<std::string>> parse_participants(const nlohmann::json& j) {
  if (!j.is_array() || j.size() < 3 || j.size() > kMaxParticipants) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& p : j) {
    if (!p.is_string()) return std::nullopt;
    auto name = p.get<std::string>();
    if (!valid_name(name) || (!out.empty() && !(out.back() < name))) return std::nullopt;
    out.push_back(std::move(name));
  }
  return out;
}

bool has_exactly(const nlohmann::json& j, std::initializer_list<const char*> fields) {
  if (!j.is_object() || j.size() != fields.size()) return false;
  for (const char* f : fields)
    if (!j.contains(f)) return false;
  return true;
}

nlohmann::json edges_json(const std::vector<Edge>& edges) {
  auto out = nlohmann::json::array();
  for (const auto& e : edges)
    out.push_back({{"statement", e.statement},
                   {"debtor", e.debtor},
                   {"creditor", e.creditor},
                   {"amount", e.amount}});
  return out;
}

}  // namespace

std::map<std::string, std::int64_t> positions(const Netting& netting) {
  std::map<std::string, std::int64_t> out;
  for (const auto& p : netting.participants) out[p] = 0;
  for (const auto& e : netting.statements) {
    out[e.creditor] += e.amount;
    out[e.debtor] -= e.amount;
  }
  return out;
}

std::vector<Transfer> transfers(const Netting& netting) {
  std::vector<std::pair<std::string, std::int64_t>> creditors, debtors;
  for (const auto& [node, net] : positions(netting)) {
    if (net > 0) creditors.emplace_back(node, net);
    if (net < 0) debtors.emplace_back(node, -net);
  }
  auto larger_first = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  std::sort(creditors.begin(), creditors.end(), larger_first);
  std::sort(debtors.begin(), debtors.end(), larger_first);
  std::vector<Transfer> out;
  std::size_t c = 0, d = 0;
  while (c < creditors.size() && d < debtors.size()) {
    auto amount = std::min(creditors[c].second, debtors[d].second);
    out.push_back({debtors[d].first, creditors[c].first, amount});
    if ((creditors[c].second -= amount) == 0) ++c;
    if ((debtors[d].second -= amount) == 0) ++d;
  }
  return out;
}

nlohmann::json to_json(const Netting& netting) {
  return {{"netting", netting.id},
          {"proposer", netting.proposer},
          {"participants", netting.participants},
          {"statements", edges_json(netting.statements)}};
}

std::string document_bytes(const Netting& netting) {
  auto doc = to_json(netting);
  doc["type"] = kDocumentType;
  doc["positions"] = positions(netting);
  auto t = nlohmann::json::array();
  for (const auto& x : transfers(netting))
    t.push_back({{"debtor", x.debtor}, {"creditor", x.creditor}, {"amount", x.amount}});
  doc["transfers"] = t;
  return canonical_dump(doc);
}

std::optional<Netting> parse(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("netting") || !j.contains("proposer") ||
      !j.contains("participants") || !j.contains("statements"))
    return std::nullopt;
  const auto& id = j["netting"];
  const auto& proposer = j["proposer"];
  const auto& edges = j["statements"];
  auto participants = parse_participants(j["participants"]);
  if (!id.is_string() || !settlement::valid_id(id.get<std::string>()) || !proposer.is_string() ||
      !participants || !edges.is_array() || edges.size() > kMaxStatements)
    return std::nullopt;
  Netting n{id.get<std::string>(), proposer.get<std::string>(), std::move(*participants), {}};
  auto is_participant = [&](const std::string& name) {
    return std::binary_search(n.participants.begin(), n.participants.end(), name);
  };
  if (!is_participant(n.proposer)) return std::nullopt;
  for (const auto& e : edges) {
    if (!has_exactly(e, {"statement", "debtor", "creditor", "amount"}) ||
        !e["statement"].is_string() || !e["debtor"].is_string() || !e["creditor"].is_string() ||
        !e["amount"].is_number_integer())
      return std::nullopt;
    Edge edge{e["statement"], e["debtor"], e["creditor"], e["amount"].get<std::int64_t>()};
    if (!settlement::valid_id(edge.statement) || edge.amount < 1 ||
        edge.amount > static_cast<std::int64_t>(settlement::kMaxItems) ||
        edge.debtor == edge.creditor || !is_participant(edge.debtor) ||
        !is_participant(edge.creditor) ||
        (!n.statements.empty() && !(n.statements.back().statement < edge.statement)))
      return std::nullopt;
    n.statements.push_back(std::move(edge));
  }
  return n;
}

Event netting_agreed(const Netting& netting, const std::map<std::string, std::string>& signatures) {
  auto data = nlohmann::json::parse(document_bytes(netting));
  data.erase("type");
  data["signatures"] = signatures;
  return {std::string(kNettingAgreed), std::move(data)};
}

std::optional<PositionsRequest> PositionsRequest::parse(const nlohmann::json& body) {
  if (!has_exactly(body, {"participants"})) return std::nullopt;
  auto participants = parse_participants(body["participants"]);
  if (!participants) return std::nullopt;
  return PositionsRequest{std::move(*participants)};
}
nlohmann::json PositionsRequest::to_json() const {
  return {{"participants", participants}};
}

std::optional<Proposal> Proposal::parse(const nlohmann::json& body) {
  if (!has_exactly(body, {"netting", "proposer", "participants", "statements", "signature"}) ||
      !body["signature"].is_string() || body["signature"].get<std::string>().size() > 100)
    return std::nullopt;
  auto without = body;
  without.erase("signature");
  auto n = netting::parse(without);
  if (!n) return std::nullopt;
  return Proposal{std::move(*n), body["signature"].get<std::string>()};
}
nlohmann::json Proposal::to_json() const {
  auto j = netting::to_json(netting);
  j["signature"] = signature;
  return j;
}

std::optional<Complete> Complete::parse(const nlohmann::json& body) {
  if (!has_exactly(body, {"netting", "signatures"}) || !body["netting"].is_string() ||
      !settlement::valid_id(body["netting"].get<std::string>()) ||
      !body["signatures"].is_object() || body["signatures"].size() > kMaxParticipants)
    return std::nullopt;
  Complete c{body["netting"].get<std::string>(), {}};
  for (const auto& [node, sig] : body["signatures"].items()) {
    if (!valid_name(node) || !sig.is_string() || sig.get<std::string>().size() > 100)
      return std::nullopt;
    c.signatures[node] = sig.get<std::string>();
  }
  return c;
}
nlohmann::json Complete::to_json() const {
  return {{"netting", netting}, {"signatures", signatures}};
}

}  // namespace relay::protocol::netting
