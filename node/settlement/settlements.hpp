#pragma once
// Settlements (issue 15, item 2): bilateral statements of the obligations between this node
// and each peer (obligations.hpp), countersigned and recorded on both ledgers.
//
//   propose(peer)   the operator (POST /api/v1/settlements): a statement of every open
//                   obligation with the peer recorded until now
//   sweep()         every minute: on the schedule (settlement.period, JST) the last complete
//                   period's statement to each active peer this node proposes to (of a pair,
//                   the node whose name sorts first, so a pair exchanges one statement per
//                   period); a statement unsigned for settlement.countersign_within_s is
//                   reported (alert settlement_unsigned) and no longer holds back the next one
//   list(), invoice_rows(period)   what the operator sees and invoices
//
// The proposer queues settlement.statement (protocol/settlement.hpp) in the txn that records
// it. The counterparty checks every item against its own obligations, countersigns the
// agreement, records settlement_agreed and settles the agreed obligations, all in the txn of
// its inbox record, and replies with its countersignature; the proposer checks that and
// records the same. Disputed items stay open and roll into the next statement; so do the items
// of a statement that is never countersigned. A peer that never answers holds back only its
// own next statement (one pending statement per peer); every other peer settles as before.
// Items of a statement still open in one direction are not agreed in the other (dispute
// in_open_statement), so crossing statements never settle an item twice.
//
// Databases: settlements (statement id -> record), settlements_open ("<peer>/<statement id>"
// for our statements not yet agreed or given up), settlement_schedule (peer -> last period
// proposed on the schedule).
// Threads: propose() and sweep() submit Writer requests (never from one); list() and
// invoice_rows() read; the message handlers run in the Writer.
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/node_config.hpp"
#include "node/common/result.hpp"
#include "node/federation/federation.hpp"
#include "node/settlement/obligations.hpp"
#include "node/storage/writer.hpp"
#include "protocol/settlement.hpp"

namespace relay::node::settlement {

struct SettlementSettings {
  bool enabled = true;
  config::SettlementPeriod period = config::SettlementPeriod::monthly;
  std::chrono::seconds countersign_within{259200};
  std::uint64_t yen_per_introduction = 0;
};

enum class SettlementError {
  disabled,           // 409 settlement_disabled
  unknown_peer,       // 404
  peer_inactive,      // 409 peer_suspended
  statement_pending,  // 409: one statement to this peer awaits its countersignature
};

// States of a statement this node proposed (a countersigned one is "agreed" on both sides).
//   pending -> agreed | unsigned (reported; a late countersignature still agrees it)
//           -> undelivered (the message was given up: its items roll over)
// A countersignature that does not verify ends it "bad_countersignature" (alert).
struct StatementRecord {
  protocol::settlement::Statement statement;
  std::string peer;
  bool proposer = true;
  std::string state;
  std::vector<protocol::settlement::Dispute> disputed;
  std::string statement_signature;
  std::string countersignature;
  std::int64_t created_ms = 0;
  std::int64_t ended_ms = 0;
  std::string netting;  // the netting (netting.hpp) it is reserved for or netted in; "" if none

  std::int64_t net() const;  // this node's position over the agreed items
  nlohmann::json to_json() const;
  static std::optional<StatementRecord> from_json(const nlohmann::json& j);
};

// True if signature (base64) is the peer's over bytes, under its current or a retired key.
bool signed_by(const federation::Peer& peer, const std::string& bytes,
               const std::string& signature);

class Settlements {
 public:
  Settlements(federation::Federation& federation, Obligations& obligations, storage::Writer& writer,
              SettlementSettings settings);

  // A statement of every open obligation with peer until now; returns its record.
  common::Result<nlohmann::json, SettlementError> propose(const std::string& peer);
  // The schedule and the unsigned report (see above); returns the statements proposed.
  std::size_t sweep();
  // {statements: [newest first, at most 200], peers: [{peer, open_owed_to_us, open_owed_by_us,
  // settled_net}], yen_per_introduction}.
  nlohmann::json list() const;
  // One row per agreed statement whose period is `period` ("" = every period):
  // {statement, period, peer, role, agreed, owed_to_us, owed_by_us, net, yen}.
  nlohmann::json invoice_rows(const std::string& period) const;

  // For netting (netting.hpp), inside its txn: agreed statements with any of `peers` not
  // reserved for or netted in a netting; and marking statements as reserved or netted in
  // `netting` ("" releases them). Unknown ids are skipped.
  std::vector<StatementRecord> agreed_unnetted(const storage::Txn& txn,
                                               const std::vector<std::string>& peers) const;
  std::optional<StatementRecord> find(const storage::Txn& txn, const std::string& id) const;
  void set_netting(storage::WriteTxn& txn, const std::vector<std::string>& statements,
                   const std::string& netting);
  // This node's signature (base64) over bytes, with its current key.
  std::string sign(const std::string& bytes) const;

 private:
  federation::HandlerResult on_statement(storage::WriteTxn& txn,
                                         const protocol::SettlementStatementMessage& m,
                                         const federation::Peer& peer);
  void on_reply(storage::WriteTxn& txn, const federation::SentMessage& sent,
                const protocol::Envelope& reply, const federation::Peer& peer);
  void on_given_up(storage::WriteTxn& txn, const federation::SentMessage& sent);
  std::optional<StatementRecord> propose_in(storage::WriteTxn& txn, const federation::Peer& peer,
                                            const std::string& period, std::int64_t until_ms);
  void save(storage::WriteTxn& txn, const StatementRecord& r);
  void close(storage::WriteTxn& txn, StatementRecord& r, const std::string& state);
  // Our statements to peer not yet agreed or given up.
  std::vector<StatementRecord> open_statements(const storage::Txn& txn,
                                               const std::string& peer) const;
  // Agrees r: records settlement_agreed and settles its agreed items, in txn.
  void agree(storage::WriteTxn& txn, StatementRecord& r);

  federation::Federation& federation_;
  Obligations& obligations_;
  storage::Writer& writer_;
  SettlementSettings settings_;
  storage::Database statements_;
  storage::Database open_;
  storage::Database schedule_;
};

}  // namespace relay::node::settlement
