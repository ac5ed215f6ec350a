// node/statistics (issue 16): months in JST, suppression (primary and complementary), the
// tally's counts on a real LMDB (each person once per month, re-employment within the window,
// a member's destinations), the serialised statistics.table (no suppressed cell in its bytes,
// strict parse), the consortium sum, and the CSV format of the API's downloads.
#include <doctest/doctest.h>

#include <algorithm>
#include <future>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "node/api/csv.hpp"
#include "node/statistics/kpis.hpp"
#include "node/statistics/period.hpp"
#include "node/statistics/suppression.hpp"
#include "node/statistics/table.hpp"
#include "node/statistics/tally.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/writer.hpp"
#include "protocol/canonical_json.hpp"
#include "support/temp_dir.hpp"

namespace st = relay::node::statistics;
namespace storage = relay::node::storage;
using relay::test::TempDir;

namespace {

constexpr std::int64_t kDay = 86'400'000;
// 2026-12-01 00:00 JST = 2026-11-30 15:00 UTC.
constexpr std::int64_t kDec1Jst = 1'796'050'800'000;

struct Store {
  TempDir dir{"statistics"};
  storage::Environment env = storage::Environment::open(dir.path / "lmdb");
  st::Tally tally{env, std::chrono::days(90)};
  st::Tables tables{env};
  storage::Writer writer{env};

  template <class F>
  auto write(F fn) {
    return writer.submit_wait(std::move(fn));
  }
  st::Counters counters(const std::string& scope, const std::string& period) {
    auto txn = env.begin_read();
    return tally.counters(txn, scope, period);
  }
};

// Two released cells of a peer's table.
const std::pair<relay::protocol::StatisticsTable::Cell, relay::protocol::StatisticsTable::Cell>
    kPeerCells{{"B", "JP-28", "25-34", "3-5", 10, 2, 1, 0},
               {"D", "JP-27", "25-34", "3-5", 11, 0, 0, 0}};

st::Cell cell(std::string jc, std::string pref = "JP-28") {
  return {std::move(jc), std::move(pref), "25-34", "3-5"};
}

// The total of each margin group minus its released cells, against each suppressed cell.
void check_no_margin_reveals(const std::vector<st::SuppressionCell>& cells,
                             const std::vector<std::vector<std::size_t>>& margins) {
  for (const auto& margin : margins) {
    std::map<std::vector<std::string>, std::vector<const st::SuppressionCell*>> groups;
    for (const auto& c : cells) {
      std::vector<std::string> g;
      for (auto d : margin) g.push_back(c.key[d]);
      groups[g].push_back(&c);
    }
    for (const auto& [g, members] : groups) {
      std::uint64_t total = 0, released = 0;
      std::size_t suppressed = 0;
      for (const auto* c : members) {
        total += c->persons;
        if (c->released)
          released += c->persons;
        else
          ++suppressed;
      }
      CHECK((suppressed != 1 || members.size() == 1));
      if (members.size() == 1) continue;  // a lone cell is its total: nothing to subtract
      for (const auto* c : members)
        if (!c->released) CHECK(total - released != c->persons);
    }
  }
}

}  // namespace

TEST_SUITE_BEGIN("statistics");

TEST_CASE("periods are calendar months in JST") {
  CHECK(st::period_of(kDec1Jst) == "2026-12");
  CHECK(st::period_of(kDec1Jst - 1) == "2026-11");
  CHECK(st::is_period("2026-12"));
  CHECK_FALSE(st::is_period("2026-13"));
  CHECK_FALSE(st::is_period("2026-1"));
  CHECK_FALSE(st::is_period("all"));
  CHECK(st::previous_period("2026-01") == "2025-12");
  CHECK(st::months_until("2026-02", 3) ==
        std::vector<std::string>{"2025-12", "2026-01", "2026-02"});
}

TEST_CASE("primary suppression: persons and companies thresholds") {
  std::vector<st::SuppressionCell> cells = {
      {{"B"}, 10, 3, false}, {{"C"}, 9, 3, false}, {{"D"}, 12, 2, false}, {{"E"}, 30, 5, false}};
  CHECK(st::suppress(cells, {10, 3}, {}) == 2);
  CHECK(cells[0].released);
  CHECK_FALSE(cells[1].released);
  CHECK_FALSE(cells[2].released);
  CHECK(cells[3].released);
}

