// scale_bench: a real node's start-up time, memory and audit proofs at scale (issue 19), each
// figure next to its target: start-up < 1 s and RSS < 200 MiB with 1M candidates and 10M
// ledger entries; inclusion and consistency proofs < 1 ms p99 at 10M entries.
//   1. fill: `relay-node init` (a process), one `relay-node serve` that writes the genesis
//      entries, then through the node library as the node writes: members admitted, M
//      candidates registered and confirmed through referrals::Intake (key slots, sealed data,
//      tokens, referrals, their ledger entries; the queued mail handed over as an SMTP server
//      would take it), then verified referrals appended until the ledger holds N entries
//      (as audit_bench does). Batches of writes per txn; rates printed.
//   2. start-up: `relay-node serve` on that directory (loopback, a free port), from exec to the
//      first 200 of GET /healthz polled every 5 ms: cold (the data files' pages dropped with
//      posix_fadvise: ours only), then warm (the files read into the page cache first, in
//      4 KiB folios as the node's own reads and writes cache them; 3 runs, median);
//      VmRSS/VmHWM/RssAnon/RssFile (and data.mdb's share, from smaps) after start and after a few
//      hundred requests of each audit read path; the size on disk.
//   3. proofs at N entries, once the node has finished its start-up work in the background
//      (its CPU use falls under 5% of a core): GET /audit/v1/proof/inclusion and /consistency for
//      random indices and sizes, one keep-alive client, p50/p99; a sample of them verified against
//      the signed checkpoint (protocol::open_checkpoint, verify_inclusion, verify_consistency) and
//      each sampled entry's signature; then in-process (Ledger proofs in a read txn), warm
//      and with data.mdb out of the page cache, counting major faults and preemptions; last,
//      the HTTP load again with data.mdb cached by one sequential read (as cp leaves it).
//   4. an upgrade: the directory as the release before the latest one-time index builds left
//      it (kUpgradeIndexes and their marks dropped; warm cache); the first start builds them
//      in its start-up txn before it serves (the referral counts walk every referral's key),
//      and the start after it builds nothing.
// Writes the figures as JSON to RELAY_BENCH_JSON.
// Usage: scale_bench [--entries N] [--candidates M] [--samples S] [--keep] [--reuse DIR]
//                    [--node PATH]
//   --keep keeps the filled directory (printed); --reuse DIR measures a kept one again;
//   --node serves with another relay-node binary (a build with a candidate fix).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/node_config.hpp"
#include "config/reference.hpp"
#include "crypto/bytes.hpp"
#include "node/common/clock.hpp"
#include "node/identity/key_ring.hpp"
#include "node/identity/key_store.hpp"
#include "node/referrals/address_identity.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/index_marks.hpp"
#include "node/wiring.hpp"
#include "protocol/checkpoint.hpp"
#include "protocol/ledger_entry.hpp"
#include "protocol/merkle.hpp"
#include "protocol/signed_note.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace node = relay::node;
namespace protocol = relay::protocol;
namespace config = relay::config;
namespace asio = boost::asio;
namespace beast = boost::beast;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr double kStartTargetS = 1.0;
constexpr double kRssTargetMiB = 200.0;
constexpr double kProofTargetMs = 1.0;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string with_commas(double value) {
  auto text = std::to_string(static_cast<long long>(value + 0.5));
  for (int i = static_cast<int>(text.size()) - 3; i > 0; i -= 3)
    text.insert(static_cast<std::size_t>(i), ",");
  return text;
}

template <typename... Numbers>
std::string format(const char* fmt, Numbers... numbers) {
  char text[160];
  std::snprintf(text, sizeof text, fmt, static_cast<double>(numbers)...);
  return text;
}

double process_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto s = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return s(usage.ru_utime) + s(usage.ru_stime);
}

double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::uint16_t free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  auto text = s.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Bytes the directory takes on disk (allocated blocks, so sparse files count as written).
std::uint64_t disk_bytes(const fs::path& dir) {
  std::uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    struct stat st {};
    if (::lstat(e.path().c_str(), &st) == 0 && S_ISREG(st.st_mode))
      total += static_cast<std::uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

// How a file's pages come into the page cache. A fault on the map maps the whole folio the
// page sits in, plus up to 16 pages around it, so the folios' size sets what a read maps.
enum class CachedAs {
  // Each page in a folio of its own, as the node's own reads (MDB_NORDAHEAD) and writes
  // (storage::FileTail) leave data.mdb: POSIX_FADV_WILLNEED 8 MiB at a time (read ahead in
  // 4 KiB folios, in the background; one 4 KiB pread at a time took 50 s for 2.5 GB), then
  // every page read through a POSIX_FADV_RANDOM descriptor, which waits for them.
  node,
  // In 1 MiB reads, as cp or tar would: the kernel caches those in folios of up to 2 MiB.
  cp,
};

// Reads a file through, so its pages are in the page cache.
void read_into_cache(const fs::path& file, CachedAs as) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (as == CachedAs::node) {
    struct stat st {};
    ::fstat(fd, &st);
    constexpr off_t kStep = off_t{8} << 20;
    for (off_t at = 0; at < st.st_size; at += kStep)
      ::posix_fadvise(fd, at, kStep, POSIX_FADV_WILLNEED);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
    char page[4096];
    for (off_t at = 0; ::pread(fd, page, sizeof page, at) > 0; at += sizeof page) {
    }
  } else {
    std::vector<char> buffer(std::size_t{1} << 20);
    while (::read(fd, buffer.data(), buffer.size()) > 0) {
    }
  }
  ::close(fd);
}

// Drops the page cache of a file's clean pages (ours only: other users' caches stay).
void drop_cache(const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

struct Percentiles {
  double p50 = 0;
  double p99 = 0;
  double max = 0;
};

Percentiles percentiles(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return {values[values.size() / 2], values[values.size() * 99 / 100], values.back()};
}

// --- a real relay-node process ---------------------------------------------------------------

int run_quietly(const std::vector<std::string>& args) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("cannot start " + args[0]);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// One keep-alive HTTP/1.1 connection to the node.
class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port) : socket_(io_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
    socket_.set_option(asio::ip::tcp::no_delay(true));
  }
  // Returns {status, body}; throws on a connection failure.
  std::pair<int, std::string> get(const std::string& target, const std::string& token = "") {
    beast::http::request<beast::http::empty_body> request{beast::http::verb::get, target, 11};
    request.set(beast::http::field::host, "127.0.0.1");
    if (!token.empty()) request.set(beast::http::field::authorization, "Bearer " + token);
    beast::http::write(socket_, request);
    beast::http::response<beast::http::string_body> response;
    beast::http::read(socket_, buffer_, response);
    return {response.result_int(), std::move(response.body())};
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  beast::flat_buffer buffer_;
};

