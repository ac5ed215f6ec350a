// The inbox verifies before any I/O (issue 13, issue 17 finding 2): an envelope signed with
// a key the node does not know is refused at once, without an outbound request and without
// a commit; the peer's identity is refreshed in the background, at most once per
// federation.identity_refresh_min_s; a key.rotated announcement is verified offline.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "crypto/keys.hpp"
#include "crypto/random.hpp"
#include "protocol/envelope.hpp"
#include "support/federation_site.hpp"
#include "support/silent_listener.hpp"

using relay::test::FederationSite;
using relay::test::SilentListener;
namespace fed = relay::node::federation;
namespace st = relay::node::storage;
using namespace std::chrono_literals;

namespace {

std::string forged(FederationSite& to, const std::string& from, const std::string& type = "ping",
                   nlohmann::json body = nlohmann::json::object()) {
  relay::protocol::Envelope e;
  e.type = type;
  e.id = "msg_" + relay::crypto::random_token(16);
  e.from = from;
  e.to = to.name();
  e.ts_ms = to.clock.now_ms();
  e.body = std::move(body);
  return relay::protocol::encode_envelope(e, relay::crypto::Ed25519KeyPair::generate());
}

std::string code_of(const fed::Received& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("error")) return "(none)";
  return j["error"]["code"].get<std::string>();
}

// Waits briefly for the listener's accept thread to see connections already made.
std::size_t settled_connections(const SilentListener& l) {
  std::this_thread::sleep_for(100ms);
  return l.connections();
}

std::uint64_t ledger_size(FederationSite& s) {
  auto txn = s.env.begin_read();
  return s.ledger.size(txn);
}

void add_peer(FederationSite& site, const std::string& name, const std::string& url,
              const std::string& fp) {
  auto error = site.writer.submit_wait(
      [&](st::WriteTxn& txn) { return site.federation.peers().add(txn, name, url, fp); });
  REQUIRE(error == fed::AddError::none);
}

}  // namespace

TEST_CASE(
    "inbox: a forged envelope with an unknown key is refused without I/O or commit; refresh runs "
    "in the background, rate limited") {
  FederationSite x("x.example", "JP-28");
  x.config.federation.request_timeout_ms = 300ms;
  SilentListener evil;
  add_peer(x, "evil.example", evil.url(),
           relay::crypto::Ed25519KeyPair::generate().public_key.fingerprint());

  auto commits = x.writer.stats().requests_committed;
  auto batches = x.writer.stats().batches_committed;
  auto size = ledger_size(x);

  auto started = std::chrono::steady_clock::now();
  auto r = x.federation.receive(forged(x, "evil.example"));
  auto took = std::chrono::steady_clock::now() - started;
  CHECK(r.status == 403);
  CHECK(code_of(r) == "unknown_key");
  CHECK(took < 100ms);  // request_timeout_ms is 300 ms: nothing waited for the listener
  CHECK(settled_connections(evil) == 0);
  CHECK(x.writer.stats().requests_committed == commits);
  CHECK(x.writer.stats().batches_committed == batches);
  CHECK(ledger_size(x) == size);

  // The refresh was scheduled; the refresh loop (run here by hand) makes the one request.
  CHECK(x.federation.run_refreshes() == 1);
  CHECK(settled_connections(evil) == 1);

  // Within identity_refresh_min_s (60 s) more forged envelopes schedule nothing.
  for (int i = 0; i < 20; ++i) {
    auto again = x.federation.receive(forged(x, "evil.example"));
    CHECK(code_of(again) == "unknown_key");
  }
  CHECK(x.federation.run_refreshes() == 0);
  CHECK(settled_connections(evil) == 1);
  CHECK(x.writer.stats().requests_committed == commits);

  // After the interval, one more.
  x.clock.advance(61s);
  CHECK(code_of(x.federation.receive(forged(x, "evil.example"))) == "unknown_key");
  CHECK(x.federation.run_refreshes() == 1);
  CHECK(settled_connections(evil) == 2);

  // Every refusal is still listed for the operator (the log is what is rate limited).
  std::size_t listed = 0;
  for (const auto& refusal : x.federation.refusals())
    if (refusal.from == "evil.example" && refusal.reason.rfind("unknown_key", 0) == 0) ++listed;
  CHECK(listed == 22);
}

TEST_CASE("inbox: unknown peers and suspended peers are refused without a refresh") {
  FederationSite x("x.example", "JP-28");
  SilentListener evil;
  add_peer(x, "evil.example", evil.url(),
           relay::crypto::Ed25519KeyPair::generate().public_key.fingerprint());
  x.writer.submit_wait(
      [&](st::WriteTxn& txn) { x.federation.peers().set_active(txn, "evil.example", false); });
  CHECK(code_of(x.federation.receive(forged(x, "evil.example"))) == "peer_suspended");
  CHECK(code_of(x.federation.receive(forged(x, "nobody.example"))) == "unknown_peer");
  CHECK(x.federation.run_refreshes() == 0);
  CHECK(settled_connections(evil) == 0);
}

TEST_CASE(
    "inbox: key.rotated is verified offline: a forged announcement commits nothing, a real one is "
    "learnt") {
  FederationSite x("x.example", "JP-28");
  FederationSite b("b.example", "JP-27");
  x.peer_with(b);
  b.peer_with(x);
  auto old_fp = b.keys.current()->signing.public_key.fingerprint();

  // A self-signed identity for b.example under a random key, not chained to the pinned key.
  SUBCASE("forged") {
    auto impostor = relay::crypto::Ed25519KeyPair::generate();
    relay::protocol::IdentityDocument doc;
    doc.node = "b.example";
    doc.region = "JP-27";
    doc.url = b.url;
    doc.signing_key = impostor.public_key;
    doc.encryption_key = relay::crypto::X25519KeyPair::generate().public_key;
    doc.issued_ms = x.clock.now_ms();
    relay::protocol::Envelope e;
    e.type = "key.rotated";
    e.id = "msg_" + relay::crypto::random_token(16);
    e.from = "b.example";
    e.to = "x.example";
    e.ts_ms = x.clock.now_ms();
    e.body = {{"identity", relay::protocol::encode_identity(doc, impostor)}};
    auto commits = x.writer.stats().requests_committed;
    auto r = x.federation.receive(relay::protocol::encode_envelope(e, impostor));
    CHECK(code_of(r) == "unknown_key");
    CHECK(x.writer.stats().requests_committed == commits);
    auto txn = x.env.begin_read();
    CHECK(x.federation.peers().find(txn, "b.example")->fingerprint == old_fp);
  }
  SUBCASE("real") {
    b.federation.rotate_keys();
    CHECK(b.deliver() >= 1);  // key.rotated, signed by the new key, carrying the new identity
    auto txn = x.env.begin_read();
    auto peer = x.federation.peers().find(txn, "b.example");
    CHECK(peer->fingerprint == b.keys.current()->signing.public_key.fingerprint());
    CHECK(peer->fingerprint != old_fp);
    CHECK(x.federation.run_refreshes() == 0);  // learnt from the announcement, no fetch needed
  }
}
