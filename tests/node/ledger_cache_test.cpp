// node/ledger: the upper subtree hashes the ledger keeps in memory (subtree_cache.hpp). Real
// LMDB; every proof is checked against protocol::MemoryTree over the same entries, so a stale
// or wrong cached hash fails here.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "crypto/bytes.hpp"
#include "node/common/clock.hpp"
#include "node/identity/key_ring.hpp"
#include "node/ledger/ledger.hpp"
#include "node/ledger/subtree_cache.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/txn.hpp"
#include "protocol/event.hpp"
#include "protocol/merkle.hpp"
#include "support/temp_dir.hpp"

namespace node = relay::node;
namespace protocol = relay::protocol;

namespace {

struct LedgerOnDisk {
  relay::test::TempDir dir{"ledger-cache"};
  node::identity::KeyRing keys{node::identity::NodeKeys::generate()};
  node::storage::Environment env = node::storage::Environment::open(dir.path / "lmdb");
  node::common::ManualClock clock;
  node::ledger::Ledger ledger{env, "cache-test.relaynode", keys, clock};

  void append(node::storage::WriteTxn& txn, const std::string& tag, int count) {
    for (int i = 0; i < count; ++i)
      ledger.append(txn, protocol::Event{"test_event", {{"tag", tag}, {"i", i}}});
  }
  // The tree the committed entries make, rebuilt from their bytes.
  protocol::MemoryTree reference() {
    protocol::MemoryTree tree;
    auto txn = env.begin_read();
    for (std::uint64_t i = 0, n = ledger.size(txn); i < n; ++i)
      tree.append(relay::crypto::as_bytes(*ledger.entry(txn, i)));
    return tree;
  }
};

// Every inclusion proof and a spread of consistency proofs, read twice (the second time from
// the cache), equal the reference tree's.
void check_proofs(LedgerOnDisk& site) {
  auto tree = site.reference();
  const auto n = tree.size();
  for (int pass = 0; pass < 2; ++pass) {
    auto txn = site.env.begin_read();
    CHECK(site.ledger.root(txn, n) == tree.root());
    for (std::uint64_t i = 0; i < n; i += 3)
      CHECK(*site.ledger.inclusion_proof(txn, i, n) == *tree.inclusion_proof(i, n));
    for (std::uint64_t m = 1; m < n; m += 37) {
      CHECK(*site.ledger.consistency_proof(txn, m, n) == *tree.consistency_proof(m, n));
      CHECK(site.ledger.root(txn, m) == tree.root(m));
    }
  }
}

}  // namespace

TEST_SUITE_BEGIN("ledger");

TEST_CASE("subtree cache: keeps upper levels only, and what it keeps it returns") {
  node::ledger::SubtreeCache cache;
  protocol::Hash h{};
  h[0] = 7;
  const auto low = node::ledger::SubtreeCache::kLowestLevel;
  cache.keep(low - 1, 3, h);
  CHECK_FALSE(cache.find(low - 1, 3));
  CHECK(cache.size() == 0);
  cache.keep(low, 1000, h);
  cache.keep(low, 1000, h);
  CHECK(cache.size() == 1);
  REQUIRE(cache.find(low, 1000));
  CHECK(*cache.find(low, 1000) == h);
  CHECK_FALSE(cache.find(low, 999));
  CHECK_FALSE(cache.find(low, 1'000'000));
  CHECK_FALSE(cache.find(low + 1, 1000));
}

TEST_CASE("ledger proofs through the subtree cache equal the reference tree's") {
  LedgerOnDisk site;
  {
    auto txn = site.env.begin_write();
    site.append(txn, "a", 700);
    txn.commit();
  }
  check_proofs(site);
  CHECK(site.ledger.cached_subtrees() > 0);

  // The tree grows: cached hashes of complete subtrees stay right, new ones are read.
  const auto before = site.ledger.cached_subtrees();
  {
    auto txn = site.env.begin_write();
    site.append(txn, "b", 333);
    txn.commit();
  }
  check_proofs(site);
  CHECK(site.ledger.cached_subtrees() > before);
}

// The case the cache must not get wrong: a Writer batch appends, reads proofs in its own txn,
// and rolls back; other entries then take the same indices. A hash read in that txn must not
// be kept.
TEST_CASE("ledger: hashes read in a write txn that rolls back are never cached") {
  LedgerOnDisk site;
  {
    auto txn = site.env.begin_write();
    site.append(txn, "base", 10);
    txn.commit();
  }
  {
    auto txn = site.env.begin_write();
    site.append(txn, "rolled-back", 300);
    const auto n = site.ledger.size(txn);
    for (std::uint64_t i = 0; i < n; i += 5) CHECK(site.ledger.inclusion_proof(txn, i, n));
    CHECK(site.ledger.consistency_proof(txn, 1, n));
    (void)site.ledger.root(txn, n);
    // Aborted: the txn ends without commit.
  }
  CHECK(site.ledger.cached_subtrees() == 0);
  {
    auto txn = site.env.begin_write();
    site.append(txn, "kept", 300);
    txn.commit();
  }
  check_proofs(site);
}

// A read txn's checkpoint is served from the last one a read txn computed at the same size,
// without the root: never from one computed in a write txn, whose entries may roll back and
// be replaced by others at the same indices.
TEST_CASE("ledger: a checkpoint of a rolled-back batch is never served to a read txn") {
  LedgerOnDisk site;
  auto committed = [&] {
    auto txn = site.env.begin_read();
    return site.ledger.checkpoint(txn);
  };
  {
    auto txn = site.env.begin_write();
    site.append(txn, "base", 10);
    txn.commit();
  }
  auto first = committed();
  CHECK(first.size == 10);
  CHECK(first.root == site.reference().root());
  CHECK(committed().note == first.note);  // served again, same size
  {
    auto txn = site.env.begin_write();
    site.append(txn, "rolled-back", 5);
    CHECK(site.ledger.checkpoint(txn).size == 15);
    // Aborted: the txn ends without commit.
  }
  {
    auto txn = site.env.begin_write();
    site.append(txn, "kept", 5);
    txn.commit();
  }
  auto second = committed();
  CHECK(second.size == 15);
  CHECK(second.root == site.reference().root());
  CHECK(committed().root == second.root);
}

TEST_SUITE_END();
