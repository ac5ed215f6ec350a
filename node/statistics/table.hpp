#pragma once
// The statistics tables: the node's own table of a month built from the Tally's period rows
// (each person once, in one cell), suppressed (suppression.hpp) before it is stored or sent;
// the tables peers sent (statistics.table, possibly in parts); the consortium view (own +
// every peer's latest complete table of the month, summed cell by cell); and the rejection
// insight's destinations of a member, suppressed the same way.
//
// Database stats_tables: "own/" period -> {generated_ms, suppressed, cells};
// "sent/" period -> the cells last sent to peers (to send again only what changed);
// "peer/" period "/" peer -> {complete: {generated_ms, received_ms, cells}}, the latest
// complete table; "state/" period "/" peer -> {complete_ms, pending_ms, parts, received}, the
// generations held (-1: none) and how many parts of the pending one have come;
// "part/" period "/" peer "/" part (4 digits) -> the cells of a part of the pending table.
// Only released cells are ever stored here: a suppressed cell never reaches a table, a
// message or a reply.
//
// Threads: writing methods inside Writer requests; reads with any txn.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "node/statistics/suppression.hpp"
#include "node/statistics/tally.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/txn.hpp"
#include "protocol/federation_messages.hpp"

namespace relay::node::statistics {

using TableCell = protocol::StatisticsTable::Cell;

struct OwnTable {
  std::string period;
  std::int64_t generated_ms = 0;
  std::size_t suppressed = 0;
  std::vector<TableCell> cells;  // released only, sorted by key
};

// Aggregates the period's rows by cell and suppresses (margins: job category, prefecture and
// the grand total).
OwnTable build_table(const std::string& period, const std::vector<PeriodRow>& rows,
                     const Thresholds& thresholds, std::int64_t now_ms);

struct DestinationCount {
  std::string job_category;
  std::string prefecture;
  std::uint64_t count = 0;
};
struct Destinations {
  std::vector<DestinationCount> released;  // sorted by count, largest first, then key
  std::size_t suppressed = 0;
};
// Groups a member's destinations by (job category, prefecture); companies = distinct known
// hirers; margin: the grand total (the member sees its social hiring impact).
Destinations build_destinations(const std::vector<Destination>& destinations,
                                const Thresholds& thresholds);

struct PeerTable {
  std::string peer;
  std::string period;
  std::int64_t generated_ms = 0;
  std::int64_t received_ms = 0;
  std::vector<TableCell> cells;
};

class Tables {
 public:
  explicit Tables(storage::Environment& env);

  void save_own(storage::WriteTxn& txn, const OwnTable& table);
  std::optional<OwnTable> own(const storage::Txn& txn, const std::string& period) const;
  // Whether `table` differs from what was last sent for its period (an empty table never sent
  // counts as unchanged); marks it sent if so.
  bool mark_sent(storage::WriteTxn& txn, const OwnTable& table);

  // A part of a peer's table. Returns false (nothing stored) if a newer table of that peer
  // and period is already held.
  bool receive(storage::WriteTxn& txn, const std::string& peer,
               const protocol::StatisticsTable& part, std::int64_t now_ms);
  // Every peer's latest complete table of the period.
  std::vector<PeerTable> peers(const storage::Txn& txn, const std::string& period) const;

 private:
  struct Held;
  Held held(storage::WriteTxn& txn, const std::string& peer, const std::string& period);

  storage::Database tables_;
};

// Own and peers' cells summed by key, sorted by key.
std::vector<TableCell> combine(const std::vector<TableCell>& own,
                               const std::vector<PeerTable>& peers);

// Splits a table into messages of at most kMaxCells cells (one message if empty).
std::vector<protocol::StatisticsTable> to_messages(const OwnTable& table);

}  // namespace relay::node::statistics
