#include "node/statistics/table.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

#include "protocol/json_writer.hpp"

namespace relay::node::statistics {

using nlohmann::json;

namespace {

json cells_json(const std::vector<TableCell>& cells) {
  auto out = json::array();
  for (const auto& c : cells) out.push_back(protocol::StatisticsTable::cell_json(c));
  return out;
}

std::vector<TableCell> cells_from(const json& j) {
  std::vector<TableCell> out;
  for (const auto& c : j) {
    TableCell cell;
    cell.job_category = c.at("job_category").get<std::string>();
    cell.prefecture = c.at("prefecture").get<std::string>();
    cell.age_band = c.at("age_band").get<std::string>();
    cell.experience_band = c.at("experience_band").get<std::string>();
    cell.registrations = c.at("registrations").get<std::uint64_t>();
    cell.introductions = c.at("introductions").get<std::uint64_t>();
    cell.hires = c.at("hires").get<std::uint64_t>();
    cell.retained_6m = c.at("retained_6m").get<std::uint64_t>();
    out.push_back(std::move(cell));
  }
  return out;
}

}  // namespace

OwnTable build_table(const std::string& period, const std::vector<PeriodRow>& rows,
                     const Thresholds& thresholds, std::int64_t now_ms) {
  struct Sum {
    TableCell cell;
    std::uint64_t persons = 0;
    std::set<std::string> companies;
  };
  std::map<Cell, Sum> sums;
  for (const auto& row : rows) {
    auto& s = sums[row.cell];
    s.cell.job_category = row.cell.job_category;
    s.cell.prefecture = row.cell.prefecture;
    s.cell.age_band = row.cell.age_band;
    s.cell.experience_band = row.cell.experience_band;
    ++s.persons;
    s.companies.insert(row.companies.begin(), row.companies.end());
    s.cell.registrations += row.registered;
    s.cell.introductions += row.introduced;
    s.cell.hires += row.hired;
    s.cell.retained_6m += row.retained;
  }
  std::vector<SuppressionCell> candidates;
  std::vector<const Sum*> order;
  for (const auto& [cell, s] : sums) {
    candidates.push_back({{cell.job_category, cell.prefecture, cell.age_band, cell.experience_band},
                          s.persons,
                          s.companies.size(),
                          false});
    order.push_back(&s);
  }
  OwnTable out;
  out.period = period;
  out.generated_ms = now_ms;
  out.suppressed = suppress(candidates, thresholds, {{0}, {1}, {}});
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (candidates[i].released) out.cells.push_back(order[i]->cell);
  return out;
}

Destinations build_destinations(const std::vector<Destination>& destinations,
                                const Thresholds& thresholds) {
  struct Sum {
    std::uint64_t persons = 0;
    std::set<std::string> hirers;
  };
  std::map<std::pair<std::string, std::string>, Sum> sums;
  for (const auto& d : destinations) {
    auto& s = sums[{d.job_category, d.prefecture}];
    ++s.persons;
    s.hirers.insert(d.hirers.begin(), d.hirers.end());
  }
  std::vector<SuppressionCell> candidates;
  for (const auto& [key, s] : sums)
    candidates.push_back({{key.first, key.second}, s.persons, s.hirers.size(), false});
  Destinations out;
  out.suppressed = suppress(candidates, thresholds, {{}});
  for (const auto& c : candidates)
    if (c.released) out.released.push_back({c.key[0], c.key[1], c.persons});
  std::sort(out.released.begin(), out.released.end(), [](const auto& a, const auto& b) {
    return std::tie(b.count, a.job_category, a.prefecture) <
           std::tie(a.count, b.job_category, b.prefecture);
  });
  return out;
}

Tables::Tables(storage::Environment& env) : tables_(env.database("stats_tables")) {}

void Tables::save_own(storage::WriteTxn& txn, const OwnTable& table) {
  txn.put(tables_, "own/" + table.period,
          json{{"generated_ms", table.generated_ms},
               {"suppressed", table.suppressed},
               {"cells", cells_json(table.cells)}}
              .dump());
}

std::optional<OwnTable> Tables::own(const storage::Txn& txn, const std::string& period) const {
  auto stored = txn.get(tables_, "own/" + period);
  if (!stored) return std::nullopt;
  auto j = json::parse(*stored);
  return OwnTable{period, j.at("generated_ms").get<std::int64_t>(),
                  j.at("suppressed").get<std::size_t>(), cells_from(j.at("cells"))};
}

bool Tables::mark_sent(storage::WriteTxn& txn, const OwnTable& table) {
  const auto cells = cells_json(table.cells).dump();
  const auto key = "sent/" + table.period;
  auto previous = txn.get(tables_, key);
  // Unchanged, or empty and never sent (nothing to tell a peer yet).
  if (previous == cells || (!previous && table.cells.empty())) return false;
  txn.put(tables_, key, cells);
  return true;
}

namespace {

std::string peer_key(const std::string& period, const std::string& peer) {
  return "peer/" + period + "/" + peer;
}
std::string state_key(const std::string& period, const std::string& peer) {
  return "state/" + period + "/" + peer;
}
// Fixed width, so that one peer's parts sort in order and no peer's name ends another's key.
std::string part_key(const std::string& period, const std::string& peer, std::int64_t part) {
  auto n = std::to_string(part);
  return "part/" + period + "/" + peer + "/" +
         std::string(4 - std::min<std::size_t>(4, n.size()), '0') + n;
}

}  // namespace

// What is held of a peer's table of a period, without its cells: the complete table's
// generation and the one arriving in parts.
struct Tables::Held {
  std::int64_t complete_ms = -1;
  std::int64_t pending_ms = -1;
  std::int64_t parts = 0;
  std::int64_t received = 0;

