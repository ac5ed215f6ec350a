// audit: verify_log over synthetic export directories (no node): a valid log verifies, and
// every kind of tampering is found and named.
#include "audit/log_verifier.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <tuple>

#include "audit/export_dir_source.hpp"
#include "audit/synthetic_log.hpp"
#include "protocol/event.hpp"

namespace fs = std::filesystem;
using relay::audit::ExportDirSource;
using relay::audit::VerifyReport;
using relay::test::SyntheticLog;
using relay::test::TempDir;
using relay::test::write_text;

namespace {

VerifyReport verify(const fs::path& dir, unsigned threads = 1,
                    std::optional<std::string> vkey = std::nullopt) {
  ExportDirSource source(dir);
  return relay::audit::verify_log(source, {std::move(vkey), 1000, threads});
}

std::string problems_of(const VerifyReport& report) {
  std::string out;
  for (const auto& p : report.problems.kept()) out += p.text() + "\n";
  return out;
}

// 10 entries: init, 2 admissions, 4 counted referrals of acme (3 per credit: one mint),
// a spend, an uncounted referral of beta.
void build_small(SyntheticLog& log) {
  auto acme = log.admit("acme");
  auto beta = log.admit("beta");
  log.refer(acme);
  log.refer(acme);
  log.refer(beta);
  log.refer(acme);
  log.spend(acme);
  log.refer(beta, false);
}

// The line (entry position) that byte `offset` of an entries file belongs to.
std::size_t line_of(const std::string& text, std::size_t offset) {
  return static_cast<std::size_t>(
      std::count(text.begin(), text.begin() + static_cast<long>(offset), '\n'));
}

}  // namespace

TEST_SUITE_BEGIN("audit");

TEST_CASE("log verifier: a valid export verifies, its balances recomputed") {
  TempDir dir("audit-valid");
  SyntheticLog log;
  build_small(log);
  log.write(dir.path);
  for (unsigned threads : {1u, 2u, 4u}) {
    auto report = verify(dir.path, threads);
    INFO(problems_of(report));
    CHECK(report.ok());
    CHECK(report.entries == 10);
    CHECK(report.checkpoint_size == 10);
    CHECK(report.root == log.root(10));
    CHECK(report.origin == log.origin());
    REQUIRE(report.key);
    CHECK(*report.key == log.key().public_key);
    CHECK(report.node_balances_at == 10);
    CHECK(report.balances == log.balances());
    CHECK(report.balances.at("m_acme").balance == 0);
    CHECK(report.balances.at("m_acme").credits_minted == 1);
    CHECK(report.balances.at("m_beta").verified_referrals == 1);
  }
}

TEST_CASE("log verifier: flipping any byte of an entry is found and names that entry") {
  TempDir dir("audit-flip-entries");
  SyntheticLog log;
  build_small(log);
  log.write(dir.path);
  const auto original = log.entries_file();
  std::size_t checked = 0;
  for (std::size_t offset = 0; offset < original.size(); ++offset) {
    // Alternate the flipped bit so that both ASCII and high bits are covered.
    const std::uint8_t mask = offset % 2 == 0 ? 0x01 : 0x80;
    auto flipped = original;
    flipped[offset] = static_cast<char>(static_cast<std::uint8_t>(flipped[offset]) ^ mask);
    write_text(dir.path / "entries.jsonl", flipped);
    auto report = verify(dir.path);
    const auto entry = line_of(original, offset);
    INFO("offset " << offset << " mask " << int(mask) << " (entry " << entry << ")\n"
                   << problems_of(report));
    REQUIRE_FALSE(report.ok());
    CHECK(report.problems.mentions("entry " + std::to_string(entry) + ": "));
    ++checked;
  }
  CHECK(checked == original.size());
}