struct Memory {
  double rss_mib = 0, hwm_mib = 0, anon_mib = 0, file_mib = 0;
  double mdb_mib = 0;  // of the file pages, those of the mapped data.mdb (page cache)
  json to_json() const {
    return {{"vm_rss_mib", rss_mib},
            {"vm_hwm_mib", hwm_mib},
            {"rss_anon_mib", anon_mib},
            {"rss_file_mib", file_mib},
            {"data_mdb_mib", mdb_mib}};
  }
};

Memory memory_of(pid_t pid) {
  Memory m;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    auto field = [&](const char* name, double& out) {
      if (line.rfind(name, 0) == 0) out = std::stod(line.substr(std::strlen(name))) / 1024.0;
    };
    field("VmRSS:", m.rss_mib);
    field("VmHWM:", m.hwm_mib);
    field("RssAnon:", m.anon_mib);
    field("RssFile:", m.file_mib);
  }
  // The Rss line of the data.mdb mapping in smaps.
  std::ifstream smaps("/proc/" + std::to_string(pid) + "/smaps");
  bool in_mdb = false;
  for (std::string line; std::getline(smaps, line);) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) &&
        line.find('-') != std::string::npos && line.find(' ') > line.find('-'))
      in_mdb = line.ends_with("/data.mdb");
    else if (in_mdb && line.rfind("Rss:", 0) == 0)
      m.mdb_mib += std::stod(line.substr(4)) / 1024.0;
  }
  return m;
}

// CPU seconds the process has used (utime + stime from /proc/PID/stat).
double cpu_seconds_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(text.substr(text.rfind(')') + 2));  // after "pid (comm) "
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i >= 14) ticks += std::stod(field);  // fields 14 and 15
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Seconds until the node's start-up work in the background (the pool index reads every
// candidate record on its own thread) is done: until it uses under 5% of a core for two
// half-seconds in a row (at most 60 s). Proofs measured before that compete with it.
double wait_until_idle(pid_t pid) {
  const auto start = Clock::now();
  int quiet = 0;
  double last = cpu_seconds_of(pid);
  while (quiet < 2 && seconds_since(start) < 60) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const double now = cpu_seconds_of(pid);
    quiet = now - last < 0.025 ? quiet + 1 : 0;
    last = now;
  }
  return seconds_since(start);
}

// `relay-node serve --config CONFIG` (binary: relay-node): started with its output (stdout and
// stderr) in a pipe that a thread copies to `log`, stamping when the "listening" line arrives.
class ServeProcess {
 public:
  ServeProcess(const std::string& binary, const fs::path& config, const fs::path& log,
               std::uint16_t port)
      : port_(port), log_(log, std::ios::app) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    std::vector<std::string> args{binary, "serve", "--config", config.string()};
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    started_ = Clock::now();
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) throw std::runtime_error("cannot start relay-node serve");
    reader_ = std::thread([this, fd = fds[0]] { copy_output(fd); });
  }
  ~ServeProcess() { stop(); }

  pid_t pid() const { return pid_; }
  // Polls GET /healthz every 5 ms; seconds from exec to the first 200. Throws if the process
  // exits or 600 s pass.
  double wait_healthy() {
    while (seconds_since(started_) < 600) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("relay-node serve exited during start-up (see its log)");
      }
      try {
        HttpClient client(port_);
        if (client.get("/healthz").first == 200) return seconds_since(started_);
      } catch (const std::exception&) {
        // Not listening yet.
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    throw std::runtime_error("relay-node serve did not answer /healthz within 600 s");
  }
  // Seconds from exec to the first "listening on" line (its log line or the one on stdout,
  // as this process read it; -1 if none came within a second of being asked).
  double wait_listening() const {
    for (int i = 0; i < 200 && listening_s_.load() < 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return listening_s_.load();
  }
  // Log lines written before the listening line, each with its arrival (s after exec).
  std::vector<std::pair<double, std::string>> start_lines() const {
    std::lock_guard lock(mutex_);
    return start_lines_;
  }
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      pid_ = -1;
    }
    if (reader_.joinable()) reader_.join();
  }

 private:
  void copy_output(int fd) {
    std::string pending;
    char buffer[4096];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) {
      const double at = seconds_since(started_);
      pending.append(buffer, static_cast<std::size_t>(n));
      for (std::size_t end; (end = pending.find('\n')) != std::string::npos;) {
        auto line = pending.substr(0, end);
        pending.erase(0, end + 1);
        log_ << line << "\n";
        if (listening_s_.load() >= 0) continue;
        if (line.find("listening on ") != std::string::npos) {
          listening_s_ = at;
        } else {
          std::lock_guard lock(mutex_);
          start_lines_.emplace_back(at, line);
        }
      }
    }
    log_.flush();
    ::close(fd);
  }

  pid_t pid_ = -1;
  std::uint16_t port_;
  Clock::time_point started_;
  std::ofstream log_;
  std::thread reader_;
  std::atomic<double> listening_s_{-1};
  mutable std::mutex mutex_;
  std::vector<std::pair<double, std::string>> start_lines_;
};

// --- the fill --------------------------------------------------------------------------------

// The node's library over its data directory, wired as Node wires it (node.cpp), except that
// referral holds are off: a confirmed referral counts at once, as one whose hold ended does
// (and the ledger has the same entries: referral_held, then the release).
struct Library {
  config::NodeConfig config;
  config::Reference reference;
  node::common::SystemClock clock;
  node::identity::KeyRing keys;
  node::storage::Environment env;
  node::LocalDomain domain;

