// The federation sender delivers one queue per peer (issue 13): a peer that is down or slow
// holds up its own messages only, the messages to one peer still go in outbox order, and the
// sender stops cleanly with a request in flight. Real HTTP on loopback, real LMDB; the dead
// peer is a loopback listener that accepts and never answers.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "crypto/keys.hpp"
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

  a.federation.start();
  // b's messages (its ping and the profiles.sync of peering) are delivered ...
  REQUIRE(eventually([&] { return entries_to(a, "b.example").empty(); }));
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

  // The dead peer's messages are kept for later, backed off after the one timed-out attempt.
  auto left = entries_to(a, "dead.example");
  REQUIRE(!left.empty());
  std::uint32_t attempts = 0;
  for (const auto& e : left) {
    CHECK(e.state == relay::node::federation::OutboxState::pending);
    attempts += e.attempts;
  }
  CHECK(attempts == 1);  // stop() let the request in flight end, and tried nothing more
}

TEST_CASE("sender: stops cleanly with a request in flight to a dead peer") {
  FederationSite a("a.example", "JP-28");
  SilentListener dead;
  a.config.federation.request_timeout_ms = 2s;
  add_known_peer(a, "dead.example", dead.url());
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
  std::uint32_t attempts = 0;
  for (const auto& e : left) {
    CHECK(e.state == relay::node::federation::OutboxState::pending);
    attempts += e.attempts;
    if (e.attempts > 0) CHECK(!e.last_error.empty());
  }
  CHECK(attempts == 1);
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
