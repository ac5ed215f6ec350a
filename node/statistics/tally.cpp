#include "node/statistics/tally.hpp"

#include <algorithm>
#include <memory>
#include <utility>

#include "node/statistics/period.hpp"
#include "protocol/canonical_json.hpp"
#include "protocol/canonical_scan.hpp"
#include "protocol/json_writer.hpp"

namespace relay::node::statistics {

using nlohmann::json;

namespace {

bool contains(const json& array, const std::string& value) {
  return std::find(array.begin(), array.end(), value) != array.end();
}

void add_unique(json& array, const std::string& value) {
  if (!array.is_array()) array = json::array();
  if (!contains(array, value)) array.push_back(value);
}

// Whether hirer is one of this node's members (a company the thresholds may count).
bool is_member(const std::string& hirer) {
  return !hirer.empty() && hirer.rfind("peer:", 0) != 0;
}

}  // namespace

json Cell::to_json() const {
  return {{"job_category", job_category},
          {"prefecture", prefecture},
          {"age_band", age_band},
          {"experience_band", experience_band}};
}

Cell Cell::from_json(const json& j) {
  return {j.value("job_category", ""), j.value("prefecture", ""), j.value("age_band", ""),
          j.value("experience_band", "")};
}

namespace {

// Every count but days_to_hire, by its stored key, in byte order (the order stored_text writes).
constexpr std::pair<const char*, std::uint64_t Counters::*> kCounts[] = {
    {"hired", &Counters::hired},
    {"hired_elsewhere", &Counters::hired_elsewhere},
    {"introduced", &Counters::introduced},
    {"own_hires", &Counters::own_hires},
    {"own_introduction_hires", &Counters::own_introduction_hires},
    {"own_retained_6m", &Counters::own_retained_6m},
    {"reemployed", &Counters::reemployed},
    {"registrations", &Counters::registrations},
    {"rejections", &Counters::rejections},
    {"retained", &Counters::retained},
    {"retained_elsewhere", &Counters::retained_elsewhere},
    {"verified", &Counters::verified},
};

}  // namespace

std::string Counters::stored_text() const {
  // Written as text, keys in byte order: the bytes dump() gave for the tree this built
  // before, at a fifth of the cost (one or two counters change for every counted event). Days are
  // keys too, so they sort as text ("10" before "9"), not as numbers.
  std::vector<std::pair<std::string, std::uint64_t>> days;
  days.reserve(days_to_hire.size());
  for (const auto& [d, n] : days_to_hire) days.emplace_back(std::to_string(d), n);
  std::sort(days.begin(), days.end());
  std::string out;
  out.reserve(320 + 16 * days.size());
  protocol::JsonWriter w(out);
  auto count = [](std::uint64_t n) { return static_cast<std::int64_t>(n); };
  w.begin_object().key("days_to_hire").begin_object();
  for (const auto& [d, n] : days) w.field(d, count(n));
  w.end_object();
  for (const auto& [name, member] : kCounts) w.field(name, count(this->*member));
  w.end_object();
  return out;
}

void Counters::add(const Counters& o) {
  for (const auto& [name, member] : kCounts) this->*member += o.*member;
  for (const auto& [days, n] : o.days_to_hire) days_to_hire[days] += n;
}

Counters Counters::from_json(const json& j) {
  Counters c;
  for (const auto& [name, member] : kCounts) c.*member = j.value(name, std::uint64_t{0});
  if (j.contains("days_to_hire"))
    for (const auto& [d, n] : j.at("days_to_hire").items())
      c.days_to_hire[std::stoll(d)] = n.get<std::uint64_t>();
  return c;
}

std::optional<double> Counters::median_days_to_hire() const {
  std::uint64_t total = 0;
  for (const auto& [d, n] : days_to_hire) total += n;
  if (total == 0) return std::nullopt;
  // The values at 0-based ranks (total-1)/2 and total/2, in ascending order.
  auto at_rank = [&](std::uint64_t rank) {
    std::uint64_t seen = 0;
    for (const auto& [d, n] : days_to_hire) {
      seen += n;
      if (rank < seen) return d;
    }
    return days_to_hire.rbegin()->first;
  };
  return (static_cast<double>(at_rank((total - 1) / 2)) + static_cast<double>(at_rank(total / 2))) /
         2.0;
}

class Tally::Changed final : public storage::Pending {
 public:
  explicit Changed(const Tally& tally) : tally_(tally) {}
  void write(storage::WriteTxn& txn) override {
    for (auto& [key, c] : counters) {
      auto stored = c.stored_text();
      txn.put(tally_.counters_, key, stored);
      tally_.parsed_.put(key, std::move(stored), c);
    }
  }
  std::map<std::string, Counters> counters;  // key -> the txn's counts

