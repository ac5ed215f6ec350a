// audit_bench: how fast an auditor can check a node's ledger, measured in one run on this
// machine against its raw Ed25519 verification speed.
//   1. raw crypto::verify per second on one thread (signatures over entry-sized messages), and
//      on all cores: hardware_concurrency() threads verifying the same messages for the same
//      wall time (the limit for an auditor using every core; measured again just before and
//      just after step 3, so that the ratio shares that step's load on the machine);
//   2. a ledger of N entries (default 1M) written the way a node writes it: real LMDB,
//      ledger::Ledger, members::Registry and referrals::CreditAccounts, batches of appends
//      per write transaction; then `relay-node export`'s export_ledger into a directory;
//   3. `relay-audit verify DIR` run as a process over that export: entries per second, and
//      that rate as a ratio to the all-core raw verify rate (issue 19's target: >= 0.8) and
//      as a multiple of the single-thread one;
//   4. inclusion proof latency at N entries: a read transaction, Ledger::inclusion_proof,
//      the entry and verify_inclusion against the signed root, for random indices.
// Prints a table and writes the figures as JSON to build/bench/audit.json (or $RELAY_BENCH_JSON).
// Usage: audit_bench [--entries N] [--keep]   (the data goes under RELAY_BENCH_TMP)
//        audit_bench --export DIR   (step 3 only, over an existing export, e.g. one kept)
// $RELAY_AUDIT names another relay-audit binary to run in step 3 (before/after comparisons).
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"
#include "crypto/sign.hpp"
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

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace node = relay::node;
namespace protocol = relay::protocol;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string with_commas(double value) {
  auto text = std::to_string(static_cast<long long>(value + 0.5));
  for (int i = static_cast<int>(text.size()) - 3; i > 0; i -= 3)
    text.insert(static_cast<std::size_t>(i), ",");
  return text;
}

void row(const std::string& what, const std::string& value) {
  std::printf("  %-46s %s\n", what.c_str(), value.c_str());
}

double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Entry-sized messages (300 random bytes, about an entry's signed bytes) and their
// signatures, shared by the single-thread and all-core raw figures.
struct VerifySet {
  relay::crypto::Ed25519KeyPair key = relay::crypto::Ed25519KeyPair::generate();
  std::vector<relay::crypto::Bytes> messages;
  std::vector<relay::crypto::Ed25519Signature> signatures;

  explicit VerifySet(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      messages.push_back(relay::crypto::random_bytes(300));
      signatures.push_back(relay::crypto::sign(key.secret_key, messages.back()));
    }
  }
  bool verify(std::size_t i) const {
    return relay::crypto::verify(key.public_key, messages[i], signatures[i]);
  }
};

struct RawVerify {
  double per_second = 0;  // wall clock, one thread
  double cpu_us = 0;      // CPU time per verification (robust to other load on the machine)
  double seconds = 0;     // wall time of the measurement
};

// Single-thread Ed25519 verifications per second: every message of the set once.
RawVerify raw_verify_rate(const VerifySet& set) {
  std::size_t good = 0;
  auto start = Clock::now();
  const double cpu_start = thread_cpu_seconds();
  for (std::size_t i = 0; i < set.messages.size(); ++i) good += set.verify(i) ? 1 : 0;
  const double cpu = thread_cpu_seconds() - cpu_start;
  const double seconds = seconds_since(start);
  const auto n = static_cast<double>(set.messages.size());
  if (good != set.messages.size()) throw std::runtime_error("raw verify: a signature failed");
  return {n / seconds, cpu * 1e6 / n, seconds};
}

// Verifications per second on `threads` threads together, each going round the set (from its
// own starting point) until `seconds` of wall time have passed: the most any verifier using
// every core could reach on this machine under its current load.
double raw_verify_all_cores(const VerifySet& set, unsigned threads, double seconds) {
  std::vector<std::size_t> done(threads, 0);
  std::vector<std::size_t> bad(threads, 0);
  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  {
    std::vector<std::jthread> pool;
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        const std::size_t n = set.messages.size();
        for (std::size_t i = t * n / threads; Clock::now() < deadline; i = (i + 1) % n) {
          bad[t] += set.verify(i) ? 0 : 1;
          ++done[t];
        }
      });
  }
  const double elapsed = seconds_since(start);
  std::size_t total = 0;
  for (unsigned t = 0; t < threads; ++t) {
    if (bad[t] != 0) throw std::runtime_error("raw verify: a signature failed");
    total += done[t];
  }
  return static_cast<double>(total) / elapsed;
}