  static config::NodeConfig load(const fs::path& node_json) {
    auto loaded = config::load_node_config(node_json);
    if (!loaded) throw std::runtime_error("cannot load " + node_json.string());
    return std::move(loaded).value();
  }
  static config::Reference load_reference(const fs::path& dir) {
    auto loaded = config::load_reference(dir);
    if (!loaded) throw std::runtime_error("cannot load reference data from " + dir.string());
    return std::move(loaded).value();
  }
  static node::LocalDomainSettings settings(const config::NodeConfig& c) {
    return {c.node.name, c.credits.referrals_per_credit,
            node::referrals::IntakeSettings{
                c.node.public_url, c.node.name, c.mail.from, c.consent.text_version,
                c.candidates.verification_expiry_hours, c.credits.alumni_count_toward_credits,
                c.limits.confirmation_mails_per_day},
            // No hold and no checks, and so no confirmations kept for them: Holds::check
            // reads every confirmation of the member kept for the rules' windows (7 days by
            // default), which a fill that confirms thousands per member a minute would make
            // quadratic (see issue 19's report).
            node::referrals::HoldRules{.velocity_window = std::chrono::milliseconds(1),
                                       .cluster_window = std::chrono::milliseconds(1)}};
  }

  Library(const fs::path& node_json, std::size_t map_bytes)
      : config(load(node_json)),
        reference(load_reference(config.reference_dir)),
        keys(node::identity::NodeKeys::load(config.data_dir / "keys")),
        env(node::storage::Environment::open(
            config.data_dir / "lmdb",
            node::storage::EnvironmentOptions{.map_size_bytes = map_bytes})),
        domain(env, keys, reference, clock, settings(config)) {}
};

struct FillFigures {
  std::uint64_t candidates = 0;
  double candidates_s = 0;
  std::uint64_t entries = 0;
  std::uint64_t entries_from_candidates = 0;
  double entries_s = 0;  // the top-up of the ledger
  double cpu_s = 0;
  json to_json() const {
    return {{"candidates", candidates},
            {"candidates_seconds", candidates_s},
            {"candidates_per_s", candidates / std::max(candidates_s, 1e-9)},
            {"ledger_entries", entries},
            {"ledger_entries_from_candidates", entries_from_candidates},
            {"entries_seconds", entries_s},
            {"entries_per_s",
             static_cast<double>(entries - entries_from_candidates) / std::max(entries_s, 1e-9)},
            {"cpu_seconds", cpu_s}};
  }
};

const char* const kCategories[] = {"A", "B", "C", "D", "E"};
const char* const kPrefectures[] = {"JP-13", "JP-27", "JP-28", "JP-14", "JP-26", "JP-23"};

std::map<std::string, std::string> registration_form(std::uint64_t i) {
  return {{"name", "候補者 " + std::to_string(i)},
          {"email", "cand" + std::to_string(i) + "@mail" + std::to_string(i % 97) + ".example.jp"},
          {"phone", "078-" + std::to_string(1000000 + i % 9000000)},
          {"job_category", kCategories[i % 5]},
          {"skills", i % 2 ? "Excel, SQL, 経理" : "フォークリフト, 溶接"},
          {"prefecture", kPrefectures[i % 6]},
          {"age_band", "35-44"},
          {"experience_band", "6-10"},
          {"desired_roles", "事務, 経理"},
          {"consent_region", "yes"},
          {"consent_peers", i % 3 ? "yes" : "no"},
          {"consent_stats", "yes"},
          {"nonce", "scale-" + std::to_string(i)}};
}

FillFigures fill(Library& lib, std::uint64_t candidates, std::uint64_t entries) {
  auto& d = lib.domain;
  auto& store = d.candidates;
  FillFigures f;
  const double cpu_start = process_cpu_seconds();
  std::vector<node::members::Member> members;
  {
    auto txn = lib.env.begin_write();
    for (int i = 0; i < 200; ++i)
      members.push_back(d.members.admit(txn, "Member company " + std::to_string(i))->member);
    txn.commit();
  }
  // Candidates: registered through a member's relay link and confirmed with the link of
  // their confirmation mail, as a person does; the mail is then handed over (SMTP: nothing
  // kept), so the queue is empty as on a node whose mail went out.
  auto start = Clock::now();
  constexpr std::uint64_t kCandidatesPerTxn = 1000;
  for (std::uint64_t first = 0; first < candidates; first += kCandidatesPerTxn) {
    auto txn = lib.env.begin_write();
    for (std::uint64_t i = first; i < std::min(candidates, first + kCandidatesPerTxn); ++i) {
      const auto& member = members[i % members.size()];
      auto form = registration_form(i);
      auto submitted = d.intake.submit(txn, member.link_token, form);
      if (!submitted.accepted) throw std::runtime_error("candidate " + std::to_string(i));
      auto pseudonym =
          store.pseudonym_of(node::referrals::identify_address(form["email"]).canonical);
      auto candidate = store.find_by_pseudonym(txn, pseudonym);
      auto referral = d.referrals.for_person(txn, member.id, candidate->pseudonym);
      auto token = store.confirmation_link(candidate->id, referral->id);
      if (d.intake.confirm(txn, token).state != node::referrals::ConfirmState::confirmed)
        throw std::runtime_error("candidate " + std::to_string(i) + " not confirmed");
    }
    for (const auto& mail : store.queued_mail(txn, 10 * kCandidatesPerTxn))
      store.mail_spooled(txn, mail.seq, mail.candidate_id, "");
    store.key_slots().commit(txn);
    if ((first / kCandidatesPerTxn) % 100 == 99) {
      std::printf("    %s candidates (%.0f/s)\n", with_commas(first + kCandidatesPerTxn).c_str(),
                  static_cast<double>(first + kCandidatesPerTxn) / seconds_since(start));
      std::fflush(stdout);
    }
  }
  f.candidates = candidates;
  f.candidates_s = seconds_since(start);
  {
    auto txn = lib.env.begin_read();
    f.entries_from_candidates = d.ledger.size(txn);
  }
  // Then verified referrals until the ledger holds `entries` (audit_bench's mix: a member
  // suspended or reinstated now and then).
  start = Clock::now();
  std::mt19937_64 rng(7);
  std::vector<bool> active(members.size(), true);
  std::uint64_t referral = 0;
  auto txn = lib.env.begin_write();
  std::uint64_t size = d.ledger.size(txn);
  const std::uint64_t top_up_from = size;
  while (size < entries) {
    const auto m = rng() % members.size();
    if (rng() % 500 == 0) {
      active[m] = !active[m];
      d.members.set_active(txn, members[m].id, active[m]);
    } else {
      d.credits.record_verified(txn, members[m].id, "r_scale_" + std::to_string(referral++),
                                relay::crypto::to_hex(relay::crypto::as_bytes(
                                    std::to_string(rng()) + std::to_string(rng()))),
                                active[m]);
    }
    if (referral % 20'000 == 0) {
      size = d.ledger.size(txn);
      txn.commit();
      txn = lib.env.begin_write();
      if (referral % 1'000'000 == 0) {
        std::printf("    %s entries (%.0f/s)\n", with_commas(static_cast<double>(size)).c_str(),
                    static_cast<double>(size - top_up_from) / seconds_since(start));
        std::fflush(stdout);
      }
    } else {
      size = d.ledger.size(txn);
    }
  }
  txn.commit();
  f.entries_s = seconds_since(start);
  f.entries = size;
  f.cpu_s = process_cpu_seconds() - cpu_start;
  return f;
}

