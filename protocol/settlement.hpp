#pragma once
// Settlement statements between two nodes (DESIGN.md "Credits and settlement", issue 15). Pure
// formats, shared by the node (node/settlement) and relay-audit.
//
// An obligation is one delivered cross-node introduction: the node whose member spent the
// credit (it asked for the handoff) owes the node that held the candidate one introduction.
// Its id is the handoff id, which both nodes know; each records it as obligation_recorded.
//
// A statement lists the open obligations between a proposer and a counterparty, by handoff
// in ascending order with no repeats:
//   {"type":"relay-settlement-statement/v1","statement","proposer","counterparty","period",
//    "until_ms","items":[{"handoff","owed_by":"proposer"|"counterparty"}]}
// and is signed by the proposer (Ed25519 over these canonical JSON bytes). The counterparty
// checks each item against its own ledger and countersigns the agreement:
//   {"type":"relay-settlement-agreement/v1","statement","statement_digest","agreed":[items],
//    "disputed":[{"handoff","owed_by","reason"}],"net"}
// statement_digest: hex SHA-256 of the statement bytes; agreed and disputed partition the
// statement's items (each in the statement's order); net: agreed items owed TO the proposer
// minus those owed BY it. Both ledgers record the statement's fields, the disputes and both
// signatures (settlement_agreed), so either side, or an auditor holding both logs, rebuilds
// both documents and checks both signatures.
//
// Thread safety: pure functions.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/keys.hpp"

namespace relay::protocol::settlement {

inline constexpr std::string_view kStatementType = "relay-settlement-statement/v1";
inline constexpr std::string_view kAgreementType = "relay-settlement-agreement/v1";
inline constexpr std::size_t kMaxItems = 10000;  // per statement (the rest waits for the next)

struct Item {
  std::string handoff;
  bool owed_by_proposer = false;  // "owed_by": "proposer" (true) or "counterparty"

  nlohmann::json to_json() const;
  bool operator==(const Item&) const = default;
};

// Why the counterparty does not agree with an item.
namespace dispute_reason {
inline constexpr std::string_view unknown_obligation = "unknown_obligation";  // not in its ledger
inline constexpr std::string_view wrong_direction = "wrong_direction";        // owed the other way
inline constexpr std::string_view already_settled = "already_settled";  // in an earlier statement
// in a statement of the counterparty's own that awaits its answer (crossing statements)
inline constexpr std::string_view in_open_statement = "in_open_statement";
}  // namespace dispute_reason
bool is_dispute_reason(std::string_view reason);

struct Dispute {
  Item item;
  std::string reason;  // a dispute_reason

  nlohmann::json to_json() const;  // {"handoff","owed_by","reason"}
};

struct Statement {
  std::string id;  // "s_" + hex, chosen by the proposer
  std::string proposer;
  std::string counterparty;
  std::string period;  // "YYYY-MM", "YYYY-MM-DD" or the period an on-demand statement fell in
  std::int64_t until_ms = 0;  // obligations recorded before this time
  std::vector<Item> items;
};

// The canonical bytes the proposer signs.
std::string statement_bytes(const Statement& statement);
// The canonical bytes the counterparty signs; disputed must name items of the statement.
std::string agreement_bytes(const Statement& statement, const std::vector<Dispute>& disputed);
// Agreed items owed to the proposer minus those owed by it.
std::int64_t net_for_proposer(const Statement& statement, const std::vector<Dispute>& disputed);
// The statement's items minus the disputed ones, in order.
std::vector<Item> agreed_items(const Statement& statement, const std::vector<Dispute>& disputed);

// [{"handoff","owed_by"}] in ascending handoff order, no repeats, at most kMaxItems, each
// handoff 1..64 characters of [A-Za-z0-9_-]; nullopt otherwise.
std::optional<std::vector<Item>> parse_items(const nlohmann::json& items);
// [{"handoff","owed_by","reason"}] naming distinct items of `statement` with a known reason.
std::optional<std::vector<Dispute>> parse_disputes(const nlohmann::json& disputes,
                                                   const Statement& statement);
nlohmann::json to_json(const std::vector<Item>& items);
nlohmann::json to_json(const std::vector<Dispute>& disputes);

// A statement, period or handoff id: 1..64 characters of [A-Za-z0-9_-] (periods: digits, '-').
bool valid_id(std::string_view id);

// Ed25519 over the bytes above; verify is false for any malformed signature.
bool verify(const crypto::Ed25519PublicKey& key, const std::string& bytes,
            const std::string& signature_base64);

}  // namespace relay::protocol::settlement
