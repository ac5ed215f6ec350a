// node/ledger: the export an auditor verifies, written from a real LMDB ledger (no Node, no
// HTTP) and checked with the auditor's own library; proofs served from storage verify against
// the node's checkpoint.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "audit/consistency_check.hpp"
#include "audit/export_dir_source.hpp"
#include "audit/log_verifier.hpp"
#include "crypto/bytes.hpp"
#include "crypto/random.hpp"
#include "node/common/clock.hpp"
#include "node/identity/key_ring.hpp"
#include "node/ledger/export.hpp"
#include "node/ledger/ledger.hpp"
#include "node/members/member.hpp"
#include "node/referrals/credit_account.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/txn.hpp"
#include "protocol/checkpoint.hpp"
#include "protocol/event.hpp"
#include "support/vectors.hpp"

namespace fs = std::filesystem;
namespace node = relay::node;
namespace protocol = relay::protocol;

namespace {

constexpr std::uint32_t kRatio = 3;

// A ledger with its members and credit accounts on LMDB in a temporary directory, written
// the way the node writes (one write transaction per change), without a Node.
struct LedgerSite {
  // Removed last, after the environment has closed.
  struct Dir {
    fs::path path = relay::test::make_temp_dir("ledger-export");
    ~Dir() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } scratch;
  fs::path dir = scratch.path;
  node::identity::KeyRing keys{node::identity::NodeKeys::generate()};
  node::storage::Environment env = node::storage::Environment::open(dir / "lmdb");
  node::common::ManualClock clock;
  node::ledger::Ledger ledger{env, "export-test.relaynode", keys, clock};
  node::members::Registry members{env, ledger, keys};
  node::referrals::CreditAccounts credits{env, ledger, kRatio};
  std::mt19937_64 rng{42};
  int next_referral = 0;

  LedgerSite() {
    auto txn = env.begin_write();
    auto current = keys.current();
    ledger.append(txn, protocol::node_initialised("JP-28", kRatio, current->signing.public_key,
                                                  current->encryption.public_key));
    txn.commit();
  }
  LedgerSite(const LedgerSite&) = delete;
  LedgerSite& operator=(const LedgerSite&) = delete;

  std::string admit(const std::string& name) {
    auto txn = env.begin_write();
    auto result = members.admit(txn, name);
    txn.commit();
    REQUIRE(result.ok());
    return result->member.id;
  }
  void suspend(const std::string& id, bool active = false) {
    auto txn = env.begin_write();
    members.set_active(txn, id, active);
    txn.commit();
  }
  // A verified referral of a random candidate (counted if the member is active).
  void refer(const std::string& id) {
    auto txn = env.begin_write();
    bool active = members.find(txn, id)->active;
    credits.record_verified(txn, id, "r" + std::to_string(next_referral++),
                            relay::crypto::to_hex(relay::crypto::random_bytes(32)), active);
    txn.commit();
  }
  // What `relay-node export` takes as balances: every member's credit account.
  node::ledger::BalancesView balances() {
    return [this](const node::storage::Txn& txn) {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& m : members.list(txn)) out[m.id] = credits.account(txn, m.id).to_json();
      return out;
    };
  }
  node::ledger::ExportResult export_to(const fs::path& where) {
    return node::ledger::export_ledger(env, ledger, balances(), where);
  }
  // Rotates the signing key as the federation does: key_rotated under the old key, then the
  // ring takes the new one.
  void rotate() {
    auto old = keys.current();
    node::identity::NodeKeys next{relay::crypto::Ed25519KeyPair::generate(),
                                  relay::crypto::X25519KeyPair::generate(),
                                  old->data_key.clone(),
                                  old->pseudonym_key.clone(),
                                  old->token_key.clone(),
                                  {}};
    auto txn = env.begin_write();
    ledger.append(txn, protocol::key_rotated(old->signing.public_key, next.signing.public_key,
                                             next.encryption.public_key));
    txn.commit();
    keys.replace(std::move(next));
  }
  // A random workload over three members (admitted on the first call).
  void workload(int steps) {
    if (ids.empty())
      for (const char* name : {"Acme KK", "Beta GK", "株式会社ガンマ"}) ids.push_back(admit(name));
    for (int i = 0; i < steps; ++i) {
      const auto& id = ids[rng() % ids.size()];
      if (rng() % 15 == 0)
        suspend(id, rng() % 2 == 0);
      else
        refer(id);
    }
    for (const auto& id : ids) suspend(id, true);
  }
  std::vector<std::string> ids;
};

relay::audit::VerifyReport verify(const fs::path& dir) {
  relay::audit::ExportDirSource source(dir);
  return relay::audit::verify_log(source, {});
}