// --- measurements ----------------------------------------------------------------------------

// The indexes built once over an older directory since 27a1024 (each database's name is its
// mark's): what a node upgraded from that release builds at its first start.
const std::vector<std::string> kUpgradeIndexes = {
    "member_referral_counts",      "alerts_by_kind",          "member_introductions_by_time",
    "member_requisitions_by_time", "introductions_reporting", "members_by_time"};

struct StartRun {
  double healthy_s = 0;    // exec -> first 200 of /healthz
  double listening_s = 0;  // exec -> the "listening" line
  Memory memory;           // right after the first 200
};

struct AuditKey {
  std::string origin;
  protocol::NoteVerifierKey vkey;
};

struct Checkpoint {
  std::uint64_t size = 0;
  protocol::Hash root{};
};

// Opens the signed checkpoint with the node's note key: what an auditor trusts.
Checkpoint signed_checkpoint(HttpClient& http, const AuditKey& key) {
  auto [status, note] = http.get("/audit/v1/checkpoint");
  if (status != 200)
    throw std::runtime_error("GET /audit/v1/checkpoint: " + std::to_string(status));
  auto opened = protocol::open_checkpoint(note, key.origin, key.vkey);
  if (!opened) throw std::runtime_error("checkpoint does not verify: " + opened.error);
  return {opened.opened->checkpoint.size, opened.opened->checkpoint.root};
}

std::vector<protocol::Hash> proof_hashes(const json& reply) {
  std::vector<protocol::Hash> out;
  for (const auto& h : reply.at("proof")) {
    auto bytes = relay::crypto::from_base64(h.get<std::string>());
    if (!bytes || bytes->size() != 32) throw std::runtime_error("proof hash is not 32 bytes");
    protocol::Hash hash{};
    std::copy(bytes->begin(), bytes->end(), hash.begin());
    out.push_back(hash);
  }
  return out;
}

struct ConsistencySample {
  std::uint64_t from = 0, to = 0;
  std::vector<protocol::Hash> proof;
};

struct HttpProofs {
  Percentiles inclusion_ms, consistency_ms;
  std::size_t verified_inclusion = 0, verified_consistency = 0;
  Memory after_load;
  std::map<std::string, Percentiles> other_ms;               // the other read paths
  std::vector<std::pair<std::string, Memory>> memory_after;  // after each path's requests
};

// The audit read paths over one keep-alive connection; every 20th proof verified.
HttpProofs http_proofs(std::uint16_t port, pid_t pid, const std::string& auditor,
                       const AuditKey& key, std::size_t samples, Library* verify_with) {
  HttpClient http(port);
  const auto cp = signed_checkpoint(http, key);
  std::mt19937_64 rng(11);
  HttpProofs out;
  out.memory_after.emplace_back("start-up work (before the load)", memory_of(pid));
  auto timed = [&](const std::string& target, const std::string& token) {
    auto start = Clock::now();
    auto [status, body] = http.get(target, token);
    double ms = seconds_since(start) * 1e3;
    if (status != 200)
      throw std::runtime_error("GET " + target + ": " + std::to_string(status) + " " + body);
    return std::pair{ms, std::move(body)};
  };
  std::vector<double> ms;
  for (std::size_t i = 0; i < samples; ++i) {
    const auto index = rng() % cp.size;
    auto [t, body] = timed("/audit/v1/proof/inclusion?index=" + std::to_string(index) +
                               "&size=" + std::to_string(cp.size),
                           auditor);
    ms.push_back(t);
    if (i % 20 != 0) continue;
    // The entry itself, its signature, and the proof against the signed root.
    auto page = json::parse(
        http.get("/audit/v1/entries?start=" + std::to_string(index) + "&limit=1", auditor).second);
    const std::string entry = page.at("entries").at(0);
    auto parsed = protocol::parse_entry(entry);
    auto* e = std::get_if<protocol::LedgerEntry>(&parsed);
    if (!e || e->index != index || !protocol::verify_entry(*e, key.vkey.public_key))
      throw std::runtime_error("entry " + std::to_string(index) + " does not verify");
    if (!protocol::verify_inclusion(index, cp.size,
                                    protocol::leaf_hash(relay::crypto::as_bytes(entry)),
                                    proof_hashes(json::parse(body)), cp.root))
      throw std::runtime_error("inclusion proof of " + std::to_string(index) + " is wrong");
    ++out.verified_inclusion;
  }
  out.inclusion_ms = percentiles(ms);
  out.memory_after.emplace_back("inclusion", memory_of(pid));
  ms.clear();
  std::vector<ConsistencySample> kept;
  for (std::size_t i = 0; i < samples; ++i) {
    const auto to = 2 + rng() % (cp.size - 1);
    const auto from = 1 + rng() % (to - 1);
    auto [t, body] = timed(
        "/audit/v1/proof/consistency?from=" + std::to_string(from) + "&to=" + std::to_string(to),
        auditor);
    ms.push_back(t);
    if (i % 20 == 0) kept.push_back({from, to, proof_hashes(json::parse(body))});
  }
  out.consistency_ms = percentiles(ms);
  out.memory_after.emplace_back("consistency", memory_of(pid));
  // A few hundred of each other read path (what an auditor and a load balancer read).
  const std::vector<std::pair<std::string, std::string>> others{
      {"healthz", "/healthz"},
      {"checkpoint", "/audit/v1/checkpoint"},
      {"key", "/audit/v1/key"},
      {"entries (100)", "/audit/v1/entries?limit=100&start="},
      {"balances", "/audit/v1/balances"}};
  for (const auto& [name, path] : others) {
    ms.clear();
    for (int i = 0; i < 300; ++i) {
      auto target = path.back() == '=' ? path + std::to_string(rng() % (cp.size - 100)) : path;
      ms.push_back(timed(target, auditor).first);
    }
    out.other_ms[name] = percentiles(ms);
    out.memory_after.emplace_back(name, memory_of(pid));
  }
  out.after_load = memory_of(pid);
  // Consistency proofs checked against roots computed from the stored tree (the node only
  // signs its current root).
  if (verify_with) {
    auto txn = verify_with->env.begin_read();
    for (const auto& s : kept) {
      auto old_root = verify_with->domain.ledger.root(txn, s.from);
      auto new_root = verify_with->domain.ledger.root(txn, s.to);
      if (!protocol::verify_consistency(s.from, s.to, s.proof, old_root, new_root))
        throw std::runtime_error("consistency proof " + std::to_string(s.from) + " -> " +
                                 std::to_string(s.to) + " is wrong");
      ++out.verified_consistency;
    }
    if (verify_with->domain.ledger.root(txn, cp.size) != cp.root)
      throw std::runtime_error("the signed root is not the stored tree's root");
  }
  return out;
}

