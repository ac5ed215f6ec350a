// The federation sender delivers one queue per peer (issue 13): a peer that is down or slow
// holds up its own messages only, the messages to one peer still go in outbox order, and the
// sender stops cleanly with a request in flight; past federation.give_up_after_s an ordinary
// message is given up and a person's rights are escalated instead. Real HTTP on loopback, real
// LMDB; the dead peer is a loopback listener that accepts and never answers.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crypto/keys.hpp"
#include "node/services/peering.hpp"
#include "protocol/envelope.hpp"
#include "protocol/federation_messages.hpp"
#include "support/federation_site.hpp"
#include "support/silent_listener.hpp"

using relay::test::FederationSite;
using relay::test::SilentListener;
namespace fed = relay::node::federation;
namespace st = relay::node::storage;
using namespace std::chrono_literals;

namespace {

constexpr auto kDeadline = 30s;  // how long a test waits for something that should happen

// Adds a peer whose URL is `url`, with keys already learnt (as if its identity had been
// fetched before it went silent), so that a delivery to it is a POST that never returns.
void add_known_peer(FederationSite& site, const std::string& name, const std::string& url) {
  auto signing = relay::crypto::Ed25519KeyPair::generate();
  relay::protocol::IdentityDocument doc;
  doc.node = name;
  doc.region = "JP-13";
  doc.url = url;
  doc.signing_key = signing.public_key;
  doc.encryption_key = relay::crypto::X25519KeyPair::generate().public_key;
  doc.issued_ms = site.clock.now_ms();
  auto parsed = relay::protocol::parse_identity(relay::protocol::encode_identity(doc, signing));
  REQUIRE(parsed);
  auto learnt = site.writer.submit_wait([&](st::WriteTxn& txn) {
    auto added = site.federation.peers().add(txn, name, url, signing.public_key.fingerprint());
    if (added != fed::AddError::none) return fed::LearnResult::refused;
    return site.federation.peers().learn(txn, name, *parsed, site.clock.now_ms(), 0);
  });
  REQUIRE(learnt == fed::LearnResult::learnt);
}

// a.example with a peer, dead.example, that accepts connections and never answers: each
// request to it waits out `timeout`.
struct SilentPeer {
  FederationSite a{"a.example", "JP-28"};
  SilentListener dead;
  explicit SilentPeer(std::chrono::milliseconds timeout) {
    a.config.federation.request_timeout_ms = timeout;
    add_known_peer(a, "dead.example", dead.url());  // queues profiles.sync too
  }
};

std::string ping(FederationSite& site, const std::string& peer) {
  return site.writer.submit_wait([&](st::WriteTxn& txn) {
    return site.federation.enqueue(txn, peer, relay::protocol::Ping{});
  });
}

std::vector<fed::OutboxEntry> entries_to(FederationSite& site, const std::string& peer) {
  std::vector<fed::OutboxEntry> out;
  for (auto& e : site.outbox())
    if (e.peer == peer) out.push_back(std::move(e));
  return out;
}

// The outbox entry of message `id` to `peer` (fails the test if there is none).
fed::OutboxEntry entry_of(FederationSite& site, const std::string& peer, const std::string& id) {
  for (auto& e : entries_to(site, peer))
    if (e.id == id) return e;
  FAIL("no outbox entry " << id);
  return {};
}

// Polls until pred() holds or kDeadline passes; returns pred().
template <class Pred>
bool eventually(Pred pred) {
  auto until = std::chrono::steady_clock::now() + kDeadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

}  // namespace

TEST_CASE("sender: a dead peer does not delay delivery to another peer") {
  FederationSite a("a.example", "JP-28");
  FederationSite b("b.example", "JP-27");
  SilentListener dead;
  a.config.federation.request_timeout_ms = 5s;  // each attempt to the dead peer waits this long

  // The dead peer's messages are older, so a single sender walking the outbox in order would
  // reach them first and wait out the timeout before b's turn.
  add_known_peer(a, "dead.example", dead.url());
  ping(a, "dead.example");
  a.clock.advance(1s);
  b.peer_with(a);
  a.peer_with(b);
  ping(a, "b.example");
  REQUIRE(!entries_to(a, "dead.example").empty());
  REQUIRE(!entries_to(a, "b.example").empty());

  const auto started = std::chrono::steady_clock::now();
  a.federation.start();
  // b's messages (its ping and the profiles.sync of peering) are delivered ...
  REQUIRE(eventually([&] { return entries_to(a, "b.example").empty(); }));
  const auto live_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - started)
                           .count();
  MESSAGE("the live peer's messages were delivered in " << live_ms
                                                        << " ms; one attempt to the dead peer "
                                                           "takes 5000 ms");
  // ... while the first attempt to the dead peer has not finished: nothing to it was attempted
  // to completion (it cannot end before its 5 s timeout), and it is (or is about to be) on the
  // wire.
  for (const auto& e : entries_to(a, "dead.example")) {
    CHECK(e.state == relay::node::federation::OutboxState::pending);
    CHECK(e.attempts == 0);
  }
  REQUIRE(eventually([&] { return dead.connections() >= 1; }));
  CHECK(a.federation.sender().peer_loops() == 2);
  a.federation.stop();