TEST_CASE("complementary suppression: one suppressed cell in a margin takes the next smallest") {
  // Job category x prefecture, 20 persons a cell except C/JP-28 (3).
  std::vector<st::SuppressionCell> cells;
  for (const char* jc : {"B", "C", "D"})
    for (const char* pref : {"JP-13", "JP-27", "JP-28"})
      cells.push_back({{jc, pref},
                       std::string(jc) == "C" && std::string(pref) == "JP-28" ? 3u : 20u,
                       5,
                       false});
  const std::vector<std::vector<std::size_t>> margins = {{0}, {1}, {}};
  CHECK(st::suppress(cells, {10, 3}, margins) == 4);
  // C's row total would reveal C/JP-28: C/JP-13 goes too (first of the smallest by key); then
  // the JP-13 and JP-28 column totals would reveal one each: B/JP-13 and B/JP-28 go.
  std::set<std::string> suppressed;
  for (const auto& c : cells)
    if (!c.released) suppressed.insert(c.key[0] + "/" + c.key[1]);
  CHECK(suppressed == std::set<std::string>{"B/JP-13", "B/JP-28", "C/JP-13", "C/JP-28"});
  check_no_margin_reveals(cells, margins);
}

TEST_CASE("complementary suppression holds on random tables") {
  std::mt19937 rng(16);
  const std::vector<std::vector<std::size_t>> margins = {{0}, {1}, {}};
  for (int round = 0; round < 200; ++round) {
    std::vector<st::SuppressionCell> cells;
    for (const char* jc : {"A", "B", "C", "D"})
      for (const char* pref : {"JP-13", "JP-27", "JP-28"})
        if (rng() % 4) cells.push_back({{jc, pref}, 1 + rng() % 25, 1 + rng() % 5, false});
    st::suppress(cells, {10, 3}, margins);
    for (const auto& c : cells)
      if (c.released) CHECK((c.persons >= 10 && c.companies >= 3));
    check_no_margin_reveals(cells, margins);
  }
}

TEST_CASE("tally: each person once per month, in one cell; re-employment within the window") {
  Store s;
  const auto t0 = kDec1Jst + kDay;
  s.write([&](storage::WriteTxn& txn) {
    // Four registrations through member m1, one of them (p1) also referred by m2.
    for (const char* p : {"p1", "p2", "p3", "p4"}) {
      s.tally.referral_made(txn, "m1", true, t0);
      s.tally.referral_confirmed(txn, "m1", p, cell("B"), true, t0);
    }
    s.tally.referral_made(txn, "m2", false, t0);
    s.tally.referral_confirmed(txn, "m2", "p1", cell("B"), false, t0);
    // p1 is introduced twice and hired by m3 within the window; p4 reports work after it.
    s.tally.introduced(txn, "p1", "m3", t0 + kDay);
    s.tally.introduced(txn, "p1", "m2", t0 + 2 * kDay);
    s.tally.hired(txn, "p1", "m3", t0 + 3 * kDay);
    s.tally.hired(txn, "p1", "m3", t0 + 4 * kDay);  // reported again: counted once
    s.tally.hired(txn, "p4", "", t0 + 91 * kDay);
  });
  auto node = s.counters(st::Tally::node_scope(), "2026-12");
  CHECK(node.registrations == 4);
  CHECK(node.verified == 4);
  CHECK(node.introduced == 1);
  CHECK(node.hired == 1);  // p4's report came in March
  CHECK(node.reemployed == 1);
  CHECK(node.hired_elsewhere == 1);
  auto m1 = s.counters(st::Tally::member_scope("m1"), "all");
  CHECK(m1.registrations == 4);
  CHECK(m1.verified == 4);
  CHECK(m1.reemployed == 1);  // 1 of 4: 再雇用率 0.25
  auto m2 = s.counters(st::Tally::member_scope("m2"), "2026-12");
  CHECK(m2.verified == 1);
  CHECK(m2.reemployed == 1);
  st::KpiInputs in;
  in.counters = m1;
  auto kpis = st::kpis_json(in);
  CHECK(kpis[0].at("id") == "reemployment_rate");
  CHECK(kpis[0].at("value").get<double>() == doctest::Approx(0.25));
  CHECK(kpis[0].at("numerator") == 1);
  CHECK(kpis[0].at("denominator") == 4);

  auto txn = s.env.begin_read();
  auto rows = s.tally.period_rows(txn, "2026-12");
  REQUIRE(rows.size() == 4);  // four persons, one row each, though p1 had five events
  std::size_t introduced = 0, hired = 0;
  for (const auto& r : rows) {
    introduced += r.introduced;
    hired += r.hired;
    CHECK(r.registered);
  }
  CHECK(introduced == 1);
  CHECK(hired == 1);
  auto p1 = std::find_if(rows.begin(), rows.end(), [](const auto& r) { return r.hired; });
  CHECK(p1->companies == std::set<std::string>{"m1", "m2", "m3"});
  // m1's destinations: p1 (hired by m3) and p4 (their own report); m3's own hire is not m3's.
  CHECK(s.tally.destinations(txn, "m1").size() == 2);
  CHECK(s.tally.destinations(txn, "m3").empty());
}