struct InProcess {
  Percentiles inclusion_us, consistency_us;
  Percentiles inclusion_cpu_us, consistency_cpu_us;  // this thread's CPU time (load-free)
  // During both loops: page faults that read the disk, and times this thread was preempted
  // (the causes of a slow tail: a cold page of data.mdb, or a CPU other processes hold).
  long major_faults = 0, preempted = 0;
};

// Ledger proofs in a read txn each, as the routes make them (without HTTP and JSON).
InProcess in_process_proofs(Library& lib, std::size_t samples) {
  auto& ledger = lib.domain.ledger;
  // The node's hash file, topped up as its loop keeps it (ledger/hash_file.hpp).
  ledger.keep_hashes_in(lib.env, lib.config.data_dir / node::ledger::kHashFileName);
  ledger.write_hash_file(lib.env, std::numeric_limits<std::uint64_t>::max());
  std::uint64_t size = 0;
  protocol::Hash root{};
  {
    auto txn = lib.env.begin_read();
    size = ledger.size(txn);
    root = ledger.root(txn, size);
  }
  std::mt19937_64 rng(13);
  InProcess out;
  rusage before{};
  ::getrusage(RUSAGE_THREAD, &before);
  std::vector<double> us, cpu;
  for (std::size_t i = 0; i < samples; ++i) {
    const auto index = rng() % size;
    auto start = Clock::now();
    const double cpu_start = thread_cpu_seconds();
    auto txn = lib.env.begin_read();
    auto proof = ledger.inclusion_proof(txn, index, size);
    us.push_back(seconds_since(start) * 1e6);
    cpu.push_back((thread_cpu_seconds() - cpu_start) * 1e6);
    auto entry = ledger.entry(txn, index);
    if (!proof || !entry ||
        !protocol::verify_inclusion(
            index, size, protocol::leaf_hash(relay::crypto::as_bytes(*entry)), *proof, root))
      throw std::runtime_error("in-process inclusion proof of " + std::to_string(index));
  }
  out.inclusion_us = percentiles(us);
  out.inclusion_cpu_us = percentiles(cpu);
  us.clear();
  cpu.clear();
  for (std::size_t i = 0; i < samples; ++i) {
    const auto to = 2 + rng() % (size - 1);
    const auto from = 1 + rng() % (to - 1);
    auto start = Clock::now();
    const double cpu_start = thread_cpu_seconds();
    auto txn = lib.env.begin_read();
    auto proof = ledger.consistency_proof(txn, from, to);
    us.push_back(seconds_since(start) * 1e6);
    cpu.push_back((thread_cpu_seconds() - cpu_start) * 1e6);
    if (!proof) throw std::runtime_error("in-process consistency proof");
    if (i % 50 == 0 && !protocol::verify_consistency(from, to, *proof, ledger.root(txn, from),
                                                     ledger.root(txn, to)))
      throw std::runtime_error("in-process consistency proof does not verify");
  }
  out.consistency_us = percentiles(us);
  out.consistency_cpu_us = percentiles(cpu);
  rusage after{};
  ::getrusage(RUSAGE_THREAD, &after);
  out.major_faults = after.ru_majflt - before.ru_majflt;
  out.preempted = after.ru_nivcsw - before.ru_nivcsw;
  return out;
}

// --- the run ---------------------------------------------------------------------------------

struct Options {
  std::string node_binary = RELAY_NODE_BINARY;
  std::uint64_t entries = 10'000'000;
  std::uint64_t candidates = 1'000'000;
  std::size_t samples = 5000;
  bool keep = false;
  std::optional<fs::path> reuse;
};

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--entries" && i + 1 < argc)
      o.entries = std::stoull(argv[++i]);
    else if (arg == "--candidates" && i + 1 < argc)
      o.candidates = std::stoull(argv[++i]);
    else if (arg == "--samples" && i + 1 < argc)
      o.samples = std::stoull(argv[++i]);
    else if (arg == "--keep")
      o.keep = true;
    else if (arg == "--reuse" && i + 1 < argc)
      o.reuse = fs::absolute(argv[++i]);
    else if (arg == "--node" && i + 1 < argc)
      o.node_binary = fs::absolute(argv[++i]).string();
    else
      throw std::invalid_argument(
          "usage: scale_bench [--entries N] [--candidates M] [--samples S] [--keep] "
          "[--reuse DIR] [--node PATH]");
  }
  return o;
}

