#pragma once
// One struct per federation message body (the request a peer sends in an envelope): its type
// name, a strict parse and its JSON. Pure values, no I/O. The JSON a struct writes is the wire
// body, byte for byte what the node sent before these structs existed (canonical JSON sorts
// keys, so field order here does not matter; integer and string types do).
//
// parse() is strict about shape: exactly the listed fields, each of the listed JSON type;
// anything else is nullopt, which the inbox refuses as 400 with the struct's bad_body_code
// and bad_body_message before any handler runs. Domain rules (clean text, id formats,
// ranges) stay with the handler that owns the data.
//
// Threads: plain values and pure functions, any thread.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/settlement.hpp"

namespace relay::protocol {

// {} -> {pong: true}. A connectivity check between operators.
struct Ping {
  static constexpr std::string_view type = "ping";
  static constexpr std::string_view bad_body_code = "bad_body";
  static constexpr std::string_view bad_body_message = "expected an object";
  static std::optional<Ping> parse(const nlohmann::json& body);
  nlohmann::json to_json() const;
};

// {identity: the sender's new self-signed identity document} -> {}.
struct KeyRotated {
  static constexpr std::string_view type = "key.rotated";
  static constexpr std::string_view bad_body_code = "bad_body";
  static constexpr std::string_view bad_body_message = "expected identity";
  std::string identity;
  static std::optional<KeyRotated> parse(const nlohmann::json& body);
  nlohmann::json to_json() const;
};

// {ref, region, profile, seq} -> {applied}.
struct ProfileUpsert {
  static constexpr std::string_view type = "profile.upsert";
  static constexpr std::string_view bad_body_code = "bad_body";
  static constexpr std::string_view bad_body_message = "expected ref, region, profile, seq";
  std::string ref;
  std::string region;
  nlohmann::json profile;  // an object; its fields are checked by the receiver
  std::int64_t seq = 0;
  static std::optional<ProfileUpsert> parse(const nlohmann::json& body);
  nlohmann::json to_json() const;
};

// {ref, seq} -> {applied}.
struct ProfileWithdraw {
  static constexpr std::string_view type = "profile.withdraw";
  static constexpr std::string_view bad_body_code = "bad_body";
  static constexpr std::string_view bad_body_message = "expected ref, seq";
  std::string ref;
  std::int64_t seq = 0;
  static std::optional<ProfileWithdraw> parse(const nlohmann::json& body);
  nlohmann::json to_json() const;
};

// {seq, part, parts, profiles: [{ref, region, profile}]} -> {applied, complete}.
struct ProfilesSync {
  static constexpr std::string_view type = "profiles.sync";
  static constexpr std::string_view bad_body_code = "bad_body";
  static constexpr std::string_view bad_body_message = "expected seq, part, parts, profiles";
  std::int64_t seq = 0;
  std::int64_t part = 0;
  std::int64_t parts = 1;
  nlohmann::json profiles = nlohmann::json::array();  // an array; items checked by the receiver
  static std::optional<ProfilesSync> parse(const nlohmann::json& body);
  nlohmann::json to_json() const;
};

// {handoff, ref, company, region} -> {status: "awaiting_consent" | "unavailable"}.
struct HandoffRequest {
  static constexpr std::string_view type = "handoff.request";
  static constexpr std::string_view bad_body_code = "bad_body";
  static constexpr std::string_view bad_body_message = "expected handoff, ref, company, region";
  std::string handoff;
  std::string ref;
  std::string company;
  std::string region;
  static std::optional<HandoffRequest> parse(const nlohmann::json& body);
  nlohmann::json to_json() const;
};

// Sealed (protocol::seal_body) {handoff, personal: {name, email, phone}, profile,
// consent_version} -> the receipt {handoff, received_ms, evidence_digest}. The envelope body
// is the seal; parse() checks that it is an object, the handler opens it.
struct HandoffDeliver {
  static constexpr std::string_view type = "handoff.deliver";
  static constexpr std::string_view bad_body_code = "bad_seal";
  static constexpr std::string_view bad_body_message = "the sealed body does not open or verify";
  nlohmann::json sealed;
  static std::optional<HandoffDeliver> parse(const nlohmann::json& body);
  nlohmann::json to_json() const { return sealed; }
};

// {handoff, reason: "declined" | "withdrawn"} -> {handoff, state}.
// settlement.statement: the proposer's signed statement (protocol/settlement.hpp); proposer and
// counterparty are the envelope's from and to. Reply: {statement, disputed: [{handoff, owed_by,
// reason}], countersignature} (the counterparty's signature over the agreement).
struct SettlementStatementMessage {
  static constexpr std::string_view type = "settlement.statement";
  static constexpr std::string_view bad_body_code = "bad_statement";
  static constexpr std::string_view bad_body_message =
      "expected statement, period, until_ms, items (ascending handoffs) and signature";
  std::string statement;
  std::string period;
  std::int64_t until_ms = 0;
  std::vector<settlement::Item> items;
  std::string signature;  // base64 Ed25519 over settlement::statement_bytes
  static std::optional<SettlementStatementMessage> parse(const nlohmann::json& body);
  nlohmann::json to_json() const;
};

struct HandoffDeclined {
  static constexpr std::string_view type = "handoff.declined";
  static constexpr std::string_view bad_body_code = "bad_body";
  static constexpr std::string_view bad_body_message =
      "expected handoff and reason (declined or withdrawn)";
  std::string handoff;
  std::string reason;
  static std::optional<HandoffDeclined> parse(const nlohmann::json& body);
  nlohmann::json to_json() const;
};

// {from: m, to: n} -> {from, to, proof, root_from, root_to}. Asked with a direct call.
struct LedgerConsistency {
  static constexpr std::string_view type = "ledger.consistency";
  static constexpr std::string_view bad_body_code = "bad_request";
  static constexpr std::string_view bad_body_message =
      "body must be {\"from\": m, \"to\": n} with integers";
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  static std::optional<LedgerConsistency> parse(const nlohmann::json& body);
  nlohmann::json to_json() const;
};

// {checkpoint, cosignature} -> {size, stored: true}.
struct CheckpointCosignature {
  static constexpr std::string_view type = "checkpoint.cosignature";
  static constexpr std::string_view bad_body_code = "malformed_cosignature";
  static constexpr std::string_view bad_body_message =
      "body must be {\"checkpoint\", \"cosignature\"}";
  std::string checkpoint;
  std::string cosignature;
  static std::optional<CheckpointCosignature> parse(const nlohmann::json& body);
  nlohmann::json to_json() const;
};

// {handoff} -> {handoff, status, erased_ms}.
struct ErasureRequest {
  static constexpr std::string_view type = "erasure.request";
  static constexpr std::string_view bad_body_code = "bad_body";
  static constexpr std::string_view bad_body_message =
      "handoff: required; reason: \"withdrawn\" or absent";
  // The candidate withdrew consent: a recipient that reported the hire keeps what the employer
  // needs and answers "kept_hired". Absent for an erasure (always shredded).
  static constexpr std::string_view withdrawn = "withdrawn";
  std::string handoff;
  std::string reason;  // "" (erasure) or "withdrawn"
  static std::optional<ErasureRequest> parse(const nlohmann::json& body);
  nlohmann::json to_json() const;
};

// {handoff} -> {handoff}.
struct ErasureOverdue {
  static constexpr std::string_view type = "erasure.overdue";
  static constexpr std::string_view bad_body_code = "bad_body";
  static constexpr std::string_view bad_body_message = "handoff: required";
  std::string handoff;
  static std::optional<ErasureOverdue> parse(const nlohmann::json& body);
  nlohmann::json to_json() const;
};

// {handoff, outcome, reason?, at_ms} -> {handoff, outcome, recorded}. The requesting node tells
// the holding node what became of a cross-node introduction, so that the members whose
// referrals brought the candidate in are credited there. No personal data: the handoff id (the
// requesting node's, known to both), an outcome code, a coarse reason code, a time.
// outcome is one of kOutcomes below; reason is present only with "left" (and then required);
// at_ms is when the member reported it (>= 0).
struct IntroductionOutcome {
  static constexpr std::string_view type = "introduction.outcome";
  static constexpr std::string_view bad_body_code = "bad_body";
  static constexpr std::string_view bad_body_message =
      "expected handoff, outcome (interview, offer, hired, not_hired, retained_3m, retained_6m, "
      "retained_12m or left), reason (only with left) and at_ms";
  static constexpr std::string_view kOutcomes[] = {"interview",    "offer",       "hired",
                                                   "not_hired",    "retained_3m", "retained_6m",
                                                   "retained_12m", "left"};
  std::string handoff;
  std::string outcome;
  std::string reason;  // "" unless outcome is left
  std::int64_t at_ms = 0;
  static std::optional<IntroductionOutcome> parse(const nlohmann::json& body);
  nlohmann::json to_json() const;
};

// {period: "YYYY-MM" (JST), generated_ms, part, parts, cells: [{job_category, prefecture,
// age_band, experience_band, registrations, introductions, hires, retained_6m}]} -> {stored}.
// A node's aggregate statistics for one month (node/statistics/README.md): only cells that
// passed suppression, counts only. A table of more than kMaxCells cells goes in `parts`
// messages (0 <= part < parts <= kMaxParts) with the same generated_ms; every code is 1..64
// characters without control characters.
struct StatisticsTable {
  static constexpr std::string_view type = "statistics.table";
  static constexpr std::string_view bad_body_code = "bad_body";
  static constexpr std::string_view bad_body_message =
      "expected period (YYYY-MM), generated_ms, part, parts and cells [{job_category, "
      "prefecture, age_band, experience_band, registrations, introductions, hires, retained_6m}]";
  static constexpr std::size_t kMaxCells = 100;
  static constexpr std::int64_t kMaxParts = 1000;
  struct Cell {
    std::string job_category;
    std::string prefecture;
    std::string age_band;
    std::string experience_band;
    std::uint64_t registrations = 0;
    std::uint64_t introductions = 0;
    std::uint64_t hires = 0;
    std::uint64_t retained_6m = 0;
    bool operator==(const Cell&) const = default;
  };
  std::string period;
  std::int64_t generated_ms = 0;
  std::int64_t part = 0;
  std::int64_t parts = 1;
  std::vector<Cell> cells;
  static std::optional<StatisticsTable> parse(const nlohmann::json& body);
  nlohmann::json to_json() const;
  static nlohmann::json cell_json(const Cell& c);
};

// The reply type of a request type ("ping" -> "ping.reply").
inline std::string reply_type(std::string_view request_type) {
  return std::string(request_type) + ".reply";
}

}  // namespace relay::protocol