TEST_CASE("forgetting a person drops their rows; counts stay") {
  Store s;
  const auto t0 = kDec1Jst + kDay;
  s.write([&](storage::WriteTxn& txn) {
    s.tally.referral_confirmed(txn, "m1", "p1", cell("B"), true, t0);
    s.tally.hired(txn, "p1", "m2", t0 + kDay);
    s.tally.set_cell(txn, "p1", std::nullopt);  // erased, or consent to statistics withdrawn
  });
  {
    auto txn = s.env.begin_read();
    CHECK(s.tally.period_rows(txn, "2026-12").empty());
    CHECK(s.tally.destinations(txn, "m1").empty());
    CHECK(s.tally.counters(txn, st::Tally::node_scope(), "2026-12").hired == 1);
  }
  // Someone who never consented has no cell and no rows: taking none away leaves the facts as
  // they are; a cell given later starts rows, and taking it away drops them again.
  const auto people = s.env.database("stats_people");
  s.write([&](storage::WriteTxn& txn) {
    s.tally.referral_confirmed(txn, "m1", "p2", std::nullopt, true, t0);
    s.tally.hired(txn, "p2", "m2", t0 + kDay);
    const auto before = txn.get(people, "p2");
    s.tally.set_cell(txn, "p2", std::nullopt);
    CHECK(txn.get(people, "p2") == before);
  });
  s.write([&](storage::WriteTxn& txn) {
    s.tally.set_cell(txn, "p2", cell("C"));
    s.tally.retained(txn, "p2", "m2", t0 + 2 * kDay);
  });
  CHECK(s.env.begin_read().get(people, "p2")->find("\"cell\":") != std::string::npos);
  CHECK(s.tally.period_rows(s.env.begin_read(), "2026-12").size() == 1);
  s.write([&](storage::WriteTxn& txn) { s.tally.set_cell(txn, "p2", std::nullopt); });
  CHECK(s.tally.period_rows(s.env.begin_read(), "2026-12").empty());
  CHECK(s.env.begin_read().get(people, "p2")->find("cell") == std::string::npos);
}

// Counters are parsed once per stored value (issue 19): a count made by a request that was
// rolled back must not be read back, and the stored form stays what it was.
TEST_CASE("tally: a rolled-back count is not read back; counters are stored as before") {
  Store s;
  const auto t0 = kDec1Jst + kDay;
  s.write([&](storage::WriteTxn& txn) {
    s.tally.referral_made(txn, "m1", true, t0);
    s.tally.member_hire(txn, "m1", true, 12, t0);
  });
  {
    auto txn = s.env.begin_write();
    s.tally.referral_made(txn, "m1", true, t0);
    CHECK(s.tally.counters(txn, st::Tally::member_scope("m1"), "2026-12").registrations == 2);
  }                              // aborted
  for (int i = 0; i < 2; ++i) {  // the second round reads what the first one cached
    auto c = s.counters(st::Tally::member_scope("m1"), "2026-12");
    CHECK(c.registrations == 1);
    CHECK(c.own_hires == 1);
    CHECK(c.days_to_hire == std::map<std::int64_t, std::uint64_t>{{12, 1}});
    CHECK(s.counters(st::Tally::node_scope(), std::string(st::kAll)).registrations == 1);
  }
  s.write([&](storage::WriteTxn& txn) { s.tally.referral_made(txn, "m1", false, t0); });
  CHECK(s.counters(st::Tally::member_scope("m1"), "2026-12").registrations == 2);
  CHECK(s.counters(st::Tally::node_scope(), "2026-12").registrations == 1);
  st::Counters c;
  c.verified = 3;
  c.days_to_hire = {{5, 2}};
  CHECK(c.stored_text() ==
        R"({"days_to_hire":{"5":2},"hired":0,"hired_elsewhere":0,"introduced":0,)"
        R"("own_hires":0,"own_introduction_hires":0,"own_retained_6m":0,"reemployed":0,)"
        R"("registrations":0,"rejections":0,"retained":0,"retained_elsewhere":0,"verified":3})");
  // Days sort as text, as the tree's keys did; every count is where dump() put it.
  c = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, {{9, 1}, {10, 2}, {100, 3}, {-1, 4}}};
  CHECK(c.stored_text() ==
        R"({"days_to_hire":{"-1":4,"10":2,"100":3,"9":1},"hired":5,"hired_elsewhere":8,)"
        R"("introduced":4,"own_hires":10,"own_introduction_hires":11,"own_retained_6m":12,)"
        R"("reemployed":7,"registrations":2,"rejections":1,"retained":6,"retained_elsewhere":9,)"
        R"("verified":3})");
  CHECK(st::Counters::from_json(nlohmann::json::parse(c.stored_text())).stored_text() ==
        c.stored_text());
}

