#pragma once
// Multilateral netting among three or more nodes (issue 15, item 3; node/settlement/README.md).
// Pure formats, shared by the node and relay-audit.
//
// Bilateral statements (settlement.hpp) leave each pair with a net: the counterparty owes the
// proposer `net` introductions (or the other way round). A netting takes agreed statements
// among its participants, none netted before, as edges {statement, debtor, creditor, amount},
// and replaces them by each participant's position and the fewest transfers that settle the
// positions, so cycles cancel (A owes B, B owes C, C owes A: nobody owes anything). Every
// participant signs the document:
//   {"type":"relay-netting/v1","netting","proposer","participants":[sorted],
//    "statements":[{"statement","debtor","creditor","amount"}] (by statement id),
//    "positions":{node: owed to it minus owed by it},"transfers":[{"debtor","creditor","amount"}]}
// and each records netting_agreed with every participant's signature once all are in.
//
// Messages (one struct each, as in federation_messages.hpp):
//   netting.positions  {participants}            -> {statements: [agreed statements of the
//                      replier with the other participants, not netted, as stored]}
//   netting.proposal   {document fields, signature} -> {netting, signature}
//   netting.complete   {netting, signatures: {node: signature}} -> {netting, recorded}
//
// Thread safety: pure functions and plain values.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/event.hpp"

namespace relay::protocol::netting {

inline constexpr std::string_view kDocumentType = "relay-netting/v1";
inline constexpr std::string_view kNettingAgreed = "netting_agreed";  // the ledger event's kind
inline constexpr std::size_t kMaxParticipants = 64;
inline constexpr std::size_t kMaxStatements = 10000;

struct Edge {
  std::string statement;
  std::string debtor;
  std::string creditor;
  std::int64_t amount = 0;  // >= 1
  bool operator==(const Edge&) const = default;
};

struct Transfer {
  std::string debtor;
  std::string creditor;
  std::int64_t amount = 0;
  bool operator==(const Transfer&) const = default;
};

struct Netting {
  std::string id;  // "n_" + hex
  std::string proposer;
  std::vector<std::string> participants;  // sorted, distinct, the proposer among them
  std::vector<Edge> statements;           // sorted by statement id, distinct
};

// Every participant's position: amounts owed to it minus amounts it owes (0 if none).
std::map<std::string, std::int64_t> positions(const Netting& netting);
// Greedy and deterministic: the largest debtor pays the largest creditor first (ties by name).
std::vector<Transfer> transfers(const Netting& netting);
// The canonical bytes every participant signs (positions and transfers included).
std::string document_bytes(const Netting& netting);

// {netting, proposer, participants, statements} (positions and transfers are derived).
nlohmann::json to_json(const Netting& netting);
// Strict: 3..kMaxParticipants sorted distinct valid names with the proposer among them; edges
// sorted by statement id, distinct, between two different participants, amount >= 1.
std::optional<Netting> parse(const nlohmann::json& j);

// The ledger event: the netting's fields, positions, transfers and {node: signature}.
Event netting_agreed(const Netting& netting, const std::map<std::string, std::string>& signatures);

// Messages.
struct PositionsRequest {
  static constexpr std::string_view type = "netting.positions";
  static constexpr std::string_view bad_body_code = "bad_netting";
  static constexpr std::string_view bad_body_message = "expected participants (sorted names)";
  std::vector<std::string> participants;
  static std::optional<PositionsRequest> parse(const nlohmann::json& body);
  nlohmann::json to_json() const;
};

struct Proposal {
  static constexpr std::string_view type = "netting.proposal";
  static constexpr std::string_view bad_body_code = "bad_netting";
  static constexpr std::string_view bad_body_message =
      "expected netting, proposer, participants, statements and signature";
  Netting netting;
  std::string signature;  // the proposer's, over document_bytes
  static std::optional<Proposal> parse(const nlohmann::json& body);
  nlohmann::json to_json() const;
};

struct Complete {
  static constexpr std::string_view type = "netting.complete";
  static constexpr std::string_view bad_body_code = "bad_netting";
  static constexpr std::string_view bad_body_message = "expected netting and signatures";
  std::string netting;
  std::map<std::string, std::string> signatures;  // every participant's
  static std::optional<Complete> parse(const nlohmann::json& body);
  nlohmann::json to_json() const;
};

}  // namespace relay::protocol::netting
