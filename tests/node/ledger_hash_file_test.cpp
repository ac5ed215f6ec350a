// node/ledger/hash_file: the tree's hashes in a flat file in Go tlog's stored order, read with
// pread() by proofs. Real LMDB and real files; every hash and proof is checked against
// protocol::MemoryTree over the same entries.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "ledger_on_disk.hpp"
#include "node/ledger/hash_file.hpp"
#include "node/ledger/ledger.hpp"
#include "node/storage/map_budget.hpp"
#include "protocol/merkle.hpp"

namespace node = relay::node;
namespace protocol = relay::protocol;
namespace fs = std::filesystem;
using node::ledger::HashFile;
using node::ledger::stored_hash_count;
using node::ledger::stored_hash_index;
using relay::test::check_proofs;
using relay::test::LedgerOnDisk;

namespace {

// Every complete subtree of the tree the file holds, as the reference tree has it.
void check_file(const fs::path& path, const protocol::MemoryTree& tree) {
  HashFile file(path);
  REQUIRE(file.leaves() == tree.size());
  CHECK(fs::file_size(path) == 32 + 32 * stored_hash_count(tree.size()));
  for (std::uint8_t l = 0; (tree.size() >> l) > 0; ++l)
    for (std::uint64_t j = 0; j < (tree.size() >> l); ++j)
      CHECK(file.find(l, j) == tree.subtree(l, j));
  CHECK_FALSE(file.find(0, tree.size()));  // past what it holds
}

}  // namespace

TEST_SUITE_BEGIN("ledger");

TEST_CASE("hash file: the stored order is Go tlog's") {
  // tlog's StoredHashIndex for the first eight leaves: each leaf, then what it completes.
  const std::vector<std::pair<int, int>> order = {{0, 0}, {0, 1}, {1, 0}, {0, 2}, {0, 3},
                                                  {1, 1}, {2, 0}, {0, 4}, {0, 5}, {1, 2},
                                                  {0, 6}, {0, 7}, {1, 3}, {2, 1}, {3, 0}};
  for (std::size_t i = 0; i < order.size(); ++i)
    CHECK(stored_hash_index(order[i].first, order[i].second) == i);
  const std::vector<std::uint64_t> counts = {0, 1, 3, 4, 7, 8, 10, 11, 15};
  for (std::uint64_t n = 0; n < counts.size(); ++n) CHECK(stored_hash_count(n) == counts[n]);
  // Appending leaf n stores its hash and its completed parents right after the last one.
  std::uint64_t next = 0;
  for (std::uint64_t n = 0; n < 5000; ++n) {
    CHECK(stored_hash_count(n) == next);
    CHECK(stored_hash_index(0, n) == next++);
    for (std::uint8_t l = 1; (n >> (l - 1)) & 1; ++l) CHECK(stored_hash_index(l, n >> l) == next++);
  }
  CHECK(stored_hash_count(5000) == next);
  CHECK(next == 2 * 5000 - 5);  // 2n - popcount(n): 5000 has five bits set
}

TEST_CASE("hash file: holds the ledger's hashes, and proofs read from it are the reference's") {
  LedgerOnDisk site;
  site.append("a", 700);
  site.ledger.keep_hashes_in(site.env, site.hash_file);
  CHECK(site.ledger.hash_file_leaves() == 0);
  CHECK(site.ledger.write_hash_file(site.env, 100) == 100);  // at most what is asked
  CHECK(site.ledger.hash_file_leaves() == 100);
  check_proofs(site);  // the file holds part of the tree: the rest is read from LMDB
  CHECK(site.ledger.write_hash_file(site.env, 1'000'000) == 600);
  CHECK(site.ledger.write_hash_file(site.env, 1'000'000) == 0);
  check_file(site.hash_file, site.reference());
  check_proofs(site);

  // Later commits are copied in; a ledger opened again keeps what the file holds.
  site.append("b", 333);
  CHECK(site.ledger.write_hash_file(site.env, 1'000'000) == 333);
  check_file(site.hash_file, site.reference());
  node::ledger::Ledger again{site.env, "ledger-test.relaynode", site.keys, site.clock};
  again.keep_hashes_in(site.env, site.hash_file);
  CHECK(again.hash_file_leaves() == 1033);
}