// Every registration and confirmation moves its member's month and the node's: a Writer batch
// holds them in its txn and stores each once, when it commits (issue 19).
TEST_CASE("tally: a txn's counts are stored when it commits; a failed request's are dropped") {
  Store s;
  const auto t0 = kDec1Jst + kDay;
  const auto db = s.env.database("stats_counters");
  const auto scope = st::Tally::member_scope("m1");
  {
    auto txn = s.env.begin_write();
    s.tally.referral_made(txn, "m1", true, t0);
    s.tally.referral_made(txn, "m1", false, t0);
    s.tally.referral_made(txn, "m1", true, kDec1Jst - kDay);            // November
    CHECK_FALSE(txn.get(db, scope + "|2026-12"));                       // held, not stored yet
    CHECK(s.tally.counters(txn, scope, "2026-12").registrations == 2);  // but read back
    CHECK(s.tally.counters(txn, scope, std::string(st::kAll)).registrations == 3);
    txn.commit();
  }
  CHECK(s.counters(scope, "2026-12").registrations == 2);
  CHECK(s.counters(scope, std::string(st::kAll)).registrations == 3);
  CHECK(s.counters(st::Tally::node_scope(), std::string(st::kAll)).registrations == 2);
  {
    // A month already stored and changed again: the txn's count, not the stored one, and once.
    auto txn = s.env.begin_write();
    s.tally.referral_made(txn, "m1", false, t0);
    CHECK(s.tally.counters(txn, scope, std::string(st::kAll)).registrations == 4);
  }  // aborted
  CHECK(s.counters(scope, std::string(st::kAll)).registrations == 3);

  // One batch: the writer waits in the first request while ten more queue behind it, and one
  // of those throws after counting. The batch runs again with a child txn per request.
  std::promise<void> open;
  auto gate = open.get_future().share();
  auto first = s.writer.submit([&, gate](storage::WriteTxn& txn) {
    gate.wait();
    s.tally.referral_made(txn, "m1", false, t0);
  });
  std::vector<std::future<void>> rest;
  for (int i = 0; i < 10; ++i)
    rest.push_back(s.writer.submit([&, i](storage::WriteTxn& txn) {
      s.tally.referral_made(txn, "m1", false, t0);
      if (i == 4) throw std::runtime_error("refused after counting");
    }));
  open.set_value();
  first.get();
  for (int i = 0; i < 10; ++i) {
    if (i == 4)
      CHECK_THROWS_AS(rest[i].get(), std::runtime_error);
    else
      CHECK_NOTHROW(rest[i].get());
  }
  CHECK(s.writer.stats().batches_rerun >= 1);
  CHECK(s.counters(scope, "2026-12").registrations == 2 + 1 + 9);
}

