// audit: `consistency OLD NEW` over export directories and checkpoint files: a log that grew
// is consistent, a fork is not, and signatures are checked on both sides.
#include "audit/consistency_check.hpp"

#include <doctest/doctest.h>

#include "audit/log_source.hpp"
#include "audit/synthetic_log.hpp"
#include "protocol/event.hpp"

namespace fs = std::filesystem;
using relay::audit::check_consistency;
using relay::audit::ConsistencyReport;
using relay::test::SyntheticLog;
using relay::test::TempDir;
using relay::test::write_text;

namespace {

std::string problems_of(const ConsistencyReport& report) {
  std::string out;
  for (const auto& p : report.problems.kept()) out += p.text() + "\n";
  return out;
}

std::string vkey_of(const SyntheticLog& log, const relay::crypto::Ed25519KeyPair& key) {
  return relay::protocol::make_vkey(*relay::protocol::make_verifier_key(
      log.origin(), relay::protocol::NoteKeyType::ed25519, key.public_key));
}

void grow(SyntheticLog& log, const std::string& member, int referrals) {
  for (int i = 0; i < referrals; ++i) log.refer(member);
}

}  // namespace

TEST_SUITE_BEGIN("audit");

TEST_CASE("consistency: every earlier export of a log is consistent with a later one") {
  TempDir dir("audit-consistent");
  SyntheticLog log(4);
  auto acme = log.admit("acme");
  std::vector<fs::path> exports;
  for (int step = 0; step < 6; ++step) {
    exports.push_back(dir.path / ("export-" + std::to_string(step)));
    log.write(exports.back());
    grow(log, acme, step + 1);
  }
  for (std::size_t i = 0; i < exports.size(); ++i) {
    for (std::size_t j = i; j < exports.size(); ++j) {
      auto report = check_consistency(exports[i].string(), exports[j].string(), {});
      INFO(i << " -> " << j << "\n" << problems_of(report));
      CHECK(report.ok());
      REQUIRE(report.old_checkpoint);
      REQUIRE(report.new_checkpoint);
      CHECK(report.old_checkpoint->size <= report.new_checkpoint->size);
      if (report.old_checkpoint->size < report.new_checkpoint->size) CHECK(report.proof_length > 0);
    }
  }
  // A bare checkpoint file for OLD, with the key given on the command line.
  write_text(dir.path / "old.checkpoint", log.checkpoint(5));
  auto report = check_consistency((dir.path / "old.checkpoint").string(), exports.back().string(),
                                  {{vkey_of(log, log.key())}, std::nullopt});
  INFO(problems_of(report));
  CHECK(report.ok());
}

TEST_CASE("consistency: a fork is found") {
  TempDir dir("audit-fork");
  SyntheticLog log(4);
  auto acme = log.admit("acme");
  grow(log, acme, 5);  // 8 entries
  log.write(dir.path / "a");
  write_text(dir.path / "a-at-7", log.checkpoint(7));
  // The node rewrites history from entry 6 on and shows a second, longer tree.
  log.entries().resize(6);
  log.admit("rewritten");
  grow(log, acme, 3);
  log.write(dir.path / "b");
  write_text(dir.path / "b-at-8", log.checkpoint(8));

  auto report = check_consistency((dir.path / "a").string(), (dir.path / "b").string(), {});
  INFO(problems_of(report));
  CHECK(report.problems.total() == 1);
  CHECK(report.problems.mentions(
      "checkpoints: not consistent: the tree of 11 entries does not extend the tree of 8 (fork)"));

  auto vkeys = relay::audit::ConsistencyOptions{{vkey_of(log, log.key())}, std::nullopt};
  report = check_consistency((dir.path / "a-at-7").string(), (dir.path / "b").string(), vkeys);
  CHECK(report.problems.mentions("(fork)"));
  report = check_consistency((dir.path / "a").string(), (dir.path / "b-at-8").string(), vkeys);
  CHECK(
      report.problems.mentions("checkpoints: fork: both trees have 8 entries but different roots"));
  // The shared prefix is consistent with both.
  write_text(dir.path / "at-6", log.checkpoint(6));
  CHECK(check_consistency((dir.path / "at-6").string(), (dir.path / "a").string(), vkeys).ok());
  CHECK(check_consistency((dir.path / "at-6").string(), (dir.path / "b").string(), vkeys).ok());
}

TEST_CASE("consistency: signatures, order and what cannot be proven") {
  TempDir dir("audit-consistency-edges");
  SyntheticLog log(4);
  auto acme = log.admit("acme");
  grow(log, acme, 4);
  write_text(dir.path / "at-3", log.checkpoint(3));
  log.write(dir.path / "now");
  const auto vkeys = relay::audit::ConsistencyOptions{{vkey_of(log, log.key())}, std::nullopt};
  const auto at3 = (dir.path / "at-3").string();
  const auto now = (dir.path / "now").string();

  SUBCASE("OLD signed by another key") {
    auto other = relay::crypto::Ed25519KeyPair::generate();
    write_text(dir.path / "forged", log.checkpoint(3, &other));
    auto report = check_consistency((dir.path / "forged").string(), now, vkeys);
    INFO(problems_of(report));
    CHECK(report.problems.mentions("old checkpoint: signature invalid"));
  }
  SUBCASE("OLD and NEW swapped") {
    auto report = check_consistency(now, at3, vkeys);
    CHECK(report.problems.mentions("the log shrank, or OLD and NEW are swapped"));
  }
  SUBCASE("no key to check the notes with") {
    CHECK_THROWS_AS(check_consistency(at3, at3, {}), relay::audit::SourceError);
  }
  SUBCASE("NEW a bare checkpoint of another size: no proof can be had") {
    write_text(dir.path / "at-5", log.checkpoint(5));
    CHECK_THROWS_AS(check_consistency(at3, (dir.path / "at-5").string(), vkeys),
                    relay::audit::SourceError);
    CHECK(check_consistency(at3, at3, vkeys).ok());  // equal sizes need no proof
  }
  SUBCASE("a key rotation between the two exports") {
    log.write(dir.path / "before");
    log.rotate();
    grow(log, acme, 2);
    log.write(dir.path / "after");
    auto report =
        check_consistency((dir.path / "before").string(), (dir.path / "after").string(), {});
    INFO(problems_of(report));
    CHECK(report.ok());
  }
  SUBCASE("an unreadable location") {
    CHECK_THROWS_AS(check_consistency((dir.path / "missing").string(), now, vkeys),
                    relay::audit::SourceError);
  }
}

TEST_SUITE_END();
