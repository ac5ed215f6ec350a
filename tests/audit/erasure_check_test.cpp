// audit: check_erasures over synthetic export directories of a holder and its recipients.
#include "audit/erasure_check.hpp"

#include <doctest/doctest.h>

#include <string>

#include "audit/export_dir_source.hpp"
#include "audit/synthetic_log.hpp"
#include "protocol/event.hpp"

namespace fs = std::filesystem;
using relay::audit::ErasureReport;
using relay::audit::ExportDirSource;
using relay::test::SyntheticLog;
using relay::test::TempDir;
using relay::test::write_text;
namespace event = relay::protocol;

namespace {

constexpr const char* kHolder = "holder.example";
constexpr const char* kBeta = "beta.example";
constexpr const char* kGamma = "gamma.example";

ErasureReport check(const fs::path& holder, const std::vector<fs::path>& recipients) {
  ExportDirSource h(holder);
  std::vector<std::unique_ptr<ExportDirSource>> owned;
  std::vector<relay::audit::LogSource*> sources;
  for (const auto& r : recipients) {
    owned.push_back(std::make_unique<ExportDirSource>(r));
    sources.push_back(owned.back().get());
  }
  return relay::audit::check_erasures(h, sources, {1});
}

std::string text(const ErasureReport& report) {
  return relay::audit::to_text(report);
}

// A holder that sent h1 to beta and h2 to gamma, and asked both to erase; both answered.
struct World {
  SyntheticLog holder{3, kHolder};
  SyntheticLog beta{3, kBeta};
  SyntheticLog gamma{3, kGamma};
  TempDir dir{"audit-erasures"};

  World() {
    holder.append(event::handoff_sent("h1", kBeta, "pseudo1"));
    holder.append(event::handoff_sent("h2", kGamma, "pseudo1"));
    beta.append(event::handoff_received("h1", kHolder, beta.admit("b"), "c2lnMA==", "digest1"));
    gamma.append(event::handoff_received("h2", kHolder, gamma.admit("g"), "c2lnMA==", "digest2"));
    holder.append(event::candidate_erased("pseudo1"));
    holder.append(event::erasure_requested("pseudo1", kBeta, "h1"));
    holder.append(event::erasure_requested("pseudo1", kGamma, "h2"));
    beta.append(event::erasure_completed("h1", kHolder));
    gamma.append(event::erasure_completed("h2", kHolder));
    holder.append(event::erasure_receipt("h1", kBeta, "c2lnMQ==", "erased"));
    holder.append(event::erasure_receipt("h2", kGamma, "c2lnMg==", "erased"));
  }
  fs::path write(SyntheticLog& log, const std::string& name) {
    auto p = dir.path / name;
    log.write(p);
    return p;
  }
  ErasureReport run() { return check(write(holder, "h"), {write(beta, "b"), write(gamma, "g")}); }
};

}  // namespace

TEST_SUITE_BEGIN("audit");

TEST_CASE("erasure check: every request answered and carried out is OK") {
  World w;
  auto report = w.run();
  CHECK_MESSAGE(report.ok(), text(report));
  CHECK(report.holder == kHolder);
  CHECK(report.requests == 2);
  CHECK(report.receipts == 2);
  CHECK(report.recipients == std::vector<std::string>{kBeta, kGamma});
  CHECK(relay::audit::to_json(report)["ok"] == true);
}

TEST_CASE("erasure check: a handoff that expired at the recipient counts as carried out") {
  World w;
  w.holder.append(event::handoff_sent("h3", kBeta, "pseudo2"));
  w.beta.append(event::handoff_expired("h3", kHolder));
  w.holder.append(event::erasure_requested("pseudo2", kBeta, "h3"));
  w.holder.append(event::erasure_receipt("h3", kBeta, "c2lnMw==", "already_erased"));
  auto report = w.run();
  CHECK_MESSAGE(report.ok(), text(report));
  CHECK(report.requests == 3);
}

TEST_CASE("erasure check: a missing receipt or completion is listed") {
  World w;
  w.holder.append(event::erasure_requested("pseudo3", kBeta, "h4"));   // no receipt, no completion
  w.holder.append(event::erasure_requested("pseudo3", kGamma, "h5"));  // receipt only
  w.holder.append(event::erasure_receipt("h5", kGamma, "c2lnNQ==", "erased"));
  w.holder.append(event::erasure_requested("pseudo4", kGamma, "h6"));  // completion only
  w.gamma.append(event::erasure_completed("h6", kHolder));
  // A completion for the same handoff id but about another holder does not count.
  w.holder.append(event::erasure_requested("pseudo5", kGamma, "h7"));
  w.holder.append(event::erasure_receipt("h7", kGamma, "c2lnNw==", "erased"));
  w.gamma.append(event::erasure_completed("h7", "elsewhere.example"));
  auto report = w.run();
  CHECK_FALSE(report.ok());
  REQUIRE(report.missing.size() == 4);
  CHECK(report.problems.empty());
  auto out = text(report);
  CHECK(report.missing[0].request.handoff == "h4");
  CHECK(report.missing[0].receipt_missing);
  CHECK(report.missing[0].completion_missing);
  CHECK(report.missing[1].request.handoff == "h5");
  CHECK_FALSE(report.missing[1].receipt_missing);
  CHECK(report.missing[1].completion_missing);
  CHECK(report.missing[2].request.handoff == "h6");
  CHECK(report.missing[2].receipt_missing);
  CHECK_FALSE(report.missing[2].completion_missing);
  CHECK(report.missing[3].request.handoff == "h7");
  CHECK(out.find("h4 to beta.example") != std::string::npos);
  CHECK(out.find("FAILED") != std::string::npos);
}

