// node/federation/outbox_feed: messages for every peer stored once, read through a cursor per
// peer. Real nodes' federation parts over loopback (real envelopes, real LMDB), and the
// cursor's rules driven by hand.
#include <doctest/doctest.h>

#include <string>

#include "support/federation_site.hpp"

using relay::test::FederationSite;
namespace fed = relay::node::federation;
namespace st = relay::node::storage;

namespace {

// The feed's stored messages (not one per peer).
std::size_t stored_messages(FederationSite& site) {
  auto txn = site.env.begin_read();
  return txn.for_each_prefix(site.env.database("outbox_feed"), "e/",
                             [](std::string_view, std::string_view) {});
}

std::vector<fed::OutboxEntry> entries_to(FederationSite& site, const std::string& peer) {
  std::vector<fed::OutboxEntry> out;
  for (auto& e : site.outbox())
    if (e.peer == peer) out.push_back(std::move(e));
  return out;
}

bool holds(FederationSite& site, const std::string& peer, const std::string& ref) {
  auto txn = site.env.begin_read();
  return site.profiles.pool_entry(txn, peer, ref).has_value();
}

std::size_t compact(FederationSite& site) {
  return site.writer.submit_wait(
      [&](st::WriteTxn& txn) { return site.federation.compact_feed(txn); });
}

void set_active(FederationSite& site, const std::string& peer, bool active) {
  site.writer.submit_wait([&](st::WriteTxn& txn) {
    site.federation.peers().set_active(txn, peer, active);
    site.federation.outbox().due_now(txn, peer);  // as peering does
  });
}

// a.example with peers b.example and c.example, each peering back; the empty syncs delivered.
struct Mesh {
  FederationSite a{"a.example", "JP-28"};
  FederationSite b{"b.example", "JP-27"};
  FederationSite c{"c.example", "JP-26"};
  Mesh() {
    a.peer_with(b);
    a.peer_with(c);
    b.peer_with(a);
    c.peer_with(a);
    a.deliver();
  }
};

}  // namespace

TEST_SUITE_BEGIN("outbox feed");

TEST_CASE("feed: a circulating profile is stored once for every peer, and reaches each") {
  Mesh m;
  auto d = m.a.add_candidate("山田 花子", "hanako@example.jp", true);
  const auto ref = m.a.profiles.ref_of(d.id);
  CHECK(stored_messages(m.a) == 1);  // not one per peer
  auto to_b = entries_to(m.a, "b.example");
  auto to_c = entries_to(m.a, "c.example");
  REQUIRE(to_b.size() == 1);
  REQUIRE(to_c.size() == 1);
  CHECK(to_b[0].type == "profile.upsert");
  CHECK(to_b[0].feed_seq > 0);
  CHECK(to_b[0].id == to_c[0].id);
  CHECK(to_b[0].body.at("ref") == ref);
  CHECK(to_b[0].body.at("profile").at("skills") == nlohmann::json{"c++", "lmdb"});
  {
    // What the feed stores is the ref and seq: the profile is read when sent.
    auto txn = m.a.env.begin_read();
    txn.for_each_prefix(m.a.env.database("outbox_feed"), "e/",
                        [&](std::string_view, std::string_view value) {
                          CHECK(value.find(ref) != std::string_view::npos);
                          CHECK(value.find("lmdb") == std::string_view::npos);
                          CHECK(value.find("skills") == std::string_view::npos);
                        });
  }
  {
    auto txn = m.a.env.begin_read();
    auto by_peer = m.a.federation.outbox().delivery(txn, m.a.clock.now_ms(), std::chrono::hours(1));
    CHECK(by_peer.at("b.example").queued == 1);
    CHECK(by_peer.at("c.example").queued == 1);
  }

  m.a.deliver();
  CHECK(holds(m.b, "a.example", ref));
  CHECK(holds(m.c, "a.example", ref));
  CHECK(m.a.outbox().empty());
  // Read by every peer: compaction drops it.
  CHECK(stored_messages(m.a) == 1);
  CHECK(compact(m.a) == 1);
  CHECK(stored_messages(m.a) == 0);
  CHECK(m.a.outbox().empty());
}