  static Held parse(std::string_view stored) {
    auto j = json::parse(stored);
    return {j.at("complete_ms").get<std::int64_t>(), j.at("pending_ms").get<std::int64_t>(),
            j.at("parts").get<std::int64_t>(), j.at("received").get<std::int64_t>()};
  }
  std::string dump() const {
    return json{{"complete_ms", complete_ms},
                {"pending_ms", pending_ms},
                {"parts", parts},
                {"received", received}}
        .dump();
  }
};

// Tables stored before parts had keys of their own kept both generations in the peer record,
// {complete?, pending?: {generated_ms, parts, chunks}}: moved once into the state and part
// keys, so that what is held is read without the cells.
Tables::Held Tables::held(storage::WriteTxn& txn, const std::string& peer,
                          const std::string& period) {
  if (auto stored = txn.get(tables_, state_key(period, peer))) return Held::parse(*stored);
  Held held;
  auto old = txn.get(tables_, peer_key(period, peer));
  if (!old) return held;
  auto j = json::parse(*old);
  if (j.contains("complete"))
    held.complete_ms = j["complete"].value("generated_ms", std::int64_t{0});
  if (j.contains("pending")) {
    const auto& pending = j["pending"];
    held.pending_ms = pending.value("generated_ms", std::int64_t{0});
    held.parts = pending.value("parts", std::int64_t{0});
    for (const auto& [part, cells] : pending.at("chunks").items()) {
      txn.put(tables_, part_key(period, peer, std::stoll(part)), cells.dump());
      ++held.received;
    }
    j.erase("pending");
    if (j.contains("complete"))
      txn.put(tables_, peer_key(period, peer), j.dump());
    else
      txn.del(tables_, peer_key(period, peer));
  }
  txn.put(tables_, state_key(period, peer), held.dump());  // also when the part is refused
  return held;
}

// Each part is stored under its own key as it comes and the table is put together once, from
// the stored parts' text: keeping the parts in the peer's record reparsed and rewrote every
// earlier part, and the complete table, with each new one, in the Writer (quadratic in a
// table's parts, up to kMaxParts of them).
bool Tables::receive(storage::WriteTxn& txn, const std::string& peer,
                     const protocol::StatisticsTable& part, std::int64_t now_ms) {
  auto h = held(txn, peer, part.period);
  if (h.complete_ms >= part.generated_ms || h.pending_ms > part.generated_ms) return false;
  if (h.pending_ms < part.generated_ms || h.parts != part.parts) {
    for (std::int64_t i = 0; i < h.parts; ++i) txn.del(tables_, part_key(part.period, peer, i));
    h.pending_ms = part.generated_ms;
    h.parts = part.parts;
    h.received = 0;
  }
  const auto key = part_key(part.period, peer, part.part);
  if (!txn.contains(tables_, key)) ++h.received;
  txn.put(tables_, key, cells_json(part.cells).dump());
  if (h.received == h.parts) {
    // Each part's text is a JSON array: its elements go into the table's as they are.
    std::string cells = "[";
    for (std::int64_t i = 0; i < h.parts; ++i) {
      const auto stored_part = part_key(part.period, peer, i);
      auto text = txn.get(tables_, stored_part);
      if (!text) throw std::logic_error("statistics: a counted part is not stored");
      const auto items = std::string_view(*text).substr(1, text->size() - 2);
      if (!items.empty()) {
        if (cells.size() > 1) cells += ',';
        cells += items;
      }
      txn.del(tables_, stored_part);
    }
    cells += ']';
    std::string record;
    protocol::JsonWriter(record)
        .begin_object()
        .key("complete")
        .begin_object()
        .key("cells")
        .raw(cells)
        .field("generated_ms", part.generated_ms)
        .field("received_ms", now_ms)
        .end_object()
        .end_object();
    txn.put(tables_, peer_key(part.period, peer), record);
    h.complete_ms = part.generated_ms;
    h.pending_ms = -1;
    h.parts = 0;
    h.received = 0;
  }
  txn.put(tables_, state_key(part.period, peer), h.dump());
  return true;
}

std::vector<PeerTable> Tables::peers(const storage::Txn& txn, const std::string& period) const {
  std::vector<PeerTable> out;
  const std::string prefix = "peer/" + period + "/";
  txn.for_each_prefix(tables_, prefix, [&](std::string_view k, std::string_view v) {
    auto j = json::parse(v);
    if (!j.contains("complete")) return;
    const auto& c = j.at("complete");
    out.push_back({std::string(k.substr(prefix.size())), period,
                   c.at("generated_ms").get<std::int64_t>(),
                   c.at("received_ms").get<std::int64_t>(), cells_from(c.at("cells"))});
  });
  return out;
}

std::vector<TableCell> combine(const std::vector<TableCell>& own,
                               const std::vector<PeerTable>& peers) {
  std::map<std::tuple<std::string, std::string, std::string, std::string>, TableCell> sums;
  auto add = [&](const TableCell& c) {
    auto [it, fresh] =
        sums.try_emplace({c.job_category, c.prefecture, c.age_band, c.experience_band}, c);
    if (fresh) return;
    it->second.registrations += c.registrations;
    it->second.introductions += c.introductions;
    it->second.hires += c.hires;
    it->second.retained_6m += c.retained_6m;
  };
  for (const auto& c : own) add(c);
  for (const auto& p : peers)
    for (const auto& c : p.cells) add(c);
  std::vector<TableCell> out;
  for (auto& [k, c] : sums) out.push_back(std::move(c));
  return out;
}

std::vector<protocol::StatisticsTable> to_messages(const OwnTable& table) {
  const auto per = protocol::StatisticsTable::kMaxCells;
  const auto parts = std::max<std::size_t>(1, (table.cells.size() + per - 1) / per);
  std::vector<protocol::StatisticsTable> out;
  for (std::size_t p = 0; p < parts; ++p) {
    protocol::StatisticsTable m{table.period,
                                table.generated_ms,
                                static_cast<std::int64_t>(p),
                                static_cast<std::int64_t>(parts),
                                {}};
    for (std::size_t i = p * per; i < std::min(table.cells.size(), (p + 1) * per); ++i)
      m.cells.push_back(table.cells[i]);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace relay::node::statistics
