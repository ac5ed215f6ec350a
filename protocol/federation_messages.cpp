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

}  // namespace relay::protocol