TEST_CASE("log verifier: flipping any byte of the checkpoint or key.json is found") {
  TempDir dir("audit-flip-docs");
  SyntheticLog log;
  build_small(log);
  log.write(dir.path);
  for (const auto& [file, original, where] :
       {std::tuple{"checkpoint", log.checkpoint(), "checkpoint: "},
        std::tuple{"key.json", log.key_file(), "key.json: "}}) {
    for (std::size_t offset = 0; offset < original.size(); ++offset) {
      auto flipped = original;
      flipped[offset] = static_cast<char>(static_cast<std::uint8_t>(flipped[offset]) ^ 0x01);
      write_text(dir.path / file, flipped);
      auto report = verify(dir.path);
      INFO(file << " offset " << offset << "\n" << problems_of(report));
      REQUIRE_FALSE(report.ok());
      CHECK(report.problems.mentions(where));
    }
    write_text(dir.path / file, original);
  }
  CHECK(verify(dir.path).ok());
}

TEST_CASE("log verifier: a truncated log") {
  TempDir dir("audit-truncated");
  SyntheticLog log;
  build_small(log);
  log.write(dir.path);
  const auto full = log.entries_file();

  SUBCASE("last entry missing") {
    write_text(dir.path / "entries.jsonl",
               full.substr(0, full.size() - log.entries().back().size() - 1));
    auto report = verify(dir.path);
    INFO(problems_of(report));
    CHECK(report.problems.mentions(
        "checkpoint: root mismatch (log has 9 entries, checkpoint says 10)"));
    CHECK(report.problems.mentions(
        "balances.json: the node's balances are as of 10 entries, the log has 9"));
  }
  SUBCASE("cut mid-entry") {
    write_text(dir.path / "entries.jsonl", full.substr(0, full.size() - 20));
    auto report = verify(dir.path);
    INFO(problems_of(report));
    CHECK(report.problems.mentions("entry 9: not canonical JSON"));
    CHECK(report.problems.mentions("entries.jsonl: the last line does not end in a newline"));
  }
  SUBCASE("empty") {
    write_text(dir.path / "entries.jsonl", "");
    auto report = verify(dir.path);
    CHECK(report.problems.mentions(
        "checkpoint: root mismatch (log has 0 entries, checkpoint says 10)"));
  }
  SUBCASE("an entry beyond the checkpoint") {
    log.refer("m_beta");
    write_text(dir.path / "entries.jsonl", log.entries_file());
    auto report = verify(dir.path);
    CHECK(report.problems.mentions(
        "checkpoint: root mismatch (log has 11 entries, checkpoint says 10)"));
  }
}

TEST_CASE("log verifier: a reordered log names each entry out of place") {
  TempDir dir("audit-reordered");
  SyntheticLog log;
  build_small(log);
  std::swap(log.entries()[4], log.entries()[5]);
  log.write(dir.path);  // the checkpoint signs the reordered entries: only the order is wrong
  auto report = verify(dir.path);
  INFO(problems_of(report));
  CHECK(report.problems.total() == 2);
  CHECK(report.problems.mentions("entry 4: index field is 5"));
  CHECK(report.problems.mentions("entry 5: index field is 4"));
}

TEST_CASE("log verifier: an entry with a wrong index field") {
  TempDir dir("audit-index");
  SyntheticLog log;
  auto acme = log.admit("acme");
  log.refer(acme);
  log.refer(acme);
  log.refer(acme);
  log.entries().pop_back();  // the credit_minted at 5, re-signed with index 6
  log.append_at(6, relay::protocol::credit_minted(acme, 1, 1));
  log.write(dir.path);
  auto report = verify(dir.path);
  INFO(problems_of(report));
  CHECK(report.problems.total() == 1);
  CHECK(report.problems.kept().at(0).text() == "entry 5: index field is 6");
}