  // The dead peer's messages are kept for later, backed off after the one timed-out request
  // (they went together, as one batch): stop() let it end, and tried nothing more.
  auto left = entries_to(a, "dead.example");
  REQUIRE(left.size() == 2);  // the ping and the profiles.sync of peering
  for (const auto& e : left) {
    CHECK(e.state == relay::node::federation::OutboxState::pending);
    CHECK(e.attempts == 1);
  }
  CHECK(dead.connections() == 1);
}

TEST_CASE("sender: stops cleanly with a request in flight to a dead peer") {
  SilentPeer site(2s);
  auto& a = site.a;
  auto& dead = site.dead;
  ping(a, "dead.example");
  ping(a, "dead.example");

  a.federation.start();
  REQUIRE(eventually([&] { return dead.connections() >= 1; }));
  // stop() waits for the request in flight (bounded by request_timeout_ms), never for ever.
  auto stopped = std::async(std::launch::async, [&] { a.federation.stop(); });
  REQUIRE(stopped.wait_for(kDeadline) == std::future_status::ready);
  stopped.get();

  auto left = entries_to(a, "dead.example");
  REQUIRE(left.size() == 3);  // the profiles.sync of peering and the two pings
  // They went as one batch: one request, each message attempted once, none more.
  for (const auto& e : left) {
    CHECK(e.state == relay::node::federation::OutboxState::pending);
    CHECK(e.attempts == 1);
    CHECK(!e.last_error.empty());
  }
  CHECK(dead.connections() == 1);
  // Nothing more goes out once stopped.
  auto connections = dead.connections();
  a.federation.notify();
  std::this_thread::sleep_for(300ms);
  CHECK(dead.connections() == connections);
  CHECK(a.federation.sender().peer_loops() == 0);
}

TEST_CASE("sender: messages to one peer are delivered in outbox order") {
  FederationSite a("a.example", "JP-28");
  FederationSite b("b.example", "JP-27");
  b.peer_with(a);
  a.peer_with(b);
  std::mutex mutex;
  std::vector<std::string> replied;  // message ids, in the order their replies were handled
  a.federation.on_reply_to<relay::protocol::Ping>([&](st::WriteTxn&, const fed::SentMessage& sent,
                                                      const relay::protocol::Envelope&,
                                                      const fed::Peer&) {
    std::lock_guard lock(mutex);
    replied.push_back(sent.id);
  });
  std::vector<std::string> sent;
  for (int i = 0; i < 5; ++i) {
    sent.push_back(ping(a, "b.example"));
    a.clock.advance(1ms);
  }

  a.federation.start();
  REQUIRE(eventually([&] { return entries_to(a, "b.example").empty(); }));
  a.federation.stop();
  std::lock_guard lock(mutex);
  CHECK(replied == sent);
}

