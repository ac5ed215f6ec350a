#include "protocol/federation_messages.hpp"

#include <algorithm>
#include <initializer_list>
#include <iterator>

namespace relay::protocol {

namespace {

bool has_exactly(const nlohmann::json& j, std::initializer_list<const char*> fields) {
  if (!j.is_object() || j.size() != fields.size()) return false;
  for (const char* f : fields)
    if (!j.contains(f)) return false;
  return true;
}

std::optional<std::string> string_at(const nlohmann::json& j, const char* field) {
  const auto& v = j.at(field);
  if (!v.is_string()) return std::nullopt;
  return v.get<std::string>();
}

// Any JSON integer that fits an int64 (sign is the receiver's rule).
std::optional<std::int64_t> int_at(const nlohmann::json& j, const char* field) {
  const auto& v = j.at(field);
  if (!v.is_number_integer()) return std::nullopt;
  if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    return std::nullopt;
  return v.get<std::int64_t>();
}

std::optional<std::uint64_t> unsigned_at(const nlohmann::json& j, const char* field) {
  const auto& v = j.at(field);
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0)
    return static_cast<std::uint64_t>(v.get<std::int64_t>());
  return std::nullopt;
}

}  // namespace

std::optional<Ping> Ping::parse(const nlohmann::json& body) {
  if (!body.is_object()) return std::nullopt;  // its content is not used
  return Ping{};
}
nlohmann::json Ping::to_json() const {
  return nlohmann::json::object();
}

std::optional<KeyRotated> KeyRotated::parse(const nlohmann::json& body) {
  if (!has_exactly(body, {"identity"})) return std::nullopt;
  auto identity = string_at(body, "identity");
  if (!identity) return std::nullopt;
  return KeyRotated{*identity};
}
nlohmann::json KeyRotated::to_json() const {
  return {{"identity", identity}};
}

std::optional<ProfileUpsert> ProfileUpsert::parse(const nlohmann::json& body) {
  if (!has_exactly(body, {"ref", "region", "profile", "seq"})) return std::nullopt;
  auto ref = string_at(body, "ref");
  auto region = string_at(body, "region");
  auto seq = int_at(body, "seq");
  if (!ref || !region || !seq || !body.at("profile").is_object()) return std::nullopt;
  return ProfileUpsert{*ref, *region, body.at("profile"), *seq};
}
nlohmann::json ProfileUpsert::to_json() const {
  return {{"ref", ref}, {"region", region}, {"profile", profile}, {"seq", seq}};
}

std::optional<ProfileWithdraw> ProfileWithdraw::parse(const nlohmann::json& body) {
  if (!has_exactly(body, {"ref", "seq"})) return std::nullopt;
  auto ref = string_at(body, "ref");
  auto seq = int_at(body, "seq");
  if (!ref || !seq) return std::nullopt;
  return ProfileWithdraw{*ref, *seq};
}
nlohmann::json ProfileWithdraw::to_json() const {
  return {{"ref", ref}, {"seq", seq}};
}

std::optional<ProfilesSync> ProfilesSync::parse(const nlohmann::json& body) {
  if (!has_exactly(body, {"seq", "part", "parts", "profiles"})) return std::nullopt;
  auto seq = int_at(body, "seq");
  auto part = int_at(body, "part");
  auto parts = int_at(body, "parts");
  if (!seq || !part || !parts || !body.at("profiles").is_array()) return std::nullopt;
  return ProfilesSync{*seq, *part, *parts, body.at("profiles")};
}
nlohmann::json ProfilesSync::to_json() const {
  return {{"seq", seq}, {"part", part}, {"parts", parts}, {"profiles", profiles}};
}

std::optional<HandoffRequest> HandoffRequest::parse(const nlohmann::json& body) {
  if (!has_exactly(body, {"handoff", "ref", "company", "region"})) return std::nullopt;
  auto handoff = string_at(body, "handoff");
  auto ref = string_at(body, "ref");
  auto company = string_at(body, "company");
  auto region = string_at(body, "region");
  if (!handoff || !ref || !company || !region) return std::nullopt;
  return HandoffRequest{*handoff, *ref, *company, *region};
}
nlohmann::json HandoffRequest::to_json() const {
  return {{"handoff", handoff}, {"ref", ref}, {"company", company}, {"region", region}};
}

