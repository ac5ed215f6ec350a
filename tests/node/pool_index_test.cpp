// node/federation/pool_index: the in-memory pool index answers every search as search_pool()
// (which reads and opens every record) does, after each kind of change, on two nodes'
// federation parts over loopback (real envelopes, real LMDB, real key slots).
#include "node/federation/pool_index.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "node/federation/pool_search.hpp"
#include "node/storage/map_budget.hpp"
#include "node/storage/writer.hpp"
#include "support/federation_site.hpp"

using relay::test::FederationSite;
namespace fed = relay::node::federation;
namespace st = relay::node::storage;
namespace cand = relay::node::candidates;

namespace {

// n candidates, in the regional pool only: "<name> <i>", "<tag><i>@example.jp".
void add_candidates(FederationSite& site, int n, const std::string& name, const std::string& tag) {
  for (int i = 0; i < n; ++i)
    site.add_candidate(name + " " + std::to_string(i), tag + std::to_string(i) + "@example.jp",
                       false);
}

// Hits as sorted lines: the index lists in its own order, search_pool in key order.
std::vector<std::string> lines(const fed::PoolResult& r) {
  std::vector<std::string> out;
  for (const auto& h : r.hits) out.push_back(h.to_json().dump());
  std::sort(out.begin(), out.end());
  return out;
}

// The reply as the route built it before search_json(): a JSON tree, dumped.
nlohmann::json tree(const fed::PoolResult& r) {
  auto hits = nlohmann::json::array();
  for (const auto& h : r.hits) hits.push_back(h.to_json());
  return {{"profiles", hits}, {"truncated", r.truncated}};
}

fed::PoolResult scanned(FederationSite& site, const fed::PoolQuery& query) {
  auto txn = site.env.begin_read();
  return fed::search_pool(txn, site.profiles, site.store, site.name(), "JP-28", query, 100000);
}

// The index and the full scan agree on this query, and on a few others.
void agree(FederationSite& site, fed::PoolIndex& index, std::size_t expected_all) {
  std::vector<fed::PoolQuery> queries = {
      {},
      {.job_category = "B"},
      {.job_category = "C", .prefecture = "JP-28"},
      {.skill = "lmdb"},
      {.skill = "rust"},  // only profiles past the inline three have it
      {.job_category = "B", .skill = "c++", .age_band = "25-34", .experience_band = "3-5"},
      {.prefecture = "JP-27"},
      {.job_category = "Z"},  // no profile has it
  };
  for (const auto& q : queries) {
    auto indexed = index.search(q, 100000);
    CHECK(lines(indexed) == lines(scanned(site, q)));
    CHECK(index.search_json(q, 100000) == tree(indexed).dump());
    CHECK_FALSE(indexed.truncated);
  }
  CHECK(index.search({}, 100000).hits.size() == expected_all);
  std::size_t visited = 0;
  index.for_each([&](const fed::PoolProfileView&) { return ++visited, true; });
  CHECK(visited == expected_all);
}

void set_region_consent(FederationSite& site, const std::string& id, bool region) {
  site.writer.submit_wait([&](st::WriteTxn& txn) {
    auto r = site.store.find(txn, id);
    r->consent.region = region;
    site.store.save(txn, *r);
  });
}

}  // namespace

TEST_SUITE_BEGIN("pool index");