TEST_CASE("log verifier: forged signatures") {
  TempDir dir("audit-forged");
  SyntheticLog log;
  build_small(log);
  auto other = relay::crypto::Ed25519KeyPair::generate();

  SUBCASE("signed by another key, which the entry names") {
    auto entry =
        std::get<relay::protocol::LedgerEntry>(relay::protocol::parse_entry(log.entries()[4]));
    log.entries()[4] = relay::protocol::encode_entry(entry.index, entry.time_ms, entry.node,
                                                     entry.kind, entry.data, other, entry.version);
    log.write(dir.path);
    auto report = verify(dir.path);
    INFO(problems_of(report));
    CHECK(report.problems.total() == 1);
    CHECK(report.problems.mentions("entry 4: signature invalid: signed by key " +
                                   other.public_key.fingerprint().substr(0, 16)));
  }
  SUBCASE("another key's signature under the node's key name") {
    auto entry =
        std::get<relay::protocol::LedgerEntry>(relay::protocol::parse_entry(log.entries()[4]));
    auto forged = std::get<relay::protocol::LedgerEntry>(
        relay::protocol::parse_entry(relay::protocol::encode_entry(
            entry.index, entry.time_ms, entry.node, entry.kind, entry.data, other)));
    auto object = nlohmann::json::parse(log.entries()[4]);
    object["sig"] = relay::crypto::to_base64(forged.sig);
    log.entries()[4] = relay::protocol::canonical_dump(object);
    log.write(dir.path);
    auto report = verify(dir.path);
    INFO(problems_of(report));
    CHECK(report.problems.total() == 1);
    CHECK(report.problems.kept().at(0).text() == "entry 4: signature invalid");
  }
}

TEST_CASE("log verifier: a checkpoint signed by another key, or for another origin") {
  TempDir dir("audit-checkpoint");
  SyntheticLog log;
  build_small(log);
  log.write(dir.path);
  auto other = relay::crypto::Ed25519KeyPair::generate();

  SUBCASE("bad signature") {
    write_text(dir.path / "checkpoint", log.checkpoint(10, &other));
    auto report = verify(dir.path);
    INFO(problems_of(report));
    CHECK(report.problems.total() == 1);
    CHECK(report.problems.mentions("checkpoint: signature invalid"));
  }
  SUBCASE("another origin") {
    auto id = relay::protocol::note_key_id("elsewhere", relay::protocol::NoteKeyType::ed25519,
                                           log.key().public_key);
    write_text(dir.path / "checkpoint",
               *relay::protocol::sign_checkpoint({"elsewhere", 10, log.root(10), {}}, "elsewhere",
                                                 log.key().secret_key, id));
    auto report = verify(dir.path);
    INFO(problems_of(report));
    CHECK(report.problems.mentions(
        "key.json: origin \"audit-test.relaynode\", the checkpoint's is \"elsewhere\""));
    CHECK(report.problems.mentions("entry 0: node field is \"audit-test.relaynode\""));
  }
  SUBCASE("a pinned key that is not the log's") {
    auto vkey = relay::protocol::make_vkey(*relay::protocol::make_verifier_key(
        log.origin(), relay::protocol::NoteKeyType::ed25519, other.public_key));
    auto report = verify(dir.path, 1, vkey);
    CHECK(report.problems.mentions("key.json: vkey is not the pinned --vkey"));
    CHECK(report.problems.mentions("key: the log's key in force is not the pinned --vkey"));
    auto own = *relay::audit::parse_key_document(log.key_file(), true).key;
    CHECK(verify(dir.path, 1, own.vkey_text).ok());
  }
}