// The node's ledger and credit accounts on LMDB, filled with a realistic mix of events.
struct BenchNode {
  node::identity::KeyRing keys{node::identity::NodeKeys::generate()};
  node::storage::Environment env;
  node::ledger::Ledger ledger;
  node::members::Registry members;
  node::referrals::CreditAccounts credits;

  explicit BenchNode(const fs::path& dir)
      : env(node::storage::Environment::open(
            dir, node::storage::EnvironmentOptions{.map_size_bytes = std::size_t{16} << 30})),
        ledger(env, "bench.relaynode", keys, node::common::system_clock()),
        members(env, ledger, keys),
        credits(env, ledger, 10) {}

  // Appends about `entries` entries: 200 members, then verified referrals (10 per credit,
  // so about one credit_minted per ten), with a suspension or reinstatement now and then.
  void fill(std::uint64_t entries) {
    std::mt19937_64 rng(7);
    std::vector<std::string> ids;
    std::vector<bool> active;
    auto txn = env.begin_write();
    auto current = keys.current();
    ledger.append(txn, protocol::node_initialised("JP-28", 10, current->signing.public_key,
                                                  current->encryption.public_key));
    for (int i = 0; i < 200; ++i) {
      ids.push_back(members.admit(txn, "Member company " + std::to_string(i))->member.id);
      active.push_back(true);
    }
    std::uint64_t referral = 0;
    while (ledger.size(txn) < entries) {
      const auto m = rng() % ids.size();
      if (rng() % 500 == 0) {
        active[m] = !active[m];
        members.set_active(txn, ids[m], active[m]);
      } else {
        credits.record_verified(txn, ids[m], "r" + std::to_string(referral++),
                                relay::crypto::to_hex(relay::crypto::random_bytes(32)), active[m]);
      }
      if (referral % 10'000 == 0) {
        txn.commit();
        txn = env.begin_write();
      }
    }
    txn.commit();
  }
};

struct ProcessRun {
  int exit_code = -1;      // -1 if it did not exit normally
  double cpu_seconds = 0;  // user + system time of the process
};

// Runs a program, its output to /dev/null, and waits for it.
ProcessRun run_quietly(const std::vector<std::string>& args) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1,
          seconds(usage.ru_utime) + seconds(usage.ru_stime)};
}

struct Latency {
  double median_us = 0;
  double p99_us = 0;
};

// Inclusion proof + verification of random entries, each in its own read transaction as the
// /audit/v1/proof/inclusion route does it.
Latency inclusion_latency(BenchNode& bench, std::size_t samples) {
  std::uint64_t size = 0;
  protocol::Hash root{};
  {
    auto txn = bench.env.begin_read();
    auto checkpoint = bench.ledger.checkpoint(txn);
    size = checkpoint.size;
    root = checkpoint.root;
  }
  std::mt19937_64 rng(11);
  std::vector<double> micros;
  for (std::size_t i = 0; i < samples; ++i) {
    const auto index = rng() % size;
    auto start = Clock::now();
    auto txn = bench.env.begin_read();
    auto proof = bench.ledger.inclusion_proof(txn, index, size);
    auto entry = bench.ledger.entry(txn, index);
    txn.abort();
    bool ok = proof && entry &&
              protocol::verify_inclusion(
                  index, size, protocol::leaf_hash(relay::crypto::as_bytes(*entry)), *proof, root);
    micros.push_back(seconds_since(start) * 1e6);
    if (!ok) throw std::runtime_error("inclusion proof failed for entry " + std::to_string(index));
  }
  std::sort(micros.begin(), micros.end());
  return {micros[micros.size() / 2], micros[micros.size() * 99 / 100]};
}

void measure_verify(const fs::path& dir, std::uint64_t size, const VerifySet& set,
                    const RawVerify& raw, unsigned cores, bool problems_allowed,
                    nlohmann::json& out);
void measure_ledger(const fs::path& root, const VerifySet& set, const RawVerify& raw,
                    unsigned cores, std::uint64_t entries, nlohmann::json& out);