TEST_CASE("pool index: every search agrees with the full scan, through every kind of change") {
  FederationSite a("kobe.example", "JP-28");
  FederationSite b("osaka.example", "JP-27");
  std::vector<cand::CandidateRecord> local;
  // Some profiles have more skills than the index keeps inside an entry (three).
  const std::vector<std::string> many = {"c++", "go", "sql", "rust", "lmdb"};
  const std::vector<std::string> two = {"c++", "lmdb"};
  for (int i = 0; i < 30; ++i)
    local.push_back(a.add_candidate("候補者 " + std::to_string(i),
                                    "p" + std::to_string(i) + "@example.jp", true,
                                    i % 3 ? "B" : "C", i % 5 == 1 ? many : two));
  for (int i = 0; i < 12; ++i)
    b.add_candidate("大阪 " + std::to_string(i), "o" + std::to_string(i) + "@example.jp",
                    i % 4 != 0, i % 2 ? "B" : "D", i % 3 == 0 ? many : two);
  a.peer_with(b);
  b.peer_with(a);
  a.deliver();
  b.deliver();

  // Built from what is stored: a's 30, and the 9 b circulates.
  fed::PoolIndex index(a.federation, a.store, a.profiles, "kobe.example", "JP-28");
  index.build();
  CHECK(index.size() == 39);
  CHECK(index.search({.skill = "rust"}, 100).hits.size() == 6 + 3);  // a's i%5==1, b's listed
  agree(a, index, 39);

  // New local candidates and a narrowed region consent, seen by the next search.
  auto added = a.add_candidate("新人", "new@example.jp", false, "C");
  set_region_consent(a, local[0].id, false);
  agree(a, index, 39);
  set_region_consent(a, local[0].id, true);
  agree(a, index, 40);

  // A candidate who changes job category moves from one category's search to the other's.
  const auto b_before = index.search({.job_category = "B"}, 100000).hits.size();
  const auto c_before = index.search({.job_category = "C"}, 100000).hits.size();
  a.writer.submit_wait([&](st::WriteTxn& txn) {
    auto r = a.store.find(txn, local[3].id);  // i = 3: "C"
    auto opened = a.store.open(*r);
    REQUIRE(opened);
    REQUIRE(opened->profile.job_category == "C");
    opened->profile.job_category = "B";
    a.store.update_data(txn, *r, opened->personal, opened->profile);
  });
  agree(a, index, 40);
  CHECK(index.search({.job_category = "B"}, 100000).hits.size() == b_before + 1);
  CHECK(index.search({.job_category = "C"}, 100000).hits.size() == c_before - 1);

  // Erased: gone from the index at once.
  a.writer.submit_wait([&](st::WriteTxn& txn) {
    auto r = a.store.find(txn, local[1].id);
    (void)a.store.erase(txn, *r);
  });
  agree(a, index, 39);

  // A peer's candidate stops circulating (profile.withdraw), another starts.
  b.add_candidate("大阪 追加", "o-new@example.jp", true, "B");
  std::string circulating;
  {
    auto txn = b.env.begin_read();
    b.store.for_each(txn, [&](const cand::CandidateRecord& r) {
      if (r.consent.peers) circulating = r.id;
      return circulating.empty();
    });
  }
  REQUIRE_FALSE(circulating.empty());
  b.set_peers_consent(circulating, false);
  b.deliver();
  agree(a, index, 39);

  // A suspended peer's profiles are not listed (still held), and are again once it is back.
  a.writer.submit_wait(
      [&](st::WriteTxn& txn) { a.federation.peers().set_active(txn, "osaka.example", false); });
  agree(a, index, 30);
  a.writer.submit_wait(
      [&](st::WriteTxn& txn) { a.federation.peers().set_active(txn, "osaka.example", true); });
  agree(a, index, 39);

  // A write that is rolled back changes nothing.
  a.writer.submit_wait([&](st::WriteTxn& txn) {
    auto r = a.store.find(txn, local[2].id);
    r->consent.region = false;
    a.store.save(txn, *r);
    throw st::Rollback<void>{};
  });
  agree(a, index, 39);

  // Out of the pool; then it joins, and leaves again in a request rolled back, both before
  // the next search: listed. (A save that leaves a record outside the pool is read again only
  // if the index holds it, or, as here, a save since the last search pooled it.)
  set_region_consent(a, added.id, false);
  agree(a, index, 38);
  set_region_consent(a, added.id, true);
  a.writer.submit_wait([&](st::WriteTxn& txn) {
    auto r = a.store.find(txn, added.id);
    r->consent.region = false;
    a.store.save(txn, *r);
    throw st::Rollback<void>{};
  });
  agree(a, index, 39);

  // The limit: truncated as search_pool is.
  auto capped = index.search({}, 5);
  CHECK(capped.hits.size() == 5);
  CHECK(capped.truncated);
  CHECK(index.search_json({}, 5) == tree(capped).dump());
  CHECK(index.search_json({.job_category = "Z"}, 5) == R"({"profiles":[],"truncated":false})");
  // Local first.
  CHECK(index.search({}, 100000).hits.front().node == "kobe.example");

  // Pages: offset skips that many matches; the pages, in turn, are the whole search.
  const auto all = index.search({}, 100000).hits;
  REQUIRE(all.size() > 10);
  std::vector<std::string> paged;
  for (std::size_t offset = 0;; offset += 7) {
    auto page = index.search({}, 7, offset);
    CHECK(index.search_json({}, 7, offset) == tree(page).dump());
    for (const auto& hit : page.hits) paged.push_back(hit.node + "/" + hit.ref);
    CHECK(page.truncated == (offset + 7 < all.size()));
    if (!page.truncated) break;
  }
  REQUIRE(paged.size() == all.size());
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(paged[i] == all[i].node + "/" + all[i].ref);
  CHECK(index.search({}, 5, all.size()).hits.empty());
  CHECK_FALSE(index.search({}, 5, all.size()).truncated);
  CHECK(index.search_json({}, 5, all.size() + 100) == R"({"profiles":[],"truncated":false})");
}