TEST_CASE(
    "sender: past federation.give_up_after_s an ordinary message is given up (undelivered, its "
    "handler, one alert); a message of a never-give-up type keeps trying and is escalated once") {
  SilentPeer site(200ms);
  auto& a = site.a;
  auto& dead = site.dead;
  a.config.federation.give_up_after_s = 3600s;
  std::vector<std::string> given_up;  // message ids, as the give-up handler saw them
  a.federation.on_give_up_of<relay::protocol::Ping>(
      [&](st::WriteTxn&, const fed::SentMessage& sent) { given_up.push_back(sent.id); });
  a.federation.sender().never_give_up("test.rights");
  const auto ordinary = ping(a, "dead.example");
  const auto rights = a.writer.submit_wait([&](st::WriteTxn& txn) {
    return a.federation.outbox().enqueue(txn, "dead.example", "test.rights",
                                         [](const std::string&) { return nlohmann::json{}; });
  });
  auto entry = [&](const std::string& id) { return entry_of(a, "dead.example", id); };
  auto alerts_of = [&](const std::string& kind) {
    auto txn = a.env.begin_read();
    relay::node::federation::AlertQuery of_kind;
    of_kind.kind = kind;
    return a.federation.alerts().read(txn, of_kind)->alerts.size();
  };

  // Within the horizon a failed attempt backs off, with jitter, within [half, whole] the delay.
  a.federation.sender().deliver_due_to("dead.example");
  CHECK(entry(ordinary).attempts == 1);
  CHECK(entry(ordinary).state == fed::OutboxState::pending);
  const auto wait = entry(ordinary).next_ms - a.clock.now_ms();
  CHECK(wait >= a.config.federation.retry_initial_ms.count() / 2);
  CHECK(wait <= a.config.federation.retry_initial_ms.count());
  CHECK(given_up.empty());
  CHECK(alerts_of("delivery_given_up") == 0);

  // Past it: the ping is given up, once, its handler run; the rights message is escalated.
  a.clock.advance(2h);
  a.federation.sender().deliver_due_to("dead.example");
  auto gone = entry(ordinary);
  CHECK(gone.state == fed::OutboxState::undelivered);
  CHECK(gone.body.is_null());  // nothing left to send, nothing kept
  CHECK(gone.last_error.find("given up after 2 attempt(s)") != std::string::npos);
  CHECK(given_up == std::vector<std::string>{ordinary});
  CHECK(entry(rights).state == fed::OutboxState::pending);
  CHECK(entry(rights).escalated);
  CHECK(alerts_of("delivery_given_up") == 2);  // the ping and peering's profiles.sync
  CHECK(alerts_of("delivery_escalated") == 1);
  {
    auto txn = a.env.begin_read();
    auto d = a.federation.outbox().delivery(txn, a.clock.now_ms(), 3600s).at("dead.example");
    CHECK(d.queued == 1);
    CHECK(d.at_risk == 1);
    CHECK(d.undelivered == 2);
    CHECK(d.refused == 0);
  }

  // Later passes: the given-up messages are not tried again; the rights message is, without a
  // second alert.
  const auto connections = dead.connections();
  a.clock.advance(2h);
  a.federation.sender().deliver_due_to("dead.example");
  CHECK(dead.connections() == connections + 1);
  CHECK(entry(rights).attempts == 3);
  CHECK(alerts_of("delivery_escalated") == 1);
  CHECK(given_up.size() == 1);
}

TEST_CASE("outbox: an entry dropped meanwhile is not given up, so nothing follows from it") {
  FederationSite a("a.example", "JP-28");
  SilentListener dead;
  add_known_peer(a, "dead.example", dead.url());
  const auto id = ping(a, "dead.example");
  fed::OutboxEntry queued;
  for (auto& e : entries_to(a, "dead.example"))
    if (e.id == id) queued = e;
  REQUIRE(queued.id == id);
  // A withdrawal drops the message while the sender holds its copy of the entry.
  CHECK(
      a.writer.submit_wait([&](st::WriteTxn& txn) { return a.federation.outbox().drop(txn, id); }));
  CHECK_FALSE(a.writer.submit_wait(
      [&](st::WriteTxn& txn) { return a.federation.outbox().give_up(txn, queued, "test"); }));
  for (auto& e : entries_to(a, "dead.example")) CHECK(e.id != id);  // not kept as undelivered
}