// `relay-node init`, the limits a single sequential client would trip lifted, and one
// serve that writes the genesis entries. Returns the start-up of the empty node.
StartRun init_node(const std::string& binary, const fs::path& root, std::uint16_t port) {
  const auto dir = root / "node";
  if (run_quietly({binary, "init", "--data-dir", dir.string(), "--name", "bench.relaynode",
                   "--region", "JP-28", "--listen", "127.0.0.1:" + std::to_string(port)}) != 0)
    throw std::runtime_error("relay-node init failed");
  auto config = json::parse(std::ifstream(dir / "node.json"));
  // One auditor reads thousands of proofs a minute: the per-address limit (600/min) would
  // answer 429 (limits are measured by scripts/bench-limits).
  config["limits"]["per_ip"]["requests"] = 0;
  std::ofstream(dir / "node.json") << config.dump(2) << "\n";
  ServeProcess serve(binary, dir / "node.json", root / "serve.log", port);
  StartRun run;
  run.healthy_s = serve.wait_healthy();
  run.listening_s = serve.wait_listening();
  run.memory = memory_of(serve.pid());
  return run;
}

void set_port(const fs::path& node_json, std::uint16_t port) {
  auto config = json::parse(std::ifstream(node_json));
  config["listen"]["port"] = port;
  std::ofstream(node_json) << config.dump(2) << "\n";
}

void row(const std::string& what, const std::string& value, const std::string& target = "",
         bool met = true) {
  std::printf("  %-44s %-36s %s%s\n", what.c_str(), value.c_str(), target.c_str(),
              target.empty() ? "" : (met ? "  ok" : "  MISSED"));
}

