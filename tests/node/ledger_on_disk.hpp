#pragma once
// A ledger on a real LMDB environment in a temporary directory, and the check that its proofs
// are those of protocol::MemoryTree over the same entries (ledger_cache_test,
// ledger_hash_file_test).
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "crypto/bytes.hpp"
#include "node/common/clock.hpp"
#include "node/identity/key_ring.hpp"
#include "node/ledger/ledger.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/txn.hpp"
#include "protocol/event.hpp"
#include "protocol/merkle.hpp"
#include "support/temp_dir.hpp"

namespace relay::test {

struct LedgerOnDisk {
  TempDir dir{"ledger-on-disk"};
  node::identity::KeyRing keys{node::identity::NodeKeys::generate()};
  node::storage::Environment env = node::storage::Environment::open(dir.path / "lmdb");
  node::common::ManualClock clock;
  node::ledger::Ledger ledger{env, "ledger-test.relaynode", keys, clock};
  std::filesystem::path hash_file = dir.path / node::ledger::kHashFileName;

  void append(node::storage::WriteTxn& txn, const std::string& tag, int count) {
    for (int i = 0; i < count; ++i)
      ledger.append(txn, protocol::Event{"test_event", {{"tag", tag}, {"i", i}}});
  }
  // The same in a write txn of its own, committed.
  void append(const std::string& tag, int count) {
    auto txn = env.begin_write();
    append(txn, tag, count);
    txn.commit();
  }
  // The tree the committed entries make, rebuilt from their bytes.
  protocol::MemoryTree reference() {
    protocol::MemoryTree tree;
    auto txn = env.begin_read();
    for (std::uint64_t i = 0, n = ledger.size(txn); i < n; ++i)
      tree.append(crypto::as_bytes(*ledger.entry(txn, i)));
    return tree;
  }
};

// Every third inclusion proof and a spread of consistency proofs and roots, read twice (the
// second time from what the ledger keeps), equal the reference tree's.
inline void check_proofs(LedgerOnDisk& site) {
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

}  // namespace relay::test