TEST_CASE("erasure check: a recipient whose log is not given cannot show its completion") {
  World w;
  auto report = check(w.write(w.holder, "h"), {w.write(w.beta, "b")});
  REQUIRE(report.missing.size() == 1);
  CHECK(report.missing[0].request.peer == kGamma);
  CHECK_FALSE(report.missing[0].recipient_log_given);
  CHECK_FALSE(report.missing[0].receipt_missing);
  CHECK(text(report).find("no log of gamma.example given") != std::string::npos);
}

TEST_CASE("erasure check: a log that does not verify is a problem and is not trusted") {
  World w;
  auto b = w.write(w.beta, "b");
  auto g = w.write(w.gamma, "g");
  auto h = w.write(w.holder, "h");
  // A forged completion appended to gamma's export after its checkpoint was signed.
  auto forged = relay::crypto::Ed25519KeyPair::generate();
  auto entries =
      w.gamma.entries_file() +
      relay::protocol::encode_entry(w.gamma.entries().size(), 1, kGamma, "erasure_completed",
                                    {{"handoff", "h9"}, {"peer", kHolder}}, forged) +
      "\n";
  write_text(g / "entries.jsonl", entries);
  auto report = check(h, {b, g});
  CHECK_FALSE(report.ok());
  CHECK_FALSE(report.problems.empty());
  CHECK(report.problems.kept()[0].where == g.string());
  // gamma's events are not used: its request shows as without a log.
  REQUIRE(report.missing.size() == 1);
  CHECK(report.missing[0].request.peer == kGamma);
  CHECK_FALSE(report.missing[0].recipient_log_given);

  // The holder's own log forged: nothing is judged from it.
  write_text(h / "checkpoint", w.beta.checkpoint());
  auto bad_holder = check(h, {b});
  CHECK_FALSE(bad_holder.ok());
  CHECK(bad_holder.missing.empty());
  CHECK(bad_holder.problems.kept()[0].where == h.string());
}

TEST_CASE("erasure check: on withdrawal a recipient may keep the data of a hire it reported") {
  World w;
  // h8 to beta was hired there and kept on withdrawal; h9 to gamma was deleted.
  w.holder.append(event::handoff_sent("h8", kBeta, "pseudo6"));
  w.holder.append(event::handoff_sent("h9", kGamma, "pseudo6"));
  w.beta.append(event::hire_reported(w.beta.admit("hirer"), "h8", kHolder));
  w.holder.append(event::erasure_requested("pseudo6", kBeta, "h8", "withdrawn"));
  w.holder.append(event::erasure_requested("pseudo6", kGamma, "h9", "withdrawn"));
  w.beta.append(event::erasure_kept("h8", kHolder, "hired"));
  w.gamma.append(event::erasure_completed("h9", kHolder));
  w.holder.append(event::erasure_receipt("h8", kBeta, "c2lnOA==", "kept_hired"));
  w.holder.append(event::erasure_receipt("h9", kGamma, "c2lnOQ==", "erased"));
  auto report = w.run();
  CHECK_MESSAGE(report.ok(), text(report));
  CHECK(report.requests == 4);

  // The candidate then erases: keeping is no answer to an erasure.
  w.holder.append(event::erasure_requested("pseudo6", kBeta, "h8"));
  w.holder.append(event::erasure_receipt("h8", kBeta, "c2lnOB==", "kept_hired"));
  w.beta.append(event::erasure_kept("h8", kHolder, "hired"));
  auto erased = w.run();
  REQUIRE(erased.missing.size() == 1);
  CHECK(erased.missing[0].request.handoff == "h8");
  CHECK(erased.missing[0].request.reason.empty());
  CHECK(erased.missing[0].completion_missing);
  // Once beta shreds it, both requests are answered.
  w.beta.append(event::erasure_completed("h8", kHolder));
  auto done = w.run();
  CHECK_MESSAGE(done.ok(), text(done));
}

TEST_CASE("erasure check: keeping withdrawn data without a reported hire is refused") {
  World w;
  w.holder.append(event::handoff_sent("h10", kBeta, "pseudo7"));
  w.holder.append(event::erasure_requested("pseudo7", kBeta, "h10", "withdrawn"));
  w.holder.append(event::erasure_receipt("h10", kBeta, "c2lnMTA=", "kept_hired"));
  w.beta.append(event::erasure_kept("h10", kHolder, "hired"));  // no hire_reported
  auto report = w.run();
  CHECK_FALSE(report.ok());
  CHECK_FALSE(report.problems.empty());
  CHECK(text(report).find("without a hire reported") != std::string::npos);
  // A hire reported after it does not make it right either (order matters).
  World late;
  late.holder.append(event::erasure_requested("pseudo8", kBeta, "h11", "withdrawn"));
  late.holder.append(event::erasure_receipt("h11", kBeta, "c2lnMTE=", "kept_hired"));
  late.beta.append(event::erasure_kept("h11", kHolder, "hired"));
  late.beta.append(event::hire_reported(late.beta.admit("hirer"), "h11", kHolder));
  CHECK_FALSE(late.run().ok());
}

TEST_CASE("erasure check: a holder with no erasures is OK") {
  SyntheticLog holder{3, kHolder};
  holder.admit("acme");
  TempDir dir("audit-erasures-none");
  holder.write(dir.path / "h");
  auto report = check(dir.path / "h", {});
  CHECK(report.ok());
  CHECK(report.requests == 0);
}

TEST_SUITE_END();