TEST_CASE(
    "feed: a peer that is away gets only the newest message about each profile when back, and "
    "keeps what it has not read from compaction") {
  Mesh m;
  set_active(m.a, "c.example", false);
  auto d1 = m.a.add_candidate("山田 花子", "hanako@example.jp", true);
  auto d2 = m.a.add_candidate("佐藤 一郎", "ichiro@example.jp", true);
  const auto r1 = m.a.profiles.ref_of(d1.id);
  const auto r2 = m.a.profiles.ref_of(d2.id);
  m.a.deliver();  // b gets both; c is suspended and backs off
  CHECK(holds(m.b, "a.example", r1));
  CHECK(holds(m.b, "a.example", r2));
  // d1 stops circulating and starts again; d2 stops: two messages, not four.
  m.a.set_peers_consent(d1.id, false);
  m.a.set_peers_consent(d1.id, true);
  m.a.set_peers_consent(d2.id, false);
  CHECK(stored_messages(m.a) == 2);
  auto to_c = entries_to(m.a, "c.example");
  REQUIRE(to_c.size() == 2);
  CHECK(to_c[0].type == "profile.upsert");
  CHECK(to_c[0].body.at("ref") == r1);
  CHECK(to_c[1].type == "profile.withdraw");
  CHECK(to_c[1].body.at("ref") == r2);
  CHECK(to_c[0].attempts == 1);  // the suspended peer's feed backs off as a whole
  CHECK(to_c[0].last_error == "peer suspended");

  m.a.deliver();
  CHECK_FALSE(holds(m.b, "a.example", r2));
  CHECK(entries_to(m.a, "b.example").empty());
  // c has read nothing: nothing goes.
  CHECK(compact(m.a) == 0);
  CHECK(stored_messages(m.a) == 2);

  // Reinstated: the full set (d1), then the feed.
  set_active(m.a, "c.example", true);
  m.a.deliver();
  CHECK(holds(m.c, "a.example", r1));
  CHECK_FALSE(holds(m.c, "a.example", r2));
  CHECK(m.a.outbox().empty());
  CHECK(compact(m.a) == 2);
}

TEST_CASE(
    "feed: a peer added later starts at its end; a peer from before the feed reads it from its "
    "start") {
  FederationSite a("a.example", "JP-28");
  FederationSite b("b.example", "JP-27");
  FederationSite c("c.example", "JP-26");
  a.peer_with(b);
  b.peer_with(a);
  c.peer_with(a);
  a.deliver();
  auto d = a.add_candidate("山田 花子", "hanako@example.jp", true);
  const auto ref = a.profiles.ref_of(d.id);

  // c comes after the upsert: a sync brings it, not the feed.
  a.peer_with(c);
  auto to_c = entries_to(a, "c.example");
  REQUIRE(to_c.size() == 1);
  CHECK(to_c[0].type == "profiles.sync");
  a.deliver();
  CHECK(holds(c, "a.example", ref));
  CHECK(holds(b, "a.example", ref));

  // A data directory from before the feed: b had no cursor. At start-up it gets one at the
  // feed's start, and reads what was published since (here, the withdrawal).
  auto feed = a.env.database("outbox_feed");
  a.writer.submit_wait([&](st::WriteTxn& txn) { txn.del(feed, "c/b.example"); });
  a.set_peers_consent(d.id, false);
  CHECK(entries_to(a, "b.example").empty());
  CHECK(compact(a) == 0);  // b has read nothing
  a.writer.submit_wait([&](st::WriteTxn& txn) { a.profiles.index_existing(txn); });
  auto to_b = entries_to(a, "b.example");
  REQUIRE(to_b.size() == 1);
  CHECK(to_b[0].type == "profile.withdraw");
  a.deliver();
  CHECK_FALSE(holds(b, "a.example", ref));
  CHECK_FALSE(holds(c, "a.example", ref));
}

TEST_CASE("feed: a message that can no longer be completed is passed over, unsent") {
  Mesh m;
  auto& feed = m.a.federation.outbox().feed();
  feed.complete("test.gone", [](const st::Txn&, const nlohmann::json& stored) {
    return stored.at("n") == 2 ? std::nullopt : std::optional<nlohmann::json>(stored);
  });
  m.a.writer.submit_wait([&](st::WriteTxn& txn) {
    for (int n = 1; n <= 3; ++n)
      feed.publish(txn, "test.gone", "s" + std::to_string(n), {{"n", n}}, m.a.clock.now_ms());
  });
  auto to_b = entries_to(m.a, "b.example");
  REQUIRE(to_b.size() == 3);
  CHECK(to_b[1].body.is_null());
  m.a.deliver();
  CHECK(m.a.outbox().empty());
  // b refused the two it got (it has no such type); the one passed over never went.
  auto txn = m.a.env.begin_read();
  auto by_peer = m.a.federation.outbox().delivery(txn, m.a.clock.now_ms(), std::chrono::hours(1));
  CHECK(by_peer.at("b.example").refused == 2);
  CHECK(by_peer.at("c.example").refused == 2);
}