TEST_CASE("hash file: a file that does not match the ledger starts again") {
  LedgerOnDisk site;
  site.append("a", 300);
  LedgerOnDisk other;
  other.append("other", 200);
  other.ledger.keep_hashes_in(other.env, other.hash_file);
  CHECK(other.ledger.write_hash_file(other.env, 1'000'000) == 200);

  SUBCASE("another ledger's file") {
    fs::copy_file(other.hash_file, site.hash_file);
    site.ledger.keep_hashes_in(site.env, site.hash_file);
    CHECK(site.ledger.hash_file_leaves() == 0);
  }
  SUBCASE("a file of more leaves than the ledger (a restored directory)") {
    site.ledger.keep_hashes_in(site.env, site.hash_file);
    CHECK(site.ledger.write_hash_file(site.env, 1'000'000) == 300);
    LedgerOnDisk restored;
    restored.append("a", 10);
    fs::copy_file(site.hash_file, restored.hash_file);
    restored.ledger.keep_hashes_in(restored.env, restored.hash_file);
    CHECK(restored.ledger.hash_file_leaves() == 0);
  }
  SUBCASE("a count the file's length does not back (hashes lost after the count)") {
    fs::copy_file(other.hash_file, site.hash_file);
    fs::resize_file(site.hash_file, fs::file_size(site.hash_file) - 32);
    HashFile file(site.hash_file);
    CHECK(file.leaves() == 0);
  }
  SUBCASE("not a hash file") {
    {
      std::ofstream out(site.hash_file);
      out << "something else entirely, and long enough to be read as a header";
    }
    HashFile file(site.hash_file);
    CHECK(file.leaves() == 0);
    CHECK(fs::file_size(site.hash_file) == 32);
  }
  // Whatever it held, it is written again from the ledger and serves right proofs.
  site.ledger.keep_hashes_in(site.env, site.hash_file);
  site.ledger.write_hash_file(site.env, 1'000'000);
  CHECK(site.ledger.hash_file_leaves() == 300);
  check_file(site.hash_file, site.reference());
  check_proofs(site);
}

TEST_CASE("hash file: proofs read from it map none of the tree's pages") {
  // The finding (issue 19): with the map budget releasing the map, each proof at 10M entries
  // faulted a dozen tree pages in again (64 KiB each with fault-around), and consistency
  // proofs took 1.2-1.6 ms at p99. Read from the file, they map almost nothing.
  LedgerOnDisk site;
  site.append("a", 20000);
  const std::uint64_t n = 20000;
  auto mapped_by_proofs = [&](const node::ledger::Ledger& ledger) {
    std::mt19937_64 random(7);
    std::uniform_int_distribution<std::uint64_t> size(1, n - 1);
    site.env.release_mapped_pages();
    auto before = node::storage::resident_bytes();
    REQUIRE(before);
    auto txn = site.env.begin_read();
    for (int i = 0; i < 300; ++i) CHECK(ledger.consistency_proof(txn, size(random), n));
    auto after = node::storage::resident_bytes();
    REQUIRE(after);
    return after->file - before->file;
  };
  const auto without = mapped_by_proofs(site.ledger);
  node::ledger::Ledger with{site.env, "ledger-test.relaynode", site.keys, site.clock};
  with.keep_hashes_in(site.env, site.hash_file);
  REQUIRE(with.write_hash_file(site.env, n) == n);
  const auto from_file = mapped_by_proofs(with);
  MESSAGE("mapped by 300 proofs: " << without << " bytes from LMDB, " << from_file
                                   << " with the file");
  REQUIRE(without > (512u << 10));
  CHECK(from_file < without / 4);
}

TEST_SUITE_END();