TEST_CASE("pool index: built on its own thread while candidates keep registering") {
  FederationSite a("kobe.example", "JP-28");
  add_candidates(a, 200, "候補者", "q");
  fed::PoolIndex index(a.federation, a.store, a.profiles, "kobe.example", "JP-28");
  index.start();
  add_candidates(a, 50, "後から", "r");
  // The first search waits for the build, then sees every write acknowledged before it.
  CHECK(index.search({}, 100000).hits.size() == 250);
  agree(a, index, 250);
}

TEST_CASE("pool index: a stopped index starts no build") {
  // The node stops the index first when it stops: a build under way ends at its next record,
  // and none starts after, so stopping during the start-up build does not read every
  // candidate first.
  FederationSite a("kobe.example", "JP-28");
  add_candidates(a, 20, "候補者", "s");
  fed::PoolIndex index(a.federation, a.store, a.profiles, "kobe.example", "JP-28");
  index.stop();
  index.start();  // after stop(): no thread starts
  index.build();
  CHECK(index.size() == 0);
  CHECK(index.search({}, 100).hits.empty());
  index.stop();  // idempotent

  fed::PoolIndex running(a.federation, a.store, a.profiles, "kobe.example", "JP-28");
  running.start();
  CHECK(running.search({}, 100).hits.size() == 20);
  running.stop();
  CHECK(running.size() == 20);  // what was built stays searchable until the node is gone
}

TEST_CASE("pool index: the build leaves none of the records' pages mapped") {
  // The build reads every record once, at start: the pages it mapped stayed mapped, and
  // counted in VmRSS, for the life of the process (1.1 GiB at 200k candidates).
  FederationSite a("kobe.example", "JP-28");
  constexpr int kRecords = 2500;
  a.writer.submit_wait([&](st::WriteTxn& txn) {
    for (int i = 0; i < kRecords; ++i) {
      cand::Registration reg;
      const auto email = "m" + std::to_string(i) + "@example.jp";
      reg.personal = {"候補者 " + std::to_string(i), email, "078-555-0100"};
      reg.profile = {"B", {"c++", "lmdb"}, "JP-28", "25-34", "3-5", {"backend engineer"}};
      reg.consent = {true, false, false, "test-1", a.clock.now_ms()};
      auto r = a.store.create(txn, reg, a.store.pseudonym_of(email));
      r.status = cand::Status::active;
      a.store.save(txn, r);
      a.profiles.candidate_changed(txn, r);
    }
  });
  auto resident = [] {
    auto bytes = st::resident_bytes();
    REQUIRE(bytes);
    return bytes->file;
  };
  a.env.release_mapped_pages();
  const auto before = resident();
  {
    auto txn = a.env.begin_read();
    int n = 0;
    a.store.for_each(txn, [&](const cand::CandidateRecord&) { return ++n, true; });
    CHECK(n == kRecords);
  }
  const auto scanned = resident() - before;
  REQUIRE(scanned > (4u << 20));  // a scan of the records maps their pages
  a.env.release_mapped_pages();
  const auto released = resident();
  fed::PoolIndex index(a.federation, a.store, a.profiles, "kobe.example", "JP-28");
  index.build();
  CHECK(index.size() == kRecords);
  CHECK(resident() < released + scanned / 4);  // the build's are released
}

