#include "node/statistics/table.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

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

bool Tables::receive(storage::WriteTxn& txn, const std::string& peer,
                     const protocol::StatisticsTable& part, std::int64_t now_ms) {
  const auto key = "peer/" + part.period + "/" + peer;
  auto stored = txn.get(tables_, key);
  json j = stored ? json::parse(*stored) : json::object();
  if (j.contains("complete") &&
      j["complete"].value("generated_ms", std::int64_t{0}) >= part.generated_ms)
    return false;
  const auto pending_ms =
      j.contains("pending") ? j["pending"].value("generated_ms", std::int64_t{0}) : -1;
  if (pending_ms > part.generated_ms) return false;
  if (pending_ms < part.generated_ms || j["pending"].value("parts", std::int64_t{0}) != part.parts)
    j["pending"] = {
        {"generated_ms", part.generated_ms}, {"parts", part.parts}, {"chunks", json::object()}};
  auto& pending = j["pending"];
  pending["chunks"][std::to_string(part.part)] = cells_json(part.cells);
  if (static_cast<std::int64_t>(pending["chunks"].size()) == part.parts) {
    auto cells = json::array();
    for (std::int64_t i = 0; i < part.parts; ++i)
      for (const auto& c : pending["chunks"][std::to_string(i)]) cells.push_back(c);
    j["complete"] = {
        {"generated_ms", part.generated_ms}, {"received_ms", now_ms}, {"cells", std::move(cells)}};
    j.erase("pending");
  }
  txn.put(tables_, key, j.dump());
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