int run(int argc, char** argv) {
  const auto o = parse_options(argc, argv);
  const fs::path root = o.reuse
                            ? *o.reuse
                            : fs::path(RELAY_BENCH_TMP) /
                                  ("scale-" + std::to_string(o.entries) + "-" +
                                   std::to_string(o.candidates) + "-" + std::to_string(::getpid()));
  const auto node_json = root / "node" / "node.json";
  const auto lmdb = root / "node" / "lmdb";
  json out;
  FillFigures filled;
  std::optional<StartRun> empty_start;
  if (!o.reuse) {
    fs::create_directories(root);
    std::printf("scale benchmark: filling %s with %s candidates and %s ledger entries\n",
                root.c_str(), with_commas(static_cast<double>(o.candidates)).c_str(),
                with_commas(static_cast<double>(o.entries)).c_str());
    empty_start = init_node(o.node_binary, root, free_port());
    // Address space only: the file grows as pages are written (the node keeps this map size).
    const std::size_t map_bytes = std::max<std::size_t>(
        std::size_t{4} << 30, (o.entries * 1500 + o.candidates * 16000) & ~std::size_t{0xfffff});
    Library lib(node_json, map_bytes);
    filled = fill(lib, o.candidates, o.entries);
    std::ofstream(root / "fill.json") << filled.to_json().dump(2) << "\n";
  } else {
    if (!fs::exists(root / "fill.json")) throw std::runtime_error(root.string() + ": no fill.json");
    auto f = json::parse(std::ifstream(root / "fill.json"));
    filled.candidates = f.at("candidates");
    filled.candidates_s = f.at("candidates_seconds");
    filled.entries = f.at("ledger_entries");
    filled.entries_from_candidates = f.at("ledger_entries_from_candidates");
    filled.entries_s = f.at("entries_seconds");
    filled.cpu_s = f.at("cpu_seconds");
    std::printf("scale benchmark: reusing %s (%s candidates, %s ledger entries)\n", root.c_str(),
                with_commas(static_cast<double>(filled.candidates)).c_str(),
                with_commas(static_cast<double>(filled.entries)).c_str());
  }
  out["fill"] = filled.to_json();
  const double disk_mib = static_cast<double>(disk_bytes(root / "node")) / (1 << 20);
  const double mdb_mib = static_cast<double>(disk_bytes(lmdb)) / (1 << 20);

  // Start-up: warm (three runs, the page cache as the fill or the last run left it) and cold.
  const std::string auditor = read_text(root / "node" / "auditor_token");
  std::vector<StartRun> warm;
  StartRun cold;
  HttpProofs http;
  double settled_s = 0;  // after the last warm start, before its load
  std::vector<std::pair<double, std::string>> start_lines;
  AuditKey key;
  // Cold first, then the data files read into the page cache in 4 KiB folios (as a server
  // that has been running has them), then the warm runs; the load and the in-process proofs run
  // warm.
  for (int run = 0; run < 4; ++run) {
    const bool is_cold = run == 0;
    if (is_cold) {
      drop_cache(lmdb / "data.mdb");
      drop_cache(root / "node" / "candidate_keys");
      drop_cache(root / "node" / node::ledger::kHashFileName);
    } else if (run == 1) {
      read_into_cache(lmdb / "data.mdb", CachedAs::node);
      read_into_cache(root / "node" / "candidate_keys", CachedAs::node);
      read_into_cache(root / "node" / node::ledger::kHashFileName, CachedAs::node);
    }
    const auto port = free_port();
    set_port(node_json, port);
    ServeProcess serve(o.node_binary, node_json, root / "serve.log", port);
    StartRun r;
    r.healthy_s = serve.wait_healthy();
    r.listening_s = serve.wait_listening();
    r.memory = memory_of(serve.pid());
    if (is_cold) {
      cold = r;
      start_lines = serve.start_lines();
    } else {
      warm.push_back(r);
    }
    if (run == 3) {
      // Load on the last warm run: proofs and the other audit reads.
      HttpClient client(port);
      auto k = json::parse(client.get("/audit/v1/key").second);
      key.origin = k.at("origin");
      auto vkey = protocol::parse_vkey(k.at("vkey").get<std::string>());
      if (!vkey) throw std::runtime_error("GET /audit/v1/key: bad vkey");
      key.vkey = *vkey;
      settled_s = wait_until_idle(serve.pid());
      http = http_proofs(port, serve.pid(), auditor, key, o.samples, nullptr);
    }
  }
  std::sort(warm.begin(), warm.end(),
            [](const StartRun& a, const StartRun& b) { return a.healthy_s < b.healthy_s; });
  const auto& median = warm[1];

  // The data directory's own key must be the one the node signed with; consistency proofs
  // checked against the stored tree, then the in-process proofs.
  InProcess local, local_cold;
  {
    Library lib(node_json, std::size_t{1} << 30);
    if (lib.keys.current()->signing.public_key.bytes != key.vkey.public_key.bytes)
      throw std::runtime_error("the node signs with a key not in its data directory");
    // Verification pass over the HTTP proofs, on a fresh node (a short second load).
    const auto port = free_port();
    set_port(node_json, port);
    ServeProcess serve(o.node_binary, node_json, root / "serve.log", port);
    serve.wait_healthy();
    auto checked = http_proofs(port, serve.pid(), auditor, key, 400, &lib);
    http.verified_inclusion += checked.verified_inclusion;
    http.verified_consistency = checked.verified_consistency;
    serve.stop();
    local = in_process_proofs(lib, o.samples * 4);
  }
  {
    // The same with data.mdb out of the page cache (a server with less memory than data):
    // dropped while no process maps it, so that no page stays mapped.
    drop_cache(lmdb / "data.mdb");
    drop_cache(root / "node" / node::ledger::kHashFileName);
    Library lib(node_json, std::size_t{1} << 30);
    local_cold = in_process_proofs(lib, o.samples / 2);
  }
  // The HTTP load once more, with data.mdb cached as cp or tar would leave it (large folios):
  // what a map budget can and cannot hold when each fault maps a whole folio.
  HttpProofs copied;
  {
    drop_cache(lmdb / "data.mdb");
    read_into_cache(lmdb / "data.mdb", CachedAs::cp);
    const auto port = free_port();
    set_port(node_json, port);
    ServeProcess serve(o.node_binary, node_json, root / "serve.log", port);
    serve.wait_healthy();
    wait_until_idle(serve.pid());
    copied = http_proofs(port, serve.pid(), auditor, key, o.samples / 5, nullptr);
  }

  // An upgrade from 27a1024: its one-time builds since dropped, then two starts (warm).
  StartRun upgrade, after_upgrade;
  std::vector<std::pair<double, std::string>> upgrade_lines;
  {
    {
      Library lib(node_json, std::size_t{1} << 30);
      std::vector<node::storage::Database> dbs;
      for (const auto& name : kUpgradeIndexes) dbs.push_back(lib.env.database(name));
      auto marks = lib.env.database(node::storage::kIndexMarks);
      auto txn = lib.env.begin_write();
      for (std::size_t i = 0; i < dbs.size(); ++i) {
        txn.clear(dbs[i]);
        txn.del(marks, kUpgradeIndexes[i]);
      }
      txn.commit();
    }
    read_into_cache(lmdb / "data.mdb", CachedAs::node);
    for (auto* r : {&upgrade, &after_upgrade}) {
      const auto port = free_port();
      set_port(node_json, port);
      ServeProcess serve(o.node_binary, node_json, root / "serve.log", port);
      r->healthy_s = serve.wait_healthy();
      r->listening_s = serve.wait_listening();
      r->memory = memory_of(serve.pid());
      if (r == &upgrade) upgrade_lines = serve.start_lines();
    }
  }

  // The table.
  const auto n = with_commas(static_cast<double>(filled.entries));
  std::printf("\nscale: %s candidates, %s ledger entries, data in %s\n",
              with_commas(static_cast<double>(filled.candidates)).c_str(), n.c_str(), root.c_str());
  row("fill: candidates (intake submit + confirm)",
      with_commas(static_cast<double>(filled.candidates) / filled.candidates_s) + " /s (" +
          format("%.0f s)", filled.candidates_s));
  row("fill: ledger entries (sign + LMDB, 20k/txn)",
      with_commas(static_cast<double>(filled.entries - filled.entries_from_candidates) /
                  filled.entries_s) +
          " /s (" + format("%.0f s)", filled.entries_s));
  row("size on disk (data dir; data.mdb)", format("%.0f MiB; %.0f MiB", disk_mib, mdb_mib));
  if (empty_start)
    row("start-up, empty node (exec -> /healthz 200)", format("%.3f s", empty_start->healthy_s));
  row("start-up, warm cache (median of 3)",
      format("%.3f s (listening line %.3f s)", median.healthy_s, median.listening_s), "< 1 s",
      median.healthy_s < kStartTargetS);
  row("start-up, cold cache", format("%.3f s", cold.healthy_s), "< 1 s",
      cold.healthy_s < kStartTargetS);
  row("start-up, upgraded from 27a1024 (once)",
      format("%.3f s (VmRSS %.0f: anon %.0f, data.mdb %.0f; VmHWM %.0f MiB)", upgrade.healthy_s,
             upgrade.memory.rss_mib, upgrade.memory.anon_mib, upgrade.memory.mdb_mib,
             upgrade.memory.hwm_mib));
  row("start-up after the upgrade", format("%.3f s", after_upgrade.healthy_s), "< 1 s",
      after_upgrade.healthy_s < kStartTargetS);
  row("RSS after start (warm): VmRSS / VmHWM",
      format("%.0f / %.0f MiB", median.memory.rss_mib, median.memory.hwm_mib), "< 200 MiB",
      median.memory.hwm_mib < kRssTargetMiB);
  row("  of which anon / file (data.mdb's pages)",
      format("%.0f / %.0f MiB (%.0f MiB)", median.memory.anon_mib, median.memory.file_mib,
             median.memory.mdb_mib));
  row("RSS after load: VmRSS / VmHWM",
      format("%.0f / %.0f MiB", http.after_load.rss_mib, http.after_load.hwm_mib), "< 200 MiB",
      http.after_load.hwm_mib < kRssTargetMiB);
  row("  of which anon / file (data.mdb's pages)",
      format("%.0f / %.0f MiB (%.0f MiB)", http.after_load.anon_mib, http.after_load.file_mib,
             http.after_load.mdb_mib));
  row("  the same, data.mdb first read by cp",
      format("%.0f / %.0f MiB (inclusion p99 %.3f ms)", copied.after_load.rss_mib,
             copied.after_load.hwm_mib, copied.inclusion_ms.p99));
  row("node busy after start (background: pool index)", format("%.1f s, then measured", settled_s));
  row("inclusion proof, HTTP: p50 / p99",
      format("%.3f / %.3f ms", http.inclusion_ms.p50, http.inclusion_ms.p99), "< 1 ms p99",
      http.inclusion_ms.p99 < kProofTargetMs);
  row("consistency proof, HTTP: p50 / p99",
      format("%.3f / %.3f ms", http.consistency_ms.p50, http.consistency_ms.p99), "< 1 ms p99",
      http.consistency_ms.p99 < kProofTargetMs);
  row("inclusion proof, in-process: p50 / p99",
      format("%.1f / %.1f us", local.inclusion_us.p50, local.inclusion_us.p99), "< 1 ms p99",
      local.inclusion_us.p99 < kProofTargetMs * 1e3);
  row("consistency proof, in-process: p50 / p99",
      format("%.1f / %.1f us", local.consistency_us.p50, local.consistency_us.p99), "< 1 ms p99",
      local.consistency_us.p99 < kProofTargetMs * 1e3);
  row("  CPU time only: inclusion / consistency p99",
      format("%.1f / %.1f us", local.inclusion_cpu_us.p99, local.consistency_cpu_us.p99));
  row("inclusion proof, in-process, cold: p50 / p99",
      format("%.1f / %.1f us", local_cold.inclusion_us.p50, local_cold.inclusion_us.p99));
  row("consistency proof, in-process, cold: p50 / p99",
      format("%.1f / %.1f us", local_cold.consistency_us.p50, local_cold.consistency_us.p99));
  row("  cold: major faults / preemptions", std::to_string(local_cold.major_faults) + " / " +
                                                std::to_string(local_cold.preempted) + " in " +
                                                std::to_string(o.samples) + " proofs");
  row("  in-process: major faults / preemptions", std::to_string(local.major_faults) + " / " +
                                                      std::to_string(local.preempted) + " in " +
                                                      std::to_string(o.samples * 8) + " proofs");
  for (const auto& [name, p] : http.other_ms)
    row("GET " + name + ", HTTP: p50 / p99", format("%.3f / %.3f ms", p.p50, p.p99));
  for (const auto& [name, m] : http.memory_after)
    row("  VmRSS after " + name,
        format("%.0f MiB (VmHWM %.0f; anon %.0f, file %.0f, data.mdb %.0f)", m.rss_mib, m.hwm_mib,
               m.anon_mib, m.file_mib, m.mdb_mib));
  row("proofs verified (HTTP)", std::to_string(http.verified_inclusion) + " inclusion, " +
                                    std::to_string(http.verified_consistency) + " consistency");
  std::printf("  start-up log before listening (cold run, s after exec):\n");
  for (const auto& [at, line] : start_lines) std::printf("    %7.3f  %.150s\n", at, line.c_str());
  std::printf("  start-up log before listening (upgrade run, s after exec):\n");
  for (const auto& [at, line] : upgrade_lines) std::printf("    %7.3f  %.150s\n", at, line.c_str());

  auto percent = [](const Percentiles& p) {
    return json{{"p50", p.p50}, {"p99", p.p99}, {"max", p.max}};
  };
  out["entries"] = filled.entries;
  out["candidates"] = filled.candidates;
  out["disk_mib"] = disk_mib;
  out["data_mdb_mib"] = mdb_mib;
  if (empty_start) out["start_empty_s"] = empty_start->healthy_s;
  out["start_warm_s"] = json::array();
  for (const auto& r : warm) out["start_warm_s"].push_back(r.healthy_s);
  out["start_warm_median_s"] = median.healthy_s;
  out["listening_warm_median_s"] = median.listening_s;
  out["start_cold_s"] = cold.healthy_s;
  out["start_upgrade"] = {{"indexes", kUpgradeIndexes},
                          {"first_s", upgrade.healthy_s},
                          {"memory_after_first", upgrade.memory.to_json()},
                          {"next_s", after_upgrade.healthy_s}};
  out["memory_after_start"] = median.memory.to_json();
  out["memory_after_start_cold"] = cold.memory.to_json();
  out["memory_after_load"] = http.after_load.to_json();
  for (const auto& [name, m] : http.memory_after) out["memory_after_path"][name] = m.to_json();
  out["memory_after_load_cached_by_cp"] = copied.after_load.to_json();
  out["http_ms_cached_by_cp"] = {{"inclusion", percent(copied.inclusion_ms)},
                                 {"consistency", percent(copied.consistency_ms)}};
  out["busy_after_start_s"] = settled_s;
  out["http_ms"] = {{"inclusion", percent(http.inclusion_ms)},
                    {"consistency", percent(http.consistency_ms)}};
  for (const auto& [name, p] : http.other_ms) out["http_ms"][name] = percent(p);
  out["in_process_us"] = {{"inclusion", percent(local.inclusion_us)},
                          {"consistency", percent(local.consistency_us)},
                          {"major_faults", local.major_faults},
                          {"preempted", local.preempted},
                          {"inclusion_cpu", percent(local.inclusion_cpu_us)},
                          {"consistency_cpu", percent(local.consistency_cpu_us)}};
  out["in_process_cold_us"] = {{"inclusion", percent(local_cold.inclusion_us)},
                               {"consistency", percent(local_cold.consistency_us)},
                               {"major_faults", local_cold.major_faults},
                               {"preempted", local_cold.preempted}};
  out["verified"] = {{"inclusion", http.verified_inclusion},
                     {"consistency", http.verified_consistency}};
  out["targets"] = {
      {"start_s", kStartTargetS}, {"rss_mib", kRssTargetMiB}, {"proof_p99_ms", kProofTargetMs}};
  out["start_log"] = json::array();
  for (const auto& [at, line] : start_lines)
    out["start_log"].push_back({{"s", at}, {"line", line}});
  fs::create_directories(fs::path(RELAY_BENCH_JSON).parent_path());
  std::ofstream(RELAY_BENCH_JSON) << out.dump(2) << "\n";
  std::printf("  written to %s\n", RELAY_BENCH_JSON);

  if (o.keep || o.reuse) {
    std::printf("  kept: measure again with --reuse %s\n", root.c_str());
  } else {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "scale_bench: " << e.what() << "\n";
    return 2;
  }
}
