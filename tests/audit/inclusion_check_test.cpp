// audit: `inclusion SOURCE --index I` over export directories.
#include "audit/inclusion_check.hpp"

#include <doctest/doctest.h>

#include "audit/export_dir_source.hpp"
#include "audit/synthetic_log.hpp"

using relay::audit::check_inclusion;
using relay::audit::ExportDirSource;
using relay::test::SyntheticLog;
using relay::test::TempDir;
using relay::test::write_text;

TEST_SUITE_BEGIN("audit");

TEST_CASE("inclusion: every entry of an export is proven in its signed tree") {
  TempDir dir("audit-inclusion");
  SyntheticLog log(2);
  auto acme = log.admit("acme");
  for (int i = 0; i < 6; ++i) log.refer(acme);  // 11 entries: an uneven tree
  log.write(dir.path);
  ExportDirSource source(dir.path);
  for (std::uint64_t i = 0; i < log.entries().size(); ++i) {
    auto report = check_inclusion(source, i, std::nullopt);
    INFO("index " << i);
    CHECK(report.ok());
    CHECK(report.entry == log.entries()[i]);
    CHECK(report.signature_valid == true);
    CHECK(report.proof_length > 0);
  }
  auto beyond = check_inclusion(source, 11, std::nullopt);
  CHECK(beyond.problems.mentions("entry 11: not in the signed tree of 11 entries"));
}

TEST_CASE("inclusion: a tampered entry or a forged checkpoint fails") {
  TempDir dir("audit-inclusion-bad");
  SyntheticLog log(2);
  auto acme = log.admit("acme");
  for (int i = 0; i < 4; ++i) log.refer(acme);
  log.write(dir.path);
  auto checkpoint = log.checkpoint();

  SUBCASE("tampered entry") {
    auto& entry = log.entries()[3];
    entry[entry.find("\"time\":") + 8] ^= 0x01;
    write_text(dir.path / "entries.jsonl", log.entries_file());
    ExportDirSource source(dir.path);
    auto report = check_inclusion(source, 3, std::nullopt);
    CHECK(report.problems.mentions("entry 3: signature invalid"));
    CHECK(report.problems.mentions(
        "entry 3: inclusion proof does not lead to the checkpoint's root"));
    CHECK(check_inclusion(source, 2, std::nullopt)
              .problems.mentions("inclusion proof does not lead"));
  }
  SUBCASE("forged checkpoint") {
    auto other = relay::crypto::Ed25519KeyPair::generate();
    write_text(dir.path / "checkpoint", log.checkpoint(log.entries().size(), &other));
    ExportDirSource source(dir.path);
    CHECK(check_inclusion(source, 1, std::nullopt)
              .problems.mentions("checkpoint: signature invalid"));
  }
  SUBCASE("an entry from before a key rotation") {
    log.rotate();
    log.refer(acme);
    log.write(dir.path / "rotated");
    ExportDirSource source(dir.path / "rotated");
    auto report = check_inclusion(source, 2, std::nullopt);
    CHECK(report.ok());
    CHECK_FALSE(report.signature_valid.has_value());
  }
}

TEST_SUITE_END();