 private:
  const Tally& tally_;
};

Tally::Tally(storage::Environment& env, std::chrono::days reemployment_window)
    : window_(std::chrono::duration_cast<std::chrono::milliseconds>(reemployment_window)),
      counters_(env.database("stats_counters")),
      people_(env.database("stats_people")),
      rows_(env.database("stats_rows")) {}

template <class Fn>
void Tally::count_in(storage::WriteTxn& txn, const std::string& scope, const std::string& period,
                     Fn&& fn) {
  auto key = scope + "|" + period;
  auto& counters = changed(txn).counters;
  auto it = counters.find(key);
  if (it == counters.end()) {
    auto stored = counters_at(txn, key);
    it = counters.emplace(std::move(key), std::move(stored)).first;
  }
  fn(it->second);
}

Tally::Changed& Tally::changed(storage::WriteTxn& txn) {
  if (auto* held = txn.pending(this)) return static_cast<Changed&>(*held);
  return static_cast<Changed&>(txn.hold(this, std::make_unique<Changed>(*this)));
}

const Tally::Changed* Tally::changed_in(const storage::Txn& txn) const {
  return static_cast<const Changed*>(txn.pending(this));
}

Counters Tally::counters_at(const storage::Txn& txn, const std::string& key) const {
  if (const auto* changed = changed_in(txn)) {
    auto it = changed->counters.find(key);
    if (it != changed->counters.end()) return it->second;
  }
  auto stored = txn.get(counters_, key);
  if (!stored) return Counters{};
  return parsed_counters(key, std::move(*stored));
}

Counters Tally::parsed_counters(const std::string& key, std::string stored) const {
  if (auto cached = parsed_.get(key, stored)) return std::move(*cached);
  auto c = Counters::from_json(protocol::parse_json(stored));
  parsed_.put(key, std::move(stored), c);
  return c;
}

// Only the month: "all" is the sum of the months when read, so an event rewrites one counter
// per scope and not two (issue 19).
template <class Fn>
void Tally::count(storage::WriteTxn& txn, const std::string& scope, std::int64_t at_ms, Fn&& fn) {
  count_in(txn, scope, period_of(at_ms), fn);
}

json Tally::facts(const storage::Txn& txn, const std::string& person) const {
  auto stored = txn.get(people_, person);
  return stored ? protocol::parse_json(*stored) : json::object();
}

void Tally::save_facts(storage::WriteTxn& txn, const std::string& person, const json& f) {
  txn.put(people_, person, protocol::compact_dump(f));
}

void Tally::mark_period(storage::WriteTxn& txn, const std::string& person, json& f,
                        std::int64_t at_ms, const char* flag, const std::string& company) {
  if (!f.contains("cell")) return;  // no consent to statistics
  const auto period = period_of(at_ms);
  const auto key = "p/" + period + "/" + person;
  auto stored = txn.get(rows_, key);
  json row =
      stored ? json::parse(*stored) : json{{"cell", f.at("cell")}, {"companies", json::array()},
                                           {"r", false},           {"i", false},
                                           {"h", false},           {"k", false}};
  row[flag] = true;
  if (is_member(company)) add_unique(row["companies"], company);
  // The companies whose referrals brought the person in are part of every row.
  if (f.contains("referrers"))
    for (const auto& [member, at] : f.at("referrers").items()) add_unique(row["companies"], member);
  txn.put(rows_, key, protocol::compact_dump(row));
  add_unique(f["periods"], period);
}

void Tally::rejection_link(storage::WriteTxn& txn, const std::string& member, std::int64_t at_ms) {
  count(txn, member_scope(member), at_ms, [](Counters& c) { ++c.rejections; });
}

void Tally::referral_made(storage::WriteTxn& txn, const std::string& member, bool new_person,
                          std::int64_t at_ms) {
  count(txn, member_scope(member), at_ms, [](Counters& c) { ++c.registrations; });
  if (new_person) count(txn, node_scope(), at_ms, [](Counters& c) { ++c.registrations; });
}

void Tally::referral_confirmed(storage::WriteTxn& txn, const std::string& member,
                               const std::string& person, const std::optional<Cell>& cell,
                               bool new_person, std::int64_t at_ms) {
  auto f = facts(txn, person);
  if (f.contains("referrers") && f.at("referrers").contains(member)) return;  // counted once
  count(txn, member_scope(member), at_ms, [](Counters& c) { ++c.verified; });
  if (new_person || !f.contains("registered_ms")) {
    f["registered_ms"] = at_ms;
    count(txn, node_scope(), at_ms, [](Counters& c) { ++c.verified; });
  }
  f["referrers"][member] = at_ms;
  if (cell)
    f["cell"] = cell->to_json();
  else
    f.erase("cell");
  mark_period(txn, person, f, at_ms, "r", member);
  save_facts(txn, person, f);
}

void Tally::introduced(storage::WriteTxn& txn, const std::string& person, const std::string& member,
                       std::int64_t at_ms) {
  auto f = facts(txn, person);
  if (!f.value("introduced", false)) {
    f["introduced"] = true;
    count(txn, node_scope(), at_ms, [](Counters& c) { ++c.introduced; });
    if (f.contains("referrers"))
      for (const auto& [r, at] : f.at("referrers").items())
        count(txn, member_scope(r), at_ms, [](Counters& c) { ++c.introduced; });
  }
  mark_period(txn, person, f, at_ms, "i", member);
  save_facts(txn, person, f);
}

bool Tally::hired(storage::WriteTxn& txn, const std::string& person, const std::string& hirer,
                  std::int64_t at_ms) {
  auto f = facts(txn, person);
  bool new_hirer = false;
  if (!hirer.empty() && !contains(f.value("by", json::array()), hirer)) {
    add_unique(f["by"], hirer);
    new_hirer = true;
  }
  const json referrers = f.value("referrers", json::object());
  if (!f.contains("hired_ms")) {
    f["hired_ms"] = at_ms;
    count(txn, node_scope(), at_ms, [](Counters& c) { ++c.hired; });
    for (const auto& [r, at] : referrers.items())
      count(txn, member_scope(r), at_ms, [](Counters& c) { ++c.hired; });
  }
  bool elsewhere = false;
  for (const auto& [r, at] : referrers.items()) elsewhere = elsewhere || r != hirer;
  if (elsewhere && !f.value("elsewhere", false)) {
    f["elsewhere"] = true;
    count(txn, node_scope(), at_ms, [](Counters& c) { ++c.hired_elsewhere; });
  }
  // Re-employment: counted in the month the person (or the member's referral) was confirmed,
  // if this hire came within the window of it; once per scope.
  auto& counted = f["reemployed"];
  if (!counted.is_array()) counted = json::array();
  if (f.contains("registered_ms") && !contains(counted, node_scope())) {
    const std::int64_t registered = f.at("registered_ms");
    if (at_ms >= registered && at_ms - registered <= window_.count()) {
      count(txn, node_scope(), registered, [](Counters& c) { ++c.reemployed; });
      counted.push_back(node_scope());
    }
  }
  for (const auto& [r, at] : referrers.items()) {
    const std::int64_t confirmed = at.get<std::int64_t>();
    if (contains(counted, member_scope(r))) continue;
    if (at_ms < confirmed || at_ms - confirmed > window_.count()) continue;
    count(txn, member_scope(r), confirmed, [](Counters& c) { ++c.reemployed; });
    counted.push_back(member_scope(r));
  }
  // Where the people each member referred went (rejection insight), never the hirer's own.
  if (f.contains("cell"))
    for (const auto& [r, at] : referrers.items()) {
      if (r == hirer) continue;
      const auto key = "i/" + r + "/" + person;
      auto stored = txn.get(rows_, key);
      json d = stored ? json::parse(*stored)
                      : json{{"job_category", f.at("cell").value("job_category", "")},
                             {"prefecture", f.at("cell").value("prefecture", "")},
                             {"hirers", json::array()},
                             {"retained", false}};
      if (!hirer.empty()) add_unique(d["hirers"], hirer);
      txn.put(rows_, key, protocol::compact_dump(d));
    }
  mark_period(txn, person, f, at_ms, "h", hirer);
  save_facts(txn, person, f);
  return new_hirer;
}

void Tally::retained(storage::WriteTxn& txn, const std::string& person, const std::string& hirer,
                     std::int64_t at_ms) {
  auto f = facts(txn, person);
  if (f.value("retained", false)) return;
  f["retained"] = true;
  const json referrers = f.value("referrers", json::object());
  count(txn, node_scope(), at_ms, [](Counters& c) { ++c.retained; });
  for (const auto& [r, at] : referrers.items())
    count(txn, member_scope(r), at_ms, [](Counters& c) { ++c.retained; });
  if (f.value("elsewhere", false))
    count(txn, node_scope(), at_ms, [](Counters& c) { ++c.retained_elsewhere; });
  for (const auto& [r, at] : referrers.items()) {
    const auto key = "i/" + r + "/" + person;
    if (auto stored = txn.get(rows_, key)) {
      auto d = json::parse(*stored);
      d["retained"] = true;
      txn.put(rows_, key, protocol::compact_dump(d));
    }
  }
  mark_period(txn, person, f, at_ms, "k", hirer);
  save_facts(txn, person, f);
}

void Tally::member_hire(storage::WriteTxn& txn, const std::string& member,
                        bool through_introduction, std::optional<std::int64_t> days_to_hire,
                        std::int64_t at_ms) {
  auto add = [&](Counters& c) {
    ++c.own_hires;
    if (through_introduction) ++c.own_introduction_hires;
    if (days_to_hire) ++c.days_to_hire[*days_to_hire];
  };
  count(txn, member_scope(member), at_ms, add);
  count(txn, node_scope(), at_ms, add);
}

void Tally::member_retained(storage::WriteTxn& txn, const std::string& member, std::int64_t at_ms) {
  count(txn, member_scope(member), at_ms, [](Counters& c) { ++c.own_retained_6m; });
  count(txn, node_scope(), at_ms, [](Counters& c) { ++c.own_retained_6m; });
}

void Tally::set_cell(storage::WriteTxn& txn, const std::string& person,
                     const std::optional<Cell>& cell) {
  auto stored = txn.get(people_, person);
  if (!stored) return;  // not a person the tally knows (registered before it)
  // No cell to take away: without one the person has no rows (mark_period and hired write
  // them only with a cell), so there is nothing to drop or to write. Every confirmation and
  // edit of someone who never consented to statistics came here, to parse and rewrite the
  // same facts. They are stored compact, so a "cell" key reads `"cell":`; other text that
  // only looks like it takes the long way, to the same end.
  if (!cell && stored->find("\"cell\":") == std::string::npos) return;
  auto f = json::parse(*stored);
  if (cell) {
    f["cell"] = cell->to_json();
  } else {
    f.erase("cell");
    const json periods = f.value("periods", json::array());
    const json referrers = f.value("referrers", json::object());
    for (const auto& p : periods) txn.del(rows_, "p/" + p.get<std::string>() + "/" + person);
    f.erase("periods");
    for (const auto& [r, at] : referrers.items()) txn.del(rows_, "i/" + r + "/" + person);
  }
  save_facts(txn, person, f);
}

void Tally::set_spend(storage::WriteTxn& txn, const std::string& member, const std::string& period,
                      std::uint64_t yen) {
  txn.put(counters_, "$spend/" + member + "/" + period, std::to_string(yen));
}

Counters Tally::counters(const storage::Txn& txn, const std::string& scope,
                         std::string_view period) const {
  if (period != kAll) return counters_at(txn, scope + "|" + std::string(period));
  // Every month of the scope (a few dozen keys). An "all" key older versions kept is skipped:
  // they counted each event in both, so the months add up to it.
  // Months a write txn has changed are taken as changed, not as stored.
  Counters all;
  const auto prefix = scope + "|";
  const auto* changed = changed_in(txn);
  txn.for_each_prefix(counters_, prefix, [&](std::string_view key, std::string_view stored) {
    if (!is_period(key.substr(prefix.size()))) return;
    if (changed && changed->counters.count(std::string(key)) > 0) return;
    all.add(parsed_counters(std::string(key), std::string(stored)));
  });
  if (changed)
    for (auto it = changed->counters.lower_bound(prefix);
         it != changed->counters.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
      all.add(it->second);
  return all;
}

std::optional<std::uint64_t> Tally::spend(const storage::Txn& txn, const std::string& member,
                                          std::string_view period) const {
  auto stored = txn.get(counters_, "$spend/" + member + "/" + std::string(period));
  if (!stored) return std::nullopt;
  return std::stoull(*stored);
}

std::vector<PeriodRow> Tally::period_rows(const storage::Txn& txn, std::string_view period) const {
  std::vector<PeriodRow> out;
  txn.for_each_prefix(rows_, "p/" + std::string(period) + "/",
                      [&](std::string_view, std::string_view v) {
                        auto j = json::parse(v);
                        PeriodRow row;
                        row.cell = Cell::from_json(j.at("cell"));
                        for (const auto& c : j.at("companies"))
                          row.companies.insert(c.get<std::string>());
                        row.registered = j.value("r", false);
                        row.introduced = j.value("i", false);
                        row.hired = j.value("h", false);
                        row.retained = j.value("k", false);
                        out.push_back(std::move(row));
                      });
  return out;
}

std::vector<Destination> Tally::destinations(const storage::Txn& txn,
                                             const std::string& member) const {
  std::vector<Destination> out;
  txn.for_each_prefix(rows_, "i/" + member + "/", [&](std::string_view, std::string_view v) {
    auto j = json::parse(v);
    Destination d;
    d.job_category = j.value("job_category", "");
    d.prefecture = j.value("prefecture", "");
    for (const auto& h : j.at("hirers")) d.hirers.insert(h.get<std::string>());
    d.retained = j.value("retained", false);
    out.push_back(std::move(d));
  });
  return out;
}

}  // namespace relay::node::statistics
