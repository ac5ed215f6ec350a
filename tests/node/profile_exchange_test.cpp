// node/federation/profile_exchange and pool_search: anonymised profiles between two nodes'
// federation parts over loopback (real envelopes, real LMDB), and the receiver's ordering
// rules with hand-made envelopes.
#include <doctest/doctest.h>

#include <string>

#include "node/federation/pool_search.hpp"
#include "support/federation_site.hpp"

using relay::test::FederationSite;
namespace fed = relay::node::federation;
namespace st = relay::node::storage;

namespace {

std::vector<fed::PoolEntry> pool_of(FederationSite& site) {
  auto txn = site.env.begin_read();
  return site.profiles.peer_pool(txn);
}

std::size_t count_type(FederationSite& site, const std::string& type) {
  std::size_t n = 0;
  for (const auto& e : site.outbox()) n += e.type == type;
  return n;
}

nlohmann::json profile(const std::string& category = "B") {
  return {{"job_category", category},
          {"skills", {"c++"}},
          {"prefecture", "JP-27"},
          {"age_band", "25-34"},
          {"experience_band", "3-5"}};
}

nlohmann::json upsert(const std::string& ref, std::int64_t seq, const std::string& category = "B") {
  return {{"ref", ref}, {"region", "JP-27"}, {"profile", profile(category)}, {"seq", seq}};
}

bool holds(FederationSite& site, const std::string& peer, const std::string& ref) {
  auto txn = site.env.begin_read();
  return site.profiles.pool_entry(txn, peer, ref).has_value();
}

const std::string r1 = "p_000000000000000000000001";
const std::string r2 = "p_000000000000000000000002";
const std::string r3 = "p_000000000000000000000003";
const std::string r9 = "p_000000000000000000000009";

}  // namespace

TEST_SUITE_BEGIN("profile exchange");

TEST_CASE("profiles: refs are stable per candidate and differ between nodes") {
  FederationSite a("kobe.example", "JP-28");
  FederationSite b("osaka.example", "JP-27");
  auto ref = a.profiles.ref_of("c_abc");
  CHECK(ref == a.profiles.ref_of("c_abc"));
  CHECK(ref.size() == 26);
  CHECK(fed::valid_ref(ref));
  CHECK(ref != a.profiles.ref_of("c_abd"));
  CHECK(ref != b.profiles.ref_of("c_abc"));
  CHECK_FALSE(fed::valid_ref("p_00000000000000000000000G"));
  CHECK_FALSE(fed::valid_ref("x_000000000000000000000000"));
}

TEST_CASE(
    "profiles: a circulating candidate reaches the peer's pool, anonymised; narrowing withdraws "
    "it") {
  FederationSite a("kobe.example", "JP-28");
  FederationSite b("osaka.example", "JP-27");
  a.peer_with(b);
  b.peer_with(a);
  a.deliver();
  b.deliver();  // the empty syncs

  auto c = a.add_candidate("山田 花子", "hanako@example.jp", true);
  auto local_only = a.add_candidate("佐藤 一郎", "ichiro@example.jp", false);
  CHECK(count_type(a, "profile.upsert") == 1);
  a.deliver();
  auto pool = pool_of(b);
  REQUIRE(pool.size() == 1);
  CHECK(pool[0].peer == "kobe.example");
  CHECK(pool[0].region == "JP-28");
  CHECK(pool[0].ref == a.profiles.ref_of(c.id));
  CHECK(pool[0].profile == nlohmann::json{{"job_category", "B"},
                                          {"skills", {"c++", "lmdb"}},
                                          {"prefecture", "JP-28"},
                                          {"age_band", "25-34"},
                                          {"experience_band", "3-5"}});
  CHECK(pool[0].profile.dump().find("hanako") == std::string::npos);
  CHECK_FALSE(holds(b, "kobe.example", a.profiles.ref_of(local_only.id)));

  // Nothing changed for peers: nothing is sent again.
  a.writer.submit_wait(
      [&](st::WriteTxn& txn) { a.profiles.candidate_changed(txn, *a.store.find(txn, c.id)); });
  CHECK(a.outbox().empty());

  // Narrowed before a queued upsert left: the upsert is dropped, the withdrawal goes.
  auto d = a.add_candidate("田中 次郎", "jiro@example.jp", true);
  CHECK(count_type(a, "profile.upsert") == 1);
  a.set_peers_consent(d.id, false);
  CHECK(count_type(a, "profile.upsert") == 0);
  CHECK(count_type(a, "profile.withdraw") == 1);
  a.set_peers_consent(c.id, false);
  a.deliver();
  CHECK(pool_of(b).empty());
  CHECK(a.outbox().empty());

  // Circulating again: back in the pool under the same ref.
  a.set_peers_consent(c.id, true);
  a.deliver();
  REQUIRE(pool_of(b).size() == 1);
  CHECK(pool_of(b)[0].ref == a.profiles.ref_of(c.id));
}

TEST_CASE("profiles: out-of-order messages never resurrect a withdrawn profile") {
  FederationSite a("kobe.example", "JP-28");
  FederationSite b("osaka.example", "JP-27");
  b.peer_with(a);
  a.peer_with(b);

  CHECK(a.send(b, "profile.upsert", upsert(r1, 5)).status == 200);
  CHECK(holds(b, "kobe.example", r1));
  auto stale = a.send(b, "profile.withdraw", {{"ref", r1}, {"seq", 3}});
  CHECK(stale.status == 200);
  CHECK(holds(b, "kobe.example", r1));
  CHECK(a.send(b, "profile.withdraw", {{"ref", r1}, {"seq", 7}}).status == 200);
  CHECK_FALSE(holds(b, "kobe.example", r1));
  CHECK(a.send(b, "profile.upsert", upsert(r1, 6)).status == 200);  // older than the withdrawal
  CHECK_FALSE(holds(b, "kobe.example", r1));
  CHECK(a.send(b, "profile.upsert", upsert(r1, 8)).status == 200);
  CHECK(holds(b, "kobe.example", r1));
}