TEST_CASE("outbox: the operator's listing is bounded and opens no body") {
  FederationSite a("a.example", "JP-28");
  SilentListener dead;
  add_known_peer(a, "dead.example", dead.url());  // queues profiles.sync too
  for (int i = 0; i < 4; ++i) {
    a.writer.submit_wait([&](st::WriteTxn& txn) {
      return a.federation.outbox().enqueue(txn, "dead.example", "test.body", [](const auto&) {
        return nlohmann::json{{"secret", "sealed at rest"}};
      });
    });
    a.clock.advance(1ms);
  }
  auto txn = a.env.begin_read();
  const auto all = a.federation.outbox().all(txn);
  REQUIRE(all.size() == 5);
  auto ids = [](const std::vector<fed::OutboxEntry>& entries) {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(e.id);
    return out;
  };
  const auto all_ids = ids(all);
  auto first = a.federation.outbox().list(txn, 3);
  CHECK(first.truncated);
  CHECK(ids(first.entries) == std::vector<std::string>(all_ids.begin(), all_ids.begin() + 3));
  auto whole = a.federation.outbox().list(txn, 5);
  CHECK_FALSE(whole.truncated);
  CHECK(ids(whole.entries) == all_ids);
  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK(whole.entries[i].body.is_null());  // left sealed
    CHECK(whole.entries[i].to_json() == all[i].to_json());
    if (all[i].type == "test.body") CHECK(all[i].body.at("secret") == "sealed at rest");
  }
}