TEST_CASE("log verifier: key rotation") {
  TempDir dir("audit-rotation");
  SyntheticLog log;
  build_small(log);
  const auto& old_key = log.key();
  log.rotate();  // entry 10, signed by the old key
  auto acme = std::string("m_acme");
  log.refer(acme);
  log.refer(acme);

  SUBCASE("entries after key_rotated, signed by the new key, verify") {
    log.write(dir.path);
    auto report = verify(dir.path, 2);
    INFO(problems_of(report));
    CHECK(report.ok());
    CHECK(report.key_rotations == 1);
    CHECK(report.keys.size() == 2);
    CHECK(*report.key == log.key().public_key);
  }
  SUBCASE("a later entry signed by the old key fails, by name") {
    log.append(relay::protocol::member_admitted("m_late", "late"), &old_key);
    log.balances()["m_late"];
    log.write(dir.path);
    auto report = verify(dir.path);
    INFO(problems_of(report));
    CHECK(report.problems.total() == 1);
    CHECK(report.problems.kept().at(0).text() ==
          "entry 13: signature invalid: signed by key " +
              old_key.public_key.fingerprint().substr(0, 16) + "..., the key in force is " +
              log.key().public_key.fingerprint().substr(0, 16) + "...");
  }
  SUBCASE("key.json still naming the old key") {
    log.write(dir.path);
    write_text(dir.path / "key.json",
               *relay::audit::format_key_document(log.origin(), old_key.public_key));
    auto report = verify(dir.path);
    INFO(problems_of(report));
    CHECK(report.problems.mentions("key.json: public_key " +
                                   old_key.public_key.fingerprint().substr(0, 16) +
                                   "... is not the key in force at the end of the log"));
  }
  SUBCASE("a rotation signed by a stranger hands over nothing") {
    auto stranger = relay::crypto::Ed25519KeyPair::generate();
    log.entries().resize(10);
    log.append(relay::protocol::key_rotated(old_key.public_key, stranger.public_key,
                                            relay::crypto::X25519KeyPair::generate().public_key),
               &stranger);
    log.append(relay::protocol::member_admitted("m_s", "s"), &stranger);
    log.write(dir.path);
    auto report = verify(dir.path);
    INFO(problems_of(report));
    CHECK(report.key_rotations == 0);
    CHECK(report.problems.mentions("entry 10: signature invalid"));
    CHECK(report.problems.mentions("entry 11: signature invalid"));
  }
}

TEST_CASE("log verifier: entry 0 must be node_initialised, and only entry 0") {
  TempDir dir("audit-genesis");
  SyntheticLog log;
  build_small(log);
  log.append(relay::protocol::node_initialised(
      "JP-13", 3, log.key().public_key, relay::crypto::X25519KeyPair::generate().public_key));
  log.entries()[0] =
      relay::protocol::encode_entry(0, 1, log.origin(), "member_admitted",
                                    {{"member", "m_zero"}, {"name", "zero"}}, log.key(), 1);
  log.balances()["m_zero"];
  log.write(dir.path);
  auto report = verify(dir.path);
  INFO(problems_of(report));
  CHECK(report.problems.mentions("entry 0: kind is member_admitted, expected node_initialised"));
  CHECK(report.problems.mentions("entry 10: node_initialised again (only entry 0 may be)"));
  // The signatures were still checked, with the key from key.json.
  CHECK_FALSE(report.problems.mentions("signature invalid"));
}

TEST_CASE("log verifier: problems beyond max_problems are counted, not listed") {
  TempDir dir("audit-many");
  SyntheticLog log;
  auto acme = log.admit("acme");
  for (int i = 0; i < 40; ++i) log.refer(acme, false);
  std::reverse(log.entries().begin() + 1, log.entries().end());
  log.write(dir.path);
  ExportDirSource source(dir.path);
  auto report = relay::audit::verify_log(source, {std::nullopt, 5, 2});
  CHECK(report.problems.kept().size() == 5);
  CHECK(report.problems.total() > 40);
  CHECK(report.problems.omitted() == report.problems.total() - 5);
}

TEST_CASE("log verifier: an unreadable export is an I/O error, not a finding") {
  TempDir dir("audit-io");
  CHECK_THROWS_AS(ExportDirSource(dir.path / "missing"), relay::audit::SourceError);
  SyntheticLog log;
  log.write(dir.path);
  fs::remove(dir.path / "key.json");
  CHECK_THROWS_AS(verify(dir.path), relay::audit::SourceError);
}

TEST_SUITE_END();