// $RELAY_AUDIT (another build of relay-audit, to compare two in the same conditions), else
// the one built beside this bench.
std::string audit_binary() {
  const char* env = std::getenv("RELAY_AUDIT");
  return env != nullptr && *env != '\0' ? env : RELAY_AUDIT_BINARY;
}

// Lines in a file (entries in an export's entries.jsonl).
std::uint64_t count_lines(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::uint64_t lines = 0;
  std::vector<char> buffer(std::size_t{1} << 20);
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0)
    lines +=
        static_cast<std::uint64_t>(std::count(buffer.data(), buffer.data() + in.gcount(), '\n'));
  return lines;
}

// $RELAY_BENCH_JSON, else bench/audit.json in the build directory (RELAY_BENCH_TMP's parent),
// beside the other benchmarks' figures.
fs::path bench_json_path() {
  if (const char* env = std::getenv("RELAY_BENCH_JSON"); env != nullptr && *env != '\0') return env;
  return fs::path(RELAY_BENCH_TMP).parent_path() / "bench" / "audit.json";
}

int run(int argc, char** argv) {
  std::uint64_t entries = 1'000'000;
  bool keep = false;
  std::optional<fs::path> export_dir;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--entries" && i + 1 < argc)
      entries = std::stoull(argv[++i]);
    else if (arg == "--keep")
      keep = true;
    else if (arg == "--export" && i + 1 < argc)
      export_dir = argv[++i];
    else
      throw std::invalid_argument("usage: audit_bench [--entries N] [--keep] [--export DIR]");
  }
  if (export_dir) entries = count_lines(*export_dir / "entries.jsonl");
  const fs::path root = export_dir
                            ? *export_dir
                            : fs::path(RELAY_BENCH_TMP) / ("audit-" + std::to_string(::getpid()));
  if (!export_dir) fs::create_directories(root);
  const auto cores = std::max(1u, std::thread::hardware_concurrency());
  std::printf("audit benchmark: %s entries, %u hardware threads, data in %s\n",
              with_commas(static_cast<double>(entries)).c_str(), cores, root.c_str());

  const VerifySet set(20'000);
  const auto raw = raw_verify_rate(set);
  char raw_text[96];
  std::snprintf(raw_text, sizeof raw_text, "%s /s (%.1f us CPU each)",
                with_commas(raw.per_second).c_str(), raw.cpu_us);
  row("Ed25519 verify, 1 thread (raw)", raw_text);
  const double all_cores = raw_verify_all_cores(set, cores, raw.seconds);
  row("Ed25519 verify, " + std::to_string(cores) + " threads (raw)",
      with_commas(all_cores) + " /s");

  nlohmann::json out{{"entries", entries},
                     {"hardware_threads", cores},
                     {"raw_verify_1_thread_per_s", raw.per_second},
                     {"raw_verify_cpu_us", raw.cpu_us},
                     {"raw_verify_all_cores_per_s_start", all_cores}};
  if (export_dir)
    measure_verify(*export_dir, entries, set, raw, cores, true, out);
  else
    measure_ledger(root, set, raw, cores, entries, out);
  const auto json_path = bench_json_path();
  fs::create_directories(json_path.parent_path());
  std::ofstream(json_path) << out.dump(2) << "\n";
  std::printf("  written to %s\n", json_path.c_str());
  if (!keep && !export_dir) {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  return 0;
}

// Step 3: `relay-audit verify DIR` as a process, between two all-core raw measurements. The
// ratio is taken to their mean, so that load from elsewhere on a shared machine that changes
// while the bench runs counts neither for nor against the verifier. `problems_allowed`: exit
// code 1 (problems found) is accepted too, for --export over a cut-down copy of an export.
void measure_verify(const fs::path& dir, std::uint64_t size, const VerifySet& set,
                    const RawVerify& raw, unsigned cores, bool problems_allowed,
                    nlohmann::json& out) {
  const double all_cores_before = raw_verify_all_cores(set, cores, raw.seconds);
  row("Ed25519 verify, " + std::to_string(cores) + " threads (raw), just before",
      with_commas(all_cores_before) + " /s");
  auto start = Clock::now();
  auto audit = run_quietly({audit_binary(), "verify", dir.string()});
  const double verify_s = seconds_since(start);
  if (audit.exit_code != 0 && !(problems_allowed && audit.exit_code == 1))
    throw std::runtime_error("relay-audit verify exited " + std::to_string(audit.exit_code));
  const double all_cores_after = raw_verify_all_cores(set, cores, raw.seconds);
  const double all_cores = (all_cores_before + all_cores_after) / 2;
  const double verify_rate = static_cast<double>(size) / verify_s;
  row("relay-audit verify DIR (" + std::to_string(cores) + " threads, process)",
      with_commas(verify_rate) + " entries/s (" + std::to_string(verify_s).substr(0, 5) + " s" +
          (audit.exit_code == 1 ? ", problems found" : "") + ")");
  row("Ed25519 verify, " + std::to_string(cores) + " threads (raw), just after",
      with_commas(all_cores_after) + " /s");
  char ratio[128];
  std::snprintf(ratio, sizeof ratio, "%.2f x raw all-core verify (target >= 0.80)",
                verify_rate / all_cores);
  row("  as a ratio to raw verify on all cores", ratio);
  std::snprintf(ratio, sizeof ratio, "%.2f x raw 1-thread verify (%.2f x per thread)",
                verify_rate / raw.per_second, verify_rate / raw.per_second / cores);
  row("  as a multiple of raw verify on 1 thread", ratio);
  const double cpu_us = audit.cpu_seconds * 1e6 / static_cast<double>(size);
  std::snprintf(ratio, sizeof ratio, "%.1f us per entry = %.2f raw verifies", cpu_us,
                cpu_us / raw.cpu_us);
  row("  CPU per entry (load-independent)", ratio);

  out["raw_verify_all_cores_per_s_before"] = all_cores_before;
  out["raw_verify_all_cores_per_s_after"] = all_cores_after;
  out["raw_verify_all_cores_per_s"] = all_cores;
  out["audit_verify_entries"] = size;
  out["audit_verify_exit_code"] = audit.exit_code;
  out["audit_verify_seconds"] = verify_s;
  out["audit_verify_per_s"] = verify_rate;
  out["audit_verify_ratio_to_all_cores"] = verify_rate / all_cores;
  out["audit_verify_ratio_to_1_thread"] = verify_rate / raw.per_second;
  out["audit_verify_cpu_us_per_entry"] = cpu_us;
  out["audit_verify_cpu_in_raw_verifies"] = cpu_us / raw.cpu_us;
}

// Steps 2-4 (the environment closes before the caller removes its directory).
void measure_ledger(const fs::path& root, const VerifySet& set, const RawVerify& raw,
                    unsigned cores, std::uint64_t entries, nlohmann::json& out) {
  BenchNode bench(root / "lmdb");
  auto start = Clock::now();
  bench.fill(entries);
  std::uint64_t size = 0;
  {
    auto txn = bench.env.begin_read();
    size = bench.ledger.size(txn);
  }
  const double fill_s = seconds_since(start);
  row("ledger append (sign + LMDB, 10k per txn)", with_commas(static_cast<double>(size) / fill_s) +
                                                      " entries/s (" +
                                                      std::to_string(fill_s).substr(0, 5) + " s)");

  const auto exported = root / "export";
  start = Clock::now();
  auto balances = [&bench](const node::storage::Txn& txn) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& m : bench.members.list(txn))
      out[m.id] = bench.credits.account(txn, m.id).to_json();
    return out;
  };
  auto result = node::ledger::export_ledger(bench.env, bench.ledger, balances, exported);
  if (!result) throw std::runtime_error(result.message);
  const double export_s = seconds_since(start);
  row("export_ledger", with_commas(static_cast<double>(size) / export_s) + " entries/s (" +
                           std::to_string(export_s).substr(0, 5) + " s, " +
                           std::to_string(fs::file_size(exported / "entries.jsonl") >> 20) +
                           " MiB)");

  out["ledger_size"] = size;
  out["ledger_append_per_s"] = static_cast<double>(size) / fill_s;
  out["export_per_s"] = static_cast<double>(size) / export_s;
  measure_verify(exported, size, set, raw, cores, false, out);

  auto latency = inclusion_latency(bench, 20'000);
  char lat[96];
  std::snprintf(lat, sizeof lat, "median %.1f us, p99 %.1f us", latency.median_us, latency.p99_us);
  row("inclusion proof + verify at " + with_commas(static_cast<double>(size)), lat);

  out["inclusion_median_us"] = latency.median_us;
  out["inclusion_p99_us"] = latency.p99_us;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "audit_bench: " << e.what() << "\n";
    return 2;
  }
}
