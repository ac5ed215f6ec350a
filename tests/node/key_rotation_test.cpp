// Key rotation under concurrent sealed deliveries (issue 13): retired encryption keys live in
// the KeyRing snapshot, so a rotation on one thread and open() on the Writer thread never
// share a mutable container. Run under ThreadSanitizer too (build-tsan, see the release note).
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "crypto/random.hpp"
#include "protocol/envelope.hpp"
#include "support/federation_site.hpp"

using relay::test::FederationSite;
namespace fed = relay::node::federation;
namespace st = relay::node::storage;

TEST_CASE("key rotation: sealed deliveries keep opening while the recipient rotates its keys") {
  FederationSite a("a.example", "JP-28");
  FederationSite b("b.example", "JP-27");
  a.peer_with(b);
  b.peer_with(a);

  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  constexpr int kRotations = 8;
  std::atomic<int> opened{0};
  a.federation.on_request(
      "test.sealed", [&](st::WriteTxn&, const relay::protocol::Envelope& e, const fed::Peer& peer) {
        auto body = a.federation.open(e, peer);  // on the Writer thread, as handoff.deliver does
        if (!body) return fed::HandlerResult::refuse(503, "not_opened", "sealed body did not open");
        opened.fetch_add(1);
        return fed::HandlerResult::accept({{"n", body->payload.at("n")}});
      });

  std::atomic<int> delivered{0};
  std::atomic<int> lost{0};
  std::atomic<int> retried{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Sealed to whichever encryption key a had published when b sealed it.
        auto a_key = a.keys.current()->encryption.public_key;
        auto b_keys = b.keys.current();
        relay::protocol::Envelope e;
        e.type = "test.sealed";
        e.id = "msg_" + relay::crypto::random_token(16);
        e.from = "b.example";
        e.to = "a.example";
        e.body = relay::protocol::seal_body({{"n", t * kPerThread + i}}, e.from, e.to, e.id,
                                            b_keys->signing, a_key);
        bool done = false;
        for (int attempt = 0; attempt < 5 && !done; ++attempt) {
          e.ts_ms = b.clock.now_ms();
          auto r = a.federation.receive(relay::protocol::encode_envelope(e, b_keys->signing));
          if (r.status == 200) {
            done = true;
          } else if (r.status == 503 || r.status == 403) {
            retried.fetch_add(1);  // refused cleanly with a retryable code: the sender retries
          } else {
            break;
          }
        }
        (done ? delivered : lost).fetch_add(1);
      }
    });
  }
  for (int i = 0; i < kRotations; ++i) a.federation.rotate_keys();
  for (auto& s : senders) s.join();

  CHECK(lost.load() == 0);
  CHECK(delivered.load() == kThreads * kPerThread);
  CHECK(opened.load() == kThreads * kPerThread);
  CHECK(a.keys.current()->retired_encryption.size() == static_cast<std::size_t>(kRotations));
  MESSAGE("retryable refusals: " << retried.load());
}

TEST_CASE("key rotation: retired encryption keys are reloaded from disk into the snapshot") {
  FederationSite a("a.example", "JP-28");
  a.keys.current()->save(a.dir / "keys");
  a.federation.rotate_keys();
  a.federation.rotate_keys();
  auto reloaded = relay::node::identity::NodeKeys::load(a.dir / "keys");
  REQUIRE(reloaded.retired_encryption.size() == 2);
  CHECK(reloaded.encryption.public_key == a.keys.current()->encryption.public_key);
  for (const auto& old : reloaded.retired_encryption)
    CHECK(old.public_key != reloaded.encryption.public_key);
}
