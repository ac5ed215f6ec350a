// node/ledger: the upper subtree hashes the ledger keeps in memory (subtree_cache.hpp). Real
// LMDB; every proof is checked against protocol::MemoryTree over the same entries, so a stale
// or wrong cached hash fails here.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ledger_on_disk.hpp"
#include "node/ledger/ledger.hpp"
#include "node/ledger/subtree_cache.hpp"
#include "protocol/merkle.hpp"

namespace node = relay::node;
namespace protocol = relay::protocol;

using relay::test::check_proofs;
using relay::test::LedgerOnDisk;

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