TEST_CASE("pool index: a save that passes on its opened profile spares opening the record") {
  // A confirmation opens the record to mail its management link and passes the profile on
  // with its save (Store::save's `opened`); the index lists the record from it. What a
  // request rolled back carried was never committed: that record is opened.
  FederationSite a("kobe.example", "JP-28");
  auto c = a.add_candidate("神戸 一郎", "ichiro@example.jp", false, "C");
  add_candidates(a, 3, "候補者", "t");
  fed::PoolIndex index(a.federation, a.store, a.profiles, "kobe.example", "JP-28");
  index.build();
  CHECK(index.records_opened() == 4);
  agree(a, index, 4);

  // Out of the pool: dropped without opening it.
  set_region_consent(a, c.id, false);
  agree(a, index, 3);
  CHECK(index.records_opened() == 4);

  // Back in, saved with the profile its caller opened: listed as it is, still not opened.
  a.writer.submit_wait([&](st::WriteTxn& txn) {
    auto r = a.store.find(txn, c.id);
    auto opened = a.store.open(*r);
    REQUIRE(opened);
    r->consent.region = true;
    a.store.save(txn, *r, &opened->profile);
  });
  agree(a, index, 4);
  CHECK(index.records_opened() == 4);

  // Its profile edited (update_data passes on the profile it sealed): moved, not opened.
  auto edit = [&](const std::string& category, bool roll_back) {
    a.writer.submit_wait([&](st::WriteTxn& txn) {
      auto r = a.store.find(txn, c.id);
      auto opened = a.store.open(*r);
      REQUIRE(opened);
      opened->profile.job_category = category;
      a.store.update_data(txn, *r, opened->personal, opened->profile);
      if (roll_back) throw st::Rollback<void>{};
    });
  };
  edit("D", false);
  agree(a, index, 4);
  CHECK(index.search({.job_category = "D"}, 10).hits.size() == 1);
  CHECK(index.records_opened() == 4);

  // An edit rolled back carried "E" with sealed data that was never committed: the record is
  // opened, and stays in "D".
  edit("E", true);
  agree(a, index, 4);
  CHECK(index.search({.job_category = "E"}, 10).hits.empty());
  CHECK(index.search({.job_category = "D"}, 10).hits.size() == 1);
  CHECK(index.records_opened() == 5);

  // Saved without a profile: opened, as before.
  set_region_consent(a, c.id, true);
  agree(a, index, 4);
  CHECK(index.records_opened() == 6);
}

TEST_CASE("pool index: holds the five anonymised fields and refs only") {
  FederationSite a("kobe.example", "JP-28");
  auto c = a.add_candidate("山田 花子", "hanako@example.jp", true);
  fed::PoolIndex index(a.federation, a.store, a.profiles, "kobe.example", "JP-28");
  index.build();
  auto hits = index.search({}, 10).hits;
  REQUIRE(hits.size() == 1);
  auto text = hits[0].to_json().dump();
  CHECK(text.find("hanako") == std::string::npos);
  CHECK(text.find("山田") == std::string::npos);
  CHECK(text.find(c.id) == std::string::npos);
  CHECK(hits[0].ref == a.profiles.ref_of(c.id));
  CHECK(hits[0].profile.to_json() == nlohmann::json{{"job_category", "B"},
                                                    {"skills", {"c++", "lmdb"}},
                                                    {"prefecture", "JP-28"},
                                                    {"age_band", "25-34"},
                                                    {"experience_band", "3-5"}});
}

TEST_SUITE_END();