TEST_CASE(
    "feed: a cursor moves only past messages with nothing outstanding before them; a refusal is "
    "counted and skipped") {
  FederationSite a("a.example", "JP-28");
  auto& feed = a.federation.outbox().feed();
  const std::string peer = "x.example";
  const auto now = a.clock.now_ms();
  a.writer.submit_wait([&](st::WriteTxn& txn) {
    CHECK(feed.add_cursor(txn, peer, false));
    CHECK_FALSE(feed.add_cursor(txn, peer, true));  // it has one
    for (const char* subject : {"s1", "s2", "s3"})
      feed.publish(txn, "test.feed", subject, {{"about", subject}}, now);
  });
  auto due = [&](std::int64_t at) {
    auto txn = a.env.begin_read();
    return feed.due_for(txn, peer, at, 100);
  };
  auto in_writer = [&](auto f) { a.writer.submit_wait([&](st::WriteTxn& txn) { f(txn); }); };
  auto e = due(now);
  REQUIRE(e.size() == 3);
  CHECK(e[0].body == nlohmann::json{{"about", "s1"}});
  CHECK(e[2].subject == "s3");

  // The third delivered while the first two are outstanding: the cursor stays.
  in_writer([&](st::WriteTxn& txn) { feed.delivered(txn, e[2]); });
  CHECK(due(now).size() == 3);
  // The first fails: the peer's feed backs off as a whole.
  auto failed = e[0];
  failed.attempts = 1;
  failed.next_ms = now + 1000;
  failed.last_error = "HTTP 503";
  in_writer([&](st::WriteTxn& txn) { feed.update(txn, failed); });
  CHECK(due(now).empty());
  {
    auto txn = a.env.begin_read();
    std::set<std::string> peers;
    feed.add_peers_with_due(txn, now, peers);
    CHECK(peers.empty());
    feed.add_peers_with_due(txn, now + 1000, peers);
    CHECK(peers == std::set<std::string>{peer});
  }
  // Backing off, it is tried with one message; once that gets through, with the rest.
  e = due(now + 1000);
  REQUIRE(e.size() == 1);
  CHECK(e[0].subject == "s1");
  CHECK(e[0].attempts == 1);
  CHECK(e[0].last_error == "HTTP 503");
  in_writer([&](st::WriteTxn& txn) { feed.delivered(txn, e[0]); });
  e = due(now);
  REQUIRE(e.size() == 2);
  CHECK(e[0].attempts == 0);
  // The first of them refused outright: counted and passed.
  auto refused = e[0];
  refused.state = fed::OutboxState::failed;
  refused.last_error = "refused by peer: HTTP 409";
  in_writer([&](st::WriteTxn& txn) { feed.update(txn, refused); });
  e = due(now);
  REQUIRE(e.size() == 1);
  CHECK(e[0].subject == "s3");
  CHECK(e[0].attempts == 0);
  {
    auto txn = a.env.begin_read();
    std::map<std::string, fed::PeerDelivery> d;
    feed.add_delivery(txn, now + 1, d);
    CHECK(d.at(peer).queued == 1);
    CHECK(d.at(peer).at_risk == 1);
    CHECK(d.at(peer).refused == 1);
    CHECK(d.at(peer).oldest_queued_ms == now);
  }
  in_writer([&](st::WriteTxn& txn) { feed.delivered(txn, e[0]); });
  CHECK(due(now).empty());

  // A message on a subject replaces the one before it, read or not.
  in_writer([&](st::WriteTxn& txn) {
    feed.publish(txn, "test.feed", "s1", {{"about", "s1"}, {"v", 2}}, now);
    feed.publish(txn, "test.feed", "s1", {{"about", "s1"}, {"v", 3}}, now);
  });
  e = due(now);
  REQUIRE(e.size() == 1);
  CHECK(e[0].body.at("v") == 3);
  // An outcome for a peer without a cursor (none ever had one here) makes none.
  auto stray = e[0];
  stray.peer = "stray.example";
  in_writer([&](st::WriteTxn& txn) {
    feed.delivered(txn, stray);
    feed.update(txn, stray);
  });
  {
    auto txn = a.env.begin_read();
    std::set<std::string> peers;
    feed.add_peers_with_due(txn, now, peers);
    CHECK(peers == std::set<std::string>{peer});
  }
  // Compaction drops what the cursor has read (s2, s3), keeps what it has not.
  CHECK(a.writer.submit_wait([&](st::WriteTxn& txn) { return feed.compact(txn, {peer}); }) == 2);
  CHECK(due(now).size() == 1);
}

TEST_SUITE_END();