TEST_CASE("profiles: a sync replaces the sender's set once every part has arrived, in any order") {
  FederationSite a("kobe.example", "JP-28");
  FederationSite b("osaka.example", "JP-27");
  b.peer_with(a);
  a.peer_with(b);
  for (auto [ref, seq] : {std::pair{r1, 1}, {r2, 2}, {r9, 20}})
    a.send(b, "profile.upsert", upsert(ref, seq));
  auto item = [](const std::string& ref) {
    return nlohmann::json{{"ref", ref}, {"region", "JP-28"}, {"profile", profile()}};
  };
  // Part 1 of 2 first: applied, but nothing is removed yet.
  auto part1 = a.send(
      b, "profiles.sync",
      {{"seq", 10}, {"part", 1}, {"parts", 2}, {"profiles", nlohmann::json::array({item(r3)})}});
  CHECK(part1.status == 200);
  CHECK(holds(b, "kobe.example", r2));
  CHECK(holds(b, "kobe.example", r3));
  auto part0 = a.send(
      b, "profiles.sync",
      {{"seq", 10}, {"part", 0}, {"parts", 2}, {"profiles", nlohmann::json::array({item(r1)})}});
  CHECK(part0.status == 200);
  CHECK(holds(b, "kobe.example", r1));
  CHECK_FALSE(holds(b, "kobe.example", r2));  // not in the set
  CHECK(holds(b, "kobe.example", r3));
  CHECK(holds(b, "kobe.example", r9));  // newer than the sync
  // A late upsert older than the completed sync is ignored.
  a.send(b, "profile.upsert", upsert(r2, 4));
  CHECK_FALSE(holds(b, "kobe.example", r2));
  // Suspending the peer hides its profiles from the pool.
  b.writer.submit_wait(
      [&](st::WriteTxn& txn) { b.federation.peers().set_active(txn, "kobe.example", false); });
  CHECK(pool_of(b).empty());
}

TEST_CASE("profiles: malformed bodies are refused and change nothing") {
  FederationSite a("kobe.example", "JP-28");
  FederationSite b("osaka.example", "JP-27");
  b.peer_with(a);
  a.peer_with(b);
  auto with_name = upsert(r1, 1);
  with_name["profile"]["name"] = "山田 花子";
  CHECK(a.send(b, "profile.upsert", with_name).status == 400);
  auto bad_ref = upsert("p_xyz", 1);
  CHECK(a.send(b, "profile.upsert", bad_ref).status == 400);
  auto extra = upsert(r1, 1);
  extra["email"] = "x@example.jp";
  CHECK(a.send(b, "profile.upsert", extra).status == 400);
  CHECK(a.send(b, "profile.withdraw", {{"ref", r1}, {"seq", -1}}).status == 400);
  CHECK(a.send(b, "profiles.sync",
               {{"seq", 1}, {"part", 2}, {"parts", 2}, {"profiles", nlohmann::json::array()}})
            .status == 400);
  CHECK(pool_of(b).empty());
}

TEST_CASE(
    "profiles: a new peer gets the full set in parts; the pool search finds local and peer "
    "profiles") {
  FederationSite a("kobe.example", "JP-28");
  FederationSite b("osaka.example", "JP-27");
  std::size_t circulating = fed::kSyncPartSize + 20;
  for (std::size_t i = 0; i < circulating; ++i)
    a.add_candidate("候補者 " + std::to_string(i), "p" + std::to_string(i) + "@example.jp", true,
                    i % 2 ? "B" : "C");
  a.add_candidate("地域のみ", "local@example.jp", false, "D");
  b.add_candidate("大阪 太郎", "taro@example.jp", true, "B");
  a.peer_with(b);
  b.peer_with(a);
  CHECK(count_type(a, "profiles.sync") == 2);
  a.deliver();
  b.deliver();
  CHECK(pool_of(b).size() == circulating);
  CHECK(pool_of(a).size() == 1);

  auto txn = a.env.begin_read();
  fed::PoolQuery all;
  auto everything = fed::search_pool(txn, a.profiles, a.store, "kobe.example", "JP-28", all, 1000);
  CHECK(everything.hits.size() == circulating + 2);  // a's own (region consent) and b's
  fed::PoolQuery category_d{.job_category = "D"};
  auto d = fed::search_pool(txn, a.profiles, a.store, "kobe.example", "JP-28", category_d, 1000);
  REQUIRE(d.hits.size() == 1);
  CHECK(d.hits[0].node == "kobe.example");
  CHECK(d.hits[0].to_json().dump().find("local@") == std::string::npos);
  fed::PoolQuery from_osaka{.job_category = "B", .skill = "lmdb", .age_band = "25-34"};
  auto osaka =
      fed::search_pool(txn, a.profiles, a.store, "kobe.example", "JP-28", from_osaka, 1000);
  std::size_t peers = 0;
  for (const auto& h : osaka.hits) peers += h.node == "osaka.example";
  CHECK(peers == 1);
  auto capped = fed::search_pool(txn, a.profiles, a.store, "kobe.example", "JP-28", all, 5);
  CHECK(capped.hits.size() == 5);
  CHECK(capped.truncated);
}