std::string problems_of(const relay::audit::VerifyReport& report) {
  std::string out;
  for (const auto& p : report.problems.kept()) out += p.text() + "\n";
  return out;
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST_SUITE_BEGIN("ledger");

TEST_CASE("ledger export: the auditor's verifier accepts what the node exports") {
  LedgerSite site;
  site.workload(60);
  const auto out = site.dir / "export";
  auto result = site.export_to(out);
  REQUIRE(result);
  const auto& summary = *result.summary;

  std::uint64_t size = 0;
  {
    auto txn = site.env.begin_read();
    size = site.ledger.size(txn);
    CHECK(summary.root == site.ledger.root(txn, size));
  }
  CHECK(summary.size == size);
  CHECK(summary.members == 3);
  CHECK(summary.fingerprint == site.keys.current()->signing.public_key.fingerprint());

  auto report = verify(out);
  INFO(problems_of(report));
  CHECK(report.ok());
  CHECK(report.entries == size);
  CHECK(report.balances.size() == 3);
  // The recomputed balances are the node's own accounts.
  auto txn = site.env.begin_read();
  for (const auto& m : site.members.list(txn)) {
    auto account = site.credits.account(txn, m.id);
    const auto& ours = report.balances.at(m.id);
    CHECK(ours.verified_referrals == account.counted);
    CHECK(ours.credits_minted == account.minted);
    CHECK(ours.balance == account.balance());
  }
  // The documented layout.
  CHECK(read(out / "entries.jsonl").size() > 0);
  CHECK(read(out / "key.json").back() == '\n');
  CHECK(read(out / "checkpoint").find(site.ledger.origin() + "\n" + std::to_string(size) + "\n") ==
        0);
}

TEST_CASE("ledger export: refuses a directory that is not empty, or not a directory") {
  LedgerSite site;
  const auto out = site.dir / "export";
  REQUIRE(site.export_to(out));
  auto again = site.export_to(out);
  CHECK_FALSE(again);
  CHECK(again.error == node::ledger::ExportError::not_empty);
  std::ofstream(site.dir / "file") << "x";
  auto file = site.export_to(site.dir / "file");
  CHECK(file.error == node::ledger::ExportError::not_a_directory);
  fs::create_directories(site.dir / "empty");
  CHECK(site.export_to(site.dir / "empty"));
}

TEST_CASE("ledger export: successive exports are consistent, across a key rotation") {
  LedgerSite site;
  site.workload(20);
  REQUIRE(site.export_to(site.dir / "first"));
  site.rotate();
  site.workload(20);
  REQUIRE(site.export_to(site.dir / "second"));

  auto report = verify(site.dir / "second");
  INFO(problems_of(report));
  CHECK(report.ok());
  CHECK(report.key_rotations == 1);
  auto consistency = relay::audit::check_consistency((site.dir / "first").string(),
                                                     (site.dir / "second").string(), {});
  CHECK(consistency.ok());
  CHECK(consistency.proof_length > 0);
}

TEST_CASE("ledger proofs from storage verify against the node's signed checkpoint") {
  LedgerSite site;
  site.workload(50);
  auto txn = site.env.begin_read();
  const auto checkpoint = site.ledger.checkpoint(txn);
  auto vkey = protocol::parse_vkey(site.ledger.verifier_key());
  REQUIRE(vkey);
  auto opened = protocol::open_checkpoint(checkpoint.note, site.ledger.origin(), *vkey);
  REQUIRE(opened);
  const auto& signed_tree = opened.opened->checkpoint;
  CHECK(signed_tree.size == checkpoint.size);

  for (std::uint64_t i = 0; i < signed_tree.size; ++i) {
    auto entry = site.ledger.entry(txn, i);
    REQUIRE(entry);
    auto proof = site.ledger.inclusion_proof(txn, i, signed_tree.size);
    REQUIRE(proof);
    CHECK(protocol::verify_inclusion(i, signed_tree.size,
                                     protocol::leaf_hash(relay::crypto::as_bytes(*entry)), *proof,
                                     signed_tree.root));
  }
  for (std::uint64_t m = 1; m < signed_tree.size; m += 7) {
    auto proof = site.ledger.consistency_proof(txn, m, signed_tree.size);
    REQUIRE(proof);
    CHECK(protocol::verify_consistency(m, signed_tree.size, *proof, site.ledger.root(txn, m),
                                       signed_tree.root));
  }
  CHECK_FALSE(site.ledger.inclusion_proof(txn, 0, signed_tree.size + 1));
}

TEST_SUITE_END();