std::optional<HandoffDeliver> HandoffDeliver::parse(const nlohmann::json& body) {
  if (!body.is_object()) return std::nullopt;
  return HandoffDeliver{body};
}

std::optional<SettlementStatementMessage> SettlementStatementMessage::parse(
    const nlohmann::json& body) {
  if (!has_exactly(body, {"statement", "period", "until_ms", "items", "signature"}))
    return std::nullopt;
  auto statement = string_at(body, "statement");
  auto period = string_at(body, "period");
  auto until = int_at(body, "until_ms");
  auto items = settlement::parse_items(body["items"]);
  auto signature = string_at(body, "signature");
  if (!statement || !settlement::valid_id(*statement) || !period ||
      !settlement::valid_id(*period) || !until || *until < 0 || !items || !signature ||
      signature->size() > 100)
    return std::nullopt;
  return SettlementStatementMessage{*statement, *period, *until, std::move(*items), *signature};
}
nlohmann::json SettlementStatementMessage::to_json() const {
  return {{"statement", statement},
          {"period", period},
          {"until_ms", until_ms},
          {"items", settlement::to_json(items)},
          {"signature", signature}};
}

std::optional<HandoffDeclined> HandoffDeclined::parse(const nlohmann::json& body) {
  if (!has_exactly(body, {"handoff", "reason"})) return std::nullopt;
  auto handoff = string_at(body, "handoff");
  auto reason = string_at(body, "reason");
  if (!handoff || !reason || (*reason != "declined" && *reason != "withdrawn")) return std::nullopt;
  return HandoffDeclined{*handoff, *reason};
}
nlohmann::json HandoffDeclined::to_json() const {
  return {{"handoff", handoff}, {"reason", reason}};
}

std::optional<LedgerConsistency> LedgerConsistency::parse(const nlohmann::json& body) {
  if (!has_exactly(body, {"from", "to"})) return std::nullopt;
  auto from = unsigned_at(body, "from");
  auto to = unsigned_at(body, "to");
  if (!from || !to) return std::nullopt;
  return LedgerConsistency{*from, *to};
}
nlohmann::json LedgerConsistency::to_json() const {
  return {{"from", from}, {"to", to}};
}

std::optional<CheckpointCosignature> CheckpointCosignature::parse(const nlohmann::json& body) {
  if (!has_exactly(body, {"checkpoint", "cosignature"})) return std::nullopt;
  auto checkpoint = string_at(body, "checkpoint");
  auto cosignature = string_at(body, "cosignature");
  if (!checkpoint || !cosignature) return std::nullopt;
  return CheckpointCosignature{*checkpoint, *cosignature};
}
nlohmann::json CheckpointCosignature::to_json() const {
  return {{"checkpoint", checkpoint}, {"cosignature", cosignature}};
}

std::optional<ErasureRequest> ErasureRequest::parse(const nlohmann::json& body) {
  bool with_reason = has_exactly(body, {"handoff", "reason"});
  if (!with_reason && !has_exactly(body, {"handoff"})) return std::nullopt;
  auto handoff = string_at(body, "handoff");
  if (!handoff || handoff->empty()) return std::nullopt;
  if (!with_reason) return ErasureRequest{*handoff, {}};
  // Only withdrawal is named: an erasure has no reason field, so its bytes stay as before.
  auto reason = string_at(body, "reason");
  if (!reason || *reason != withdrawn) return std::nullopt;
  return ErasureRequest{*handoff, *reason};
}
nlohmann::json ErasureRequest::to_json() const {
  nlohmann::json j = {{"handoff", handoff}};
  if (!reason.empty()) j["reason"] = reason;
  return j;
}

std::optional<ErasureOverdue> ErasureOverdue::parse(const nlohmann::json& body) {
  if (!has_exactly(body, {"handoff"})) return std::nullopt;
  auto handoff = string_at(body, "handoff");
  if (!handoff || handoff->empty()) return std::nullopt;
  return ErasureOverdue{*handoff};
}
nlohmann::json ErasureOverdue::to_json() const {
  return {{"handoff", handoff}};
}