// "all" is added up from the months when read (issue 19): an event writes its month only, and
// an "all" counter an older version kept (counted with every month) is not read twice.
TEST_CASE("tally: all is the sum of the months; a stored all counter is not added again") {
  Store s;
  const auto scope = st::Tally::member_scope("m1");
  s.write([&](storage::WriteTxn& txn) {
    s.tally.referral_made(txn, "m1", true, kDec1Jst - kDay);  // 2026-11
    s.tally.referral_made(txn, "m1", true, kDec1Jst + kDay);  // 2026-12
    s.tally.referral_made(txn, "m1", true, kDec1Jst + 2 * kDay);
    s.tally.member_hire(txn, "m1", true, 12, kDec1Jst - kDay);
    s.tally.member_hire(txn, "m1", true, 12, kDec1Jst + kDay);
    s.tally.member_hire(txn, "m1", true, 30, kDec1Jst + kDay);
    s.tally.referral_made(txn, "m10", true, kDec1Jst + kDay);  // another scope, a longer name
  });
  CHECK(s.counters(scope, "2026-11").registrations == 1);
  CHECK(s.counters(scope, "2026-12").registrations == 2);
  auto all = s.counters(scope, std::string(st::kAll));
  CHECK(all.registrations == 3);
  CHECK(all.own_hires == 3);
  CHECK(all.days_to_hire == std::map<std::int64_t, std::uint64_t>{{12, 2}, {30, 1}});
  CHECK(s.counters(st::Tally::node_scope(), std::string(st::kAll)).registrations == 4);
  {
    auto txn = s.env.begin_read();
    CHECK_FALSE(txn.get(s.env.database("stats_counters"), scope + "|all"));  // not written
  }
  // The counter an older version kept beside the months.
  s.write([&](storage::WriteTxn& txn) {
    st::Counters old;
    old.registrations = 3;
    txn.put(s.env.database("stats_counters"), scope + "|all", old.stored_text());
  });
  CHECK(s.counters(scope, std::string(st::kAll)).registrations == 3);
}

TEST_CASE("a cell below the threshold never reaches the serialised table") {
  std::vector<st::PeriodRow> rows;
  auto person = [&](st::Cell c, std::set<std::string> companies, bool hired) {
    rows.push_back({std::move(c), std::move(companies), true, hired, hired, false});
  };
  for (int i = 0; i < 12; ++i) person(cell("B"), {"m" + std::to_string(i % 4)}, i < 3);
  for (int i = 0; i < 11; ++i) person(cell("D"), {"m" + std::to_string(i % 3)}, false);
  for (int i = 0; i < 11; ++i) person(cell("E"), {"m1"}, false);             // one company
  for (int i = 0; i < 4; ++i) person(cell("K"), {"m1", "m2", "m3"}, false);  // four persons
  auto table = st::build_table("2026-12", rows, {10, 3}, kDec1Jst);
  // E and K fail; the prefecture and grand totals then have two suppressed cells each.
  REQUIRE(table.cells.size() == 2);
  CHECK(table.suppressed == 2);
  CHECK(table.cells[0].job_category == "B");
  CHECK(table.cells[0].registrations == 12);
  CHECK(table.cells[0].hires == 3);
  CHECK(table.cells[1].job_category == "D");
  auto messages = st::to_messages(table);
  REQUIRE(messages.size() == 1);
  const auto bytes = relay::protocol::canonical_dump(messages[0].to_json());
  CHECK(bytes.find("\"job_category\":\"B\"") != std::string::npos);
  CHECK(bytes.find("\"job_category\":\"E\"") == std::string::npos);
  CHECK(bytes.find("\"job_category\":\"K\"") == std::string::npos);
  // The bytes parse back strictly to the same table.
  auto parsed = relay::protocol::StatisticsTable::parse(nlohmann::json::parse(bytes));
  REQUIRE(parsed);
  CHECK(parsed->cells == table.cells);
}

TEST_CASE("statistics.table parses strictly") {
  using relay::protocol::StatisticsTable;
  nlohmann::json good = {{"period", "2026-12"},
                         {"generated_ms", 1},
                         {"part", 0},
                         {"parts", 1},
                         {"cells",
                          {{{"job_category", "B"},
                            {"prefecture", "JP-28"},
                            {"age_band", "-24"},
                            {"experience_band", "0"},
                            {"registrations", 10},
                            {"introductions", 2},
                            {"hires", 1},
                            {"retained_6m", 0}}}}};
  CHECK(StatisticsTable::parse(good));
  auto bad = [&](auto edit) {
    auto j = good;
    edit(j);
    return !StatisticsTable::parse(j);
  };
  CHECK(bad([](auto& j) { j["extra"] = 1; }));
  CHECK(bad([](auto& j) { j["period"] = "2026-13"; }));
  CHECK(bad([](auto& j) { j["part"] = 1; }));
  CHECK(bad([](auto& j) { j["cells"][0]["hires"] = -1; }));
  CHECK(bad([](auto& j) { j["cells"][0]["hires"] = "1"; }));
  CHECK(bad([](auto& j) { j["cells"][0]["name"] = "x"; }));
  CHECK(bad([](auto& j) { j["cells"][0].erase("retained_6m"); }));
  CHECK(bad([](auto& j) { j["cells"][0]["job_category"] = ""; }));
}