TEST_CASE("outbox: a sender pass reads a peer's due entries only, oldest first, not its backlog") {
  // Found while measuring a dead peer's backlog: the pass walked the peer's entries in order,
  // parsing each, until it had a pass's worth of due ones. With 20,000 queued and 100 due it
  // read all 20,000 (41 ms), on every wake-up of the loop (every 200 ms while any is due).
  FederationSite a("a.example", "JP-28");
  constexpr int kQueued = 5000;
  a.writer.submit_wait([&](st::WriteTxn& txn) {
    for (int i = 0; i < kQueued; ++i) {
      a.federation.outbox().enqueue(txn, "dead.example", "test.x", [](const std::string&) {
        return nlohmann::json{{"n", 1}};
      });
      a.clock.advance(1ms);  // a distinct creation time each: the outbox order is known
    }
  });
  const auto now = a.clock.now_ms();
  std::vector<fed::OutboxEntry> all;
  {
    auto txn = a.env.begin_read();
    all = a.federation.outbox().due_for(txn, "dead.example", now, kQueued);
  }
  REQUIRE(all.size() == kQueued);
  // Every 50th is due now, the rest back off for a minute; the due ones are given due times in
  // the reverse of their outbox order, so the index's order is not the answer's.
  std::vector<std::string> due_ids;
  a.writer.submit_wait([&](st::WriteTxn& txn) {
    for (std::size_t i = 0; i < all.size(); ++i) {
      auto e = all[i];
      e.attempts = 3;
      const bool due = i % 50 == 0;
      e.next_ms = due ? now - static_cast<std::int64_t>(i) : now + 60'000;
      if (due) due_ids.push_back(e.id);
      a.federation.outbox().update(txn, e);
    }
  });
  REQUIRE(due_ids.size() == 100);
  auto ids_due = [&](std::size_t limit) {
    auto txn = a.env.begin_read();
    const auto started = std::chrono::steady_clock::now();
    auto due = a.federation.outbox().due_for(txn, "dead.example", now, limit);
    MESSAGE(due.size() << " due of " << kQueued << " read in "
                       << std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count()
                       << " us");
    std::vector<std::string> ids;
    for (const auto& e : due) {
      CHECK(e.body.at("n") == 1);  // opened, ready to send
      ids.push_back(e.id);
    }
    return ids;
  };
  CHECK(ids_due(250) == due_ids);  // all of them, in outbox order
  CHECK(ids_due(30) == std::vector<std::string>(due_ids.begin(), due_ids.begin() + 30));
  auto txn = a.env.begin_read();
  CHECK(a.federation.outbox().due_for(txn, "dead.example", now - 60'000, 250).empty());
}

TEST_CASE("outbox: the at-risk count reads the peer index's keys, not the entries") {
  // A peer dead for more than half the give-up horizon has every queued message at risk; the
  // count (GET /api/v1/peers, /metrics, relay-node status) parsed each one's record.
  FederationSite a("a.example", "JP-28");
  constexpr auto kHorizon = std::chrono::seconds(3600);  // at risk after 1,800 s
  auto& outbox = a.federation.outbox();
  const auto index = a.env.database("outbox_index");
  auto enqueue = [&] {
    auto id = a.writer.submit_wait([&](st::WriteTxn& txn) {
      return outbox.enqueue(txn, "dead.example", "test.x", [](const std::string&) {
        return nlohmann::json{{"n", 1}};
      });
    });
    a.clock.advance(1ms);
    return entry_of(a, "dead.example", id);
  };
  auto index_value = [&](const fed::OutboxEntry& e) {
    auto txn = a.env.begin_read();
    return txn.get(index, "p/dead.example/" + e.key).value_or("absent");
  };
  // Entries indexed before the state was kept in the index have an empty value.
  auto as_if_indexed_before = [&](const fed::OutboxEntry& e) {
    a.writer.submit_wait([&](st::WriteTxn& txn) { txn.put(index, "p/dead.example/" + e.key, ""); });
  };
  const auto old_pending = enqueue();
  auto refused = enqueue();
  const auto legacy_pending = enqueue();
  auto legacy_refused = enqueue();
  CHECK(index_value(old_pending) == "pending");
  for (auto* e : {&refused, &legacy_refused}) {
    e->state = fed::OutboxState::failed;
    a.writer.submit_wait([&](st::WriteTxn& txn) { outbox.update(txn, *e); });
  }
  CHECK(index_value(refused) == "failed");
  as_if_indexed_before(legacy_pending);
  as_if_indexed_before(legacy_refused);
  a.clock.advance(kHorizon);
  const auto recent = enqueue();
  CHECK(index_value(recent) == "pending");

  auto txn = a.env.begin_read();
  auto d = outbox.delivery(txn, a.clock.now_ms(), kHorizon).at("dead.example");
  CHECK(d.queued == 3);
  CHECK(d.refused == 2);
  CHECK(d.at_risk == 2);  // old_pending and legacy_pending, not the refused, not the recent
  CHECK(d.oldest_queued_ms == old_pending.created_ms);
}

// What peering queued (profile syncs) is delivered first; the request counters start at 0.
void settle(FederationSite& a, FederationSite& b) {
  a.deliver();
  b.deliver();
  a.message_requests = a.batch_requests = 0;
  b.message_requests = b.batch_requests = 0;
}

TEST_CASE("sender: due messages to a peer go in batches of 50, their replies in one commit") {
  FederationSite a("a.example", "JP-28");
  FederationSite b("b.example", "JP-27");
  b.peer_with(a);
  a.peer_with(b);
  settle(a, b);
  std::vector<std::string> replied;
  a.federation.on_reply_to<relay::protocol::Ping>([&](st::WriteTxn&, const fed::SentMessage& sent,
                                                      const relay::protocol::Envelope& reply,
                                                      const fed::Peer&) {
    CHECK(reply.body.at("pong") == true);
    replied.push_back(sent.id);
  });
  const auto inbox_before = [&] {
    auto txn = b.env.begin_read();
    return txn.count(b.env.database("inbox"));
  }();
  std::vector<std::string> sent;
  for (int i = 0; i < 120; ++i) {
    sent.push_back(ping(a, "b.example"));
    a.clock.advance(1ms);
  }
  // One the receiver refuses for good (no such type): the rest of its batch is delivered.
  auto refused = a.writer.submit_wait([&](st::WriteTxn& txn) {
    return a.federation.outbox().enqueue(txn, "b.example", "test.unknown",
                                         [](const std::string&) { return nlohmann::json{}; });
  });
  CHECK(a.federation.sender().deliver_due_to("b.example") == 120);
  CHECK(b.batch_requests == 3);  // 50 + 50 + 21
  CHECK(b.message_requests == 0);
  CHECK(replied == sent);  // in outbox order
  auto left = entries_to(a, "b.example");
  REQUIRE(left.size() == 1);
  CHECK(left[0].id == refused);
  CHECK(left[0].state == fed::OutboxState::failed);
  // Each applied once at b (its inbox records them by id).
  auto txn = b.env.begin_read();
  CHECK(txn.count(b.env.database("inbox")) == inbox_before + 120);
}

TEST_CASE(
    "sender: a reinstated peer gets what was queued for it at once, not when the backoff its "
    "suspension built up runs out") {
  // Found by scripts/bench-federation: with the peer suspended, every queued message is
  // attempted, fails ("peer suspended") and backs off; on reinstatement they all waited out
  // that backoff (up to federation.retry_max_ms) before anything went.
  FederationSite a("a.example", "JP-28");
  FederationSite b("b.example", "JP-27");
  SilentListener dead;
  a.config.federation.retry_initial_ms = a.config.federation.retry_max_ms = 1h;
  a.config.federation.request_timeout_ms = 200ms;
  b.peer_with(a);
  a.peer_with(b);
  settle(a, b);
  add_known_peer(a, "dead.example", dead.url());
  relay::node::services::Peering peering(a.env, a.writer, a.federation, a.keys);

  REQUIRE(peering.set_active("b.example", false));
  for (int i = 0; i < 3; ++i) ping(a, "b.example");
  ping(a, "dead.example");
  CHECK(a.federation.sender().deliver_due_to("b.example") == 0);
  CHECK(a.federation.sender().deliver_due_to("dead.example") == 0);
  const auto now = a.clock.now_ms();
  for (const auto& e : entries_to(a, "b.example")) {
    CHECK(e.attempts == 1);
    CHECK(e.last_error == "peer suspended");
    CHECK(e.next_ms >= now + 30 * 60 * 1000);  // half the hour at least, with jitter
  }
  const auto dead_before = entries_to(a, "dead.example");
  REQUIRE(dead_before.size() == 2);  // the ping and peering's profiles.sync
  for (const auto& e : dead_before) CHECK(e.next_ms > now);

  REQUIRE(peering.set_active("b.example", true));
  // Due now, their history kept; nothing else moved.
  for (const auto& e : entries_to(a, "b.example")) {
    CHECK(e.next_ms <= now);
    CHECK(e.attempts == (e.type == "ping" ? 1u : 0u));  // reinstatement queues a profiles.sync
  }
  auto dead_after = entries_to(a, "dead.example");
  REQUIRE(dead_after.size() == 2);
  for (std::size_t i = 0; i < dead_after.size(); ++i)
    CHECK(dead_after[i].next_ms == dead_before[i].next_ms);
  {
    auto txn = a.env.begin_read();
    CHECK(a.federation.outbox().peers_with_due(txn, now) == std::set<std::string>{"b.example"});
  }
  // One pass delivers them all (the pings and what reinstatement queued), the clock not moved.
  const auto queued = entries_to(a, "b.example").size();
  CHECK(queued >= 3);
  CHECK(a.federation.sender().deliver_due_to("b.example") == queued);
  CHECK(entries_to(a, "b.example").empty());
  // Nothing was backing off any more: a second look moves nothing.
  CHECK(a.writer.submit_wait([&](st::WriteTxn& txn) {
    return a.federation.outbox().due_now(txn, "b.example");
  }) == 0);
}

TEST_CASE(
    "sender: the messages of a batch that failed are backed off together, not a commit each") {
  FederationSite a("a.example", "JP-28");
  FederationSite b("b.example", "JP-27");
  b.peer_with(a);
  a.peer_with(b);
  settle(a, b);
  relay::node::services::Peering peering(a.env, a.writer, a.federation, a.keys);
  REQUIRE(peering.set_active("b.example", false));
  for (int i = 0; i < 120; ++i) ping(a, "b.example");
  const auto commits = a.writer.stats().batches_committed;
  CHECK(a.federation.sender().deliver_due_to("b.example") == 0);
  // Three batches (50 + 50 + 20), each one Writer request per message waited for together:
  // they share a commit or two, where one by one they took 120.
  const auto used = a.writer.stats().batches_committed - commits;
  MESSAGE("120 messages of a suspended peer backed off in " << used << " commit(s)");
  CHECK(used <= 12);
  const auto left = entries_to(a, "b.example");
  REQUIRE(left.size() == 120);
  for (const auto& e : left) {
    CHECK(e.attempts == 1);
    CHECK(e.last_error == "peer suspended");
    CHECK(e.next_ms >= a.clock.now_ms());
  }
  CHECK(b.batch_requests == 0);  // nothing went to the suspended peer
  CHECK(b.message_requests == 0);
}

TEST_CASE(
    "sender: a peer that does not answer backs off its whole feed with one outcome, and a pass "
    "sends no more of it") {
  SilentPeer site(200ms);
  auto& a = site.a;
  a.writer.submit_wait([&](st::WriteTxn& txn) {
    for (int i = 0; i < 120; ++i)  // more than two batches
      a.federation.outbox().feed().publish(txn, "test.feed", "s" + std::to_string(i),
                                           nlohmann::json{{"i", i}}, a.clock.now_ms());
  });
  auto feed_to_dead = [&] {
    std::size_t n = 0;
    for (const auto& e : entries_to(a, "dead.example")) n += e.feed_seq > 0;
    return n;
  };
  REQUIRE(feed_to_dead() == 120);
  const auto before = a.writer.stats().requests_committed;
  a.federation.sender().deliver_due_to("dead.example");  // one timed-out batch; the sync's too
  const auto outcomes = a.writer.stats().requests_committed - before;
  CHECK(outcomes <= 2);  // the feed's backoff, and the sync's (a message of its own)
  CHECK(feed_to_dead() == 120);
  for (const auto& e : entries_to(a, "dead.example"))
    if (e.feed_seq > 0) CHECK(e.attempts == 1);
  // Backing off, it is tried with one of them next time, not a pass's worth.
  auto txn = a.env.begin_read();
  auto due = a.federation.outbox().due_for(txn, "dead.example", a.clock.now_ms() + 3'600'000, 250);
  CHECK(std::count_if(due.begin(), due.end(), [](const auto& e) { return e.feed_seq > 0; }) == 1);
}

TEST_CASE(
    "sender: a peer that does not answer costs one timeout a pass, whatever its backlog; the "
    "rest of the pass backs off unsent") {
  SilentPeer site(200ms);
  auto& a = site.a;
  auto& dead = site.dead;
  for (int i = 0; i < 120; ++i) ping(a, "dead.example");  // three batches' worth, with the sync
  REQUIRE(entries_to(a, "dead.example").size() == 121);
  a.federation.sender().deliver_due_to("dead.example");
  CHECK(dead.connections() == 1);
  for (const auto& e : entries_to(a, "dead.example")) {
    CHECK(e.attempts == 1);
    CHECK(e.state == fed::OutboxState::pending);
    CHECK(e.next_ms > a.clock.now_ms());
  }
}

TEST_CASE("sender: a peer that does not take batches gets one message per request") {
  FederationSite a("a.example", "JP-28");
  FederationSite b("b.example", "JP-27");
  b.peer_with(a);
  a.peer_with(b);
  settle(a, b);
  b.takes_batches = false;  // a node from before batches: 404
  for (int i = 0; i < 7; ++i) ping(a, "b.example");
  CHECK(a.federation.sender().deliver_due_to("b.example") == 7);
  CHECK(b.batch_requests == 0);
  CHECK(b.message_requests == 7);
  CHECK(entries_to(a, "b.example").empty());
  // Remembered: the next pass does not try a batch first.
  for (int i = 0; i < 3; ++i) ping(a, "b.example");
  CHECK(a.federation.sender().deliver_due_to("b.example") == 3);
  CHECK(b.message_requests == 10);
}

TEST_CASE("sender: batched against one-by-one delivery of 400 messages (reported, not asserted)") {
  auto rate = [](bool batches) {
    FederationSite a("a.example", "JP-28");
    FederationSite b("b.example", "JP-27");
    b.peer_with(a);
    a.peer_with(b);
    settle(a, b);
    b.takes_batches = batches;
    for (int i = 0; i < 400; ++i) ping(a, "b.example");
    auto start = std::chrono::steady_clock::now();
    std::size_t delivered = 0;
    while (delivered < 400) {
      auto n = a.federation.sender().deliver_due_to("b.example");
      REQUIRE(n > 0);
      delivered += n;
    }
    auto s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return 400 / s;
  };
  auto single = rate(false);
  auto batched = rate(true);
  MESSAGE("outbox burst to one peer: " << single << " msg/s one by one, " << batched
                                       << " msg/s batched (x" << batched / single << ")");
  CHECK(single > 0);
  CHECK(batched > 0);
}