std::optional<IntroductionOutcome> IntroductionOutcome::parse(const nlohmann::json& body) {
  const bool with_reason = body.is_object() && body.contains("reason");
  if (with_reason ? !has_exactly(body, {"handoff", "outcome", "reason", "at_ms"})
                  : !has_exactly(body, {"handoff", "outcome", "at_ms"}))
    return std::nullopt;
  auto handoff = string_at(body, "handoff");
  auto outcome = string_at(body, "outcome");
  auto at_ms = int_at(body, "at_ms");
  if (!handoff || handoff->empty() || !outcome || !at_ms || *at_ms < 0) return std::nullopt;
  if (std::find(std::begin(kOutcomes), std::end(kOutcomes), *outcome) == std::end(kOutcomes))
    return std::nullopt;
  std::string reason;
  if (with_reason) {
    auto r = string_at(body, "reason");
    if (!r || r->empty()) return std::nullopt;
    reason = *r;
  }
  // A reason belongs to "left" alone, and "left" always has one.
  if ((*outcome == "left") != with_reason) return std::nullopt;
  return IntroductionOutcome{*handoff, *outcome, reason, *at_ms};
}
nlohmann::json IntroductionOutcome::to_json() const {
  nlohmann::json j{{"handoff", handoff}, {"outcome", outcome}, {"at_ms", at_ms}};
  if (!reason.empty()) j["reason"] = reason;
  return j;
}

namespace {
bool is_period(const std::string& p) {
  if (p.size() != 7 || p[4] != '-') return false;
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u})
    if (p[i] < '0' || p[i] > '9') return false;
  int month = (p[5] - '0') * 10 + (p[6] - '0');
  return month >= 1 && month <= 12;
}
bool is_code(const std::optional<std::string>& s) {
  if (!s || s->empty() || s->size() > 64) return false;
  for (unsigned char c : *s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}
}  // namespace

std::optional<StatisticsTable> StatisticsTable::parse(const nlohmann::json& body) {
  if (!has_exactly(body, {"period", "generated_ms", "part", "parts", "cells"})) return std::nullopt;
  auto period = string_at(body, "period");
  auto generated = int_at(body, "generated_ms");
  auto part = int_at(body, "part");
  auto parts = int_at(body, "parts");
  const auto& cells = body.at("cells");
  if (!period || !is_period(*period) || !generated || *generated < 0 || !part || !parts ||
      *parts < 1 || *parts > kMaxParts || *part < 0 || *part >= *parts || !cells.is_array() ||
      cells.size() > kMaxCells)
    return std::nullopt;
  StatisticsTable t{*period, *generated, *part, *parts, {}};
  t.cells.reserve(cells.size());
  for (const auto& c : cells) {
    if (!has_exactly(c, {"job_category", "prefecture", "age_band", "experience_band",
                         "registrations", "introductions", "hires", "retained_6m"}))
      return std::nullopt;
    Cell cell;
    auto jc = string_at(c, "job_category");
    auto pref = string_at(c, "prefecture");
    auto age = string_at(c, "age_band");
    auto exp = string_at(c, "experience_band");
    if (!is_code(jc) || !is_code(pref) || !is_code(age) || !is_code(exp)) return std::nullopt;
    cell.job_category = *jc;
    cell.prefecture = *pref;
    cell.age_band = *age;
    cell.experience_band = *exp;
    for (auto [name, out] :
         {std::pair{"registrations", &cell.registrations},
          std::pair{"introductions", &cell.introductions}, std::pair{"hires", &cell.hires},
          std::pair{"retained_6m", &cell.retained_6m}}) {
      auto v = unsigned_at(c, name);
      if (!v) return std::nullopt;
      *out = *v;
    }
    t.cells.push_back(std::move(cell));
  }
  return t;
}
nlohmann::json StatisticsTable::cell_json(const Cell& c) {
  return {{"job_category", c.job_category},
          {"prefecture", c.prefecture},
          {"age_band", c.age_band},
          {"experience_band", c.experience_band},
          {"registrations", c.registrations},
          {"introductions", c.introductions},
          {"hires", c.hires},
          {"retained_6m", c.retained_6m}};
}
nlohmann::json StatisticsTable::to_json() const {
  auto cells_json = nlohmann::json::array();
  for (const auto& c : cells) cells_json.push_back(cell_json(c));
  return {{"period", period},
          {"generated_ms", generated_ms},
          {"part", part},
          {"parts", parts},
          {"cells", std::move(cells_json)}};
}

}  // namespace relay::protocol