TEST_CASE("peers' tables: parts, newest wins, consortium sums released cells") {
  Store s;
  using relay::protocol::StatisticsTable;
  const auto& [b, d] = kPeerCells;
  s.write([&](storage::WriteTxn& txn) {
    CHECK(s.tables.receive(txn, "osaka", {"2026-12", 5, 0, 2, {b}}, 100));
    CHECK(s.tables.receive(txn, "osaka", {"2026-12", 5, 1, 2, {d}}, 101));
    CHECK_FALSE(s.tables.receive(txn, "osaka", {"2026-12", 4, 0, 1, {}}, 102));  // older
  });
  {
    auto txn = s.env.begin_read();
    auto peers = s.tables.peers(txn, "2026-12");
    REQUIRE(peers.size() == 1);
    CHECK(peers[0].peer == "osaka");
    CHECK(peers[0].cells.size() == 2);
    auto sum = st::combine({b}, peers);
    REQUIRE(sum.size() == 2);
    CHECK(sum[0].registrations == 20);
    CHECK(sum[1].registrations == 11);
  }
  // A newer table, half arrived: the complete older one stays in view.
  s.write([&](storage::WriteTxn& txn) {
    CHECK(s.tables.receive(txn, "osaka", {"2026-12", 9, 0, 2, {b}}, 200));
  });
  auto txn = s.env.begin_read();
  CHECK(s.tables.peers(txn, "2026-12").at(0).generated_ms == 5);
  CHECK(s.tables.peers(txn, "2026-11").empty());
}

// Each part is stored on its own and the table put together once: a table of kMaxParts parts
// kept in one record was reparsed and rewritten with every part, in the Writer.
TEST_CASE("peers' tables: a table of the most parts, in any order, once each") {
  Store s;
  using relay::protocol::StatisticsTable;
  constexpr std::int64_t kParts = StatisticsTable::kMaxParts;
  auto part_of = [](std::int64_t generated, std::int64_t part) {
    StatisticsTable t{"2026-12", generated, part, kParts, {}};
    for (std::size_t i = 0; i < 3; ++i)
      t.cells.push_back({"C" + std::to_string(part), "JP-" + std::to_string(10 + i), "25-34", "3-5",
                         static_cast<std::uint64_t>(part * 3 + i), 0, 0, 0});
    return t;
  };
  std::vector<std::int64_t> order(kParts);
  for (std::int64_t i = 0; i < kParts; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(19));
  auto stored_keys = [&] {
    auto txn = s.env.begin_read();
    std::size_t n = 0;
    txn.for_each_prefix(s.env.database("stats_tables"), "part/",
                        [&](std::string_view, std::string_view) { ++n; });
    return n;
  };
  s.write([&](storage::WriteTxn& txn) {
    for (std::int64_t i = 0; i + 1 < kParts; ++i)
      CHECK(s.tables.receive(txn, "osaka", part_of(7, order[i]), 100));
    CHECK(s.tables.receive(txn, "osaka", part_of(7, order[0]), 100));  // again: counted once
  });
  {
    auto txn = s.env.begin_read();
    CHECK(s.tables.peers(txn, "2026-12").empty());
  }
  CHECK(stored_keys() == kParts - 1);
  s.write([&](storage::WriteTxn& txn) {
    CHECK(s.tables.receive(txn, "osaka", part_of(7, order.back()), 300));
    CHECK_FALSE(s.tables.receive(txn, "osaka", part_of(7, 5), 301));  // already complete
  });
  auto txn = s.env.begin_read();
  auto peers = s.tables.peers(txn, "2026-12");
  REQUIRE(peers.size() == 1);
  CHECK(peers[0].generated_ms == 7);
  CHECK(peers[0].received_ms == 300);
  REQUIRE(peers[0].cells.size() == kParts * 3);
  for (std::size_t i = 0; i < peers[0].cells.size(); ++i) {  // in the order of the parts
    CHECK(peers[0].cells[i].job_category == "C" + std::to_string(i / 3));
    CHECK(peers[0].cells[i].registrations == i);
  }
  CHECK(stored_keys() == 0);  // the parts are dropped once the table is whole
}

TEST_CASE("peers' tables: a newer table in other parts replaces the pending one") {
  Store s;
  using relay::protocol::StatisticsTable;
  const auto& [b, d] = kPeerCells;
  s.write([&](storage::WriteTxn& txn) {
    CHECK(s.tables.receive(txn, "osaka", {"2026-12", 5, 0, 3, {b}}, 100));
    CHECK(s.tables.receive(txn, "osaka", {"2026-12", 5, 1, 3, {b}}, 100));
    CHECK(s.tables.receive(txn, "osaka", {"2026-12", 6, 1, 2, {d}}, 101));        // newer, 2 parts
    CHECK_FALSE(s.tables.receive(txn, "osaka", {"2026-12", 5, 2, 3, {b}}, 102));  // older
    CHECK(s.tables.receive(txn, "osaka", {"2026-12", 6, 0, 2, {}}, 103));
  });
  auto txn = s.env.begin_read();
  auto peers = s.tables.peers(txn, "2026-12");
  REQUIRE(peers.size() == 1);
  CHECK(peers[0].generated_ms == 6);
  REQUIRE(peers[0].cells.size() == 1);  // the empty part adds nothing, the older parts are gone
  CHECK(peers[0].cells[0].job_category == "D");
}

// Data directories written before parts had keys of their own hold both generations in the
// peer's record.
TEST_CASE("peers' tables: a record of the earlier format goes on where it was") {
  Store s;
  using relay::protocol::StatisticsTable;
  const auto& [b, d] = kPeerCells;
  auto cells = [](const StatisticsTable::Cell& c) {
    return nlohmann::json::array({StatisticsTable::cell_json(c)});
  };
  nlohmann::json old{
      {"complete", {{"generated_ms", 5}, {"received_ms", 50}, {"cells", cells(b)}}},
      {"pending",
       {{"generated_ms", 8}, {"parts", 3}, {"chunks", {{"0", cells(d)}, {"2", cells(b)}}}}}};
  s.write([&](storage::WriteTxn& txn) {
    txn.put(s.env.database("stats_tables"), "peer/2026-12/osaka", old.dump());
  });
  {
    auto txn = s.env.begin_read();
    auto peers = s.tables.peers(txn, "2026-12");
    REQUIRE(peers.size() == 1);
    CHECK(peers[0].generated_ms == 5);
  }
  s.write([&](storage::WriteTxn& txn) {
    CHECK_FALSE(s.tables.receive(txn, "osaka", {"2026-12", 5, 0, 1, {d}}, 60));  // held
    CHECK(s.tables.receive(txn, "osaka", {"2026-12", 8, 1, 3, {d}}, 90));        // the missing part
  });
  auto txn = s.env.begin_read();
  auto peers = s.tables.peers(txn, "2026-12");
  REQUIRE(peers.size() == 1);
  CHECK(peers[0].generated_ms == 8);
  CHECK(peers[0].received_ms == 90);
  REQUIRE(peers[0].cells.size() == 3);
  CHECK(peers[0].cells[0].job_category == "D");
  CHECK(peers[0].cells[1].job_category == "D");
  CHECK(peers[0].cells[2].job_category == "B");
}

TEST_CASE("CSV: BOM, header of field names, quoting, nulls, formula guard") {
  nlohmann::json rows = {
      {{"job_category", "営業, \"法人\""}, {"prefecture", "JP-28"}, {"count", 12}},
      {{"job_category", "=cmd()"}, {"prefecture", nullptr}, {"count", 0.25}},
      {{"job_category", "-24"}, {"count", 1}}};
  auto csv = relay::node::api::to_csv(rows, {"job_category", "prefecture", "count"});
  CHECK(csv ==
        "\xEF\xBB\xBFjob_category,prefecture,count\r\n"
        "\"営業, \"\"法人\"\"\",JP-28,12\r\n"
        "'=cmd(),,0.25\r\n"
        "-24,,1\r\n");
}

TEST_SUITE_END();
