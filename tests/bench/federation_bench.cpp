// federation_bench: how fast two real relay-node processes on loopback exchange signed
// messages, against the raw limit measured in the same run on this machine.
//
// Raw limit of one message, measured piece by piece on one thread:
//   seal      protocol::seal_body of a 1 KiB payload (signed plaintext + sealed box), as a
//             handoff delivery body is sealed;
//   sign      protocol::encode_envelope of that body (canonical JSON + Ed25519);
//   verify    protocol::parse_envelope + verify_envelope of the signed envelope;
//   HTTP      a minimal HTTP round trip to the same node (GET /healthz, over the connection
//             the one before left open, as the federation client sends to a peer:
//             node/http/kept_connections.hpp).
// raw time per message = seal + sign + verify + HTTP; raw messages/s = 1 / that.
//
// Measured between node A and node B (peered both ways):
//   direct    the bench signs "ping" envelopes as A with a sealed 1 KiB body and POSTs them to
//             B's /federation/v1/messages; B checks everything, records the id with its reply
//             in one durable LMDB commit and answers with a signed reply, which is verified.
//             Round trip latency (1 client) and messages/s (1 and 16 clients).
//   outbox    A's own sender (its loop for B): pings queued at A (POST /api/v1/peers/B/ping)
//             delivered to B and removed from A's outbox (a second commit): latency of one,
//             and messages/s of a burst: 3,000 pings queued while B is suspended at A, timed
//             from B's reinstatement (which makes them due at once) until they are all gone,
//             with the CPU each node spent per message meanwhile.
// --tls: both nodes serve HTTPS (NodeProcess::Options::tls: certificates of a test CA that
// each node trusts through federation.ca_file), as peers across a network do; the figures go
// to federation-tls.json beside RELAY_BENCH_JSON (scripts/bench-targets reads both).
// Prints a table and writes the figures as JSON to RELAY_BENCH_JSON (build/bench/federation.json).
// Usage: federation_bench [--messages N] [--seconds S] [--tls]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/key_file.hpp"
#include "crypto/keys.hpp"
#include "crypto/random.hpp"
#include "node/http/client.hpp"
#include "protocol/envelope.hpp"
#include "support/consortium.hpp"
#include "support/node_process.hpp"

namespace {

using relay::test::NodeProcess;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace protocol = relay::protocol;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Samples {
  std::vector<double> seconds;
  double median() {
    std::sort(seconds.begin(), seconds.end());
    return seconds.empty() ? 0 : seconds[seconds.size() / 2];
  }
  double p99() {
    std::sort(seconds.begin(), seconds.end());
    return seconds.empty() ? 0 : seconds[std::min(seconds.size() - 1, seconds.size() * 99 / 100)];
  }
};

// Runs fn repeatedly for about `budget`; returns seconds per call.
template <class F>
double per_call(F fn, std::chrono::milliseconds budget = 700ms) {
  std::size_t n = 0;
  auto start = Clock::now();
  while (Clock::now() - start < budget || n < 10) {
    fn();
    ++n;
  }
  return seconds_since(start) / static_cast<double>(n);
}

NodeProcess::Options options(const std::string& name, const std::string& region, bool tls) {
  NodeProcess::Options o;
  o.name = name;
  o.region = region;
  o.tls = tls;
  // A message that fails waits an hour (the outbox burst's backlog; nothing else fails).
  o.configure = [](nlohmann::json& config) {
    config["federation"]["retry_initial_ms"] = 3600 * 1000;
    config["federation"]["retry_max_ms"] = 3600 * 1000;
  };
  return o;
}

void peer(const NodeProcess& node, const NodeProcess& other) {
  auto key = other.get("/audit/v1/key").json();
  auto reply = node.post_json("/api/v1/peers",
                              {{"name", other.options().name},
                               {"url", other.url()},
                               {"fingerprint", key.at("fingerprint")}},
                              node.admin_token());
  if (reply.status != 201) throw std::runtime_error("peering failed: " + reply.body);
}

// Pings still queued in the node's outbox, and how many of them were never tried (other
// messages, such as a profile sync the peer refused before it had peered back, are not the
// bench's business). A failed ping ends the bench.
struct Pings {
  std::size_t queued = 0;
  std::size_t untried = 0;
};
Pings pings_in_outbox(const NodeProcess& node) {
  auto reply = node.get("/api/v1/federation/outbox", node.admin_token());
  auto j = reply.json();
  if (reply.status != 200 || !j.is_object())
    throw std::runtime_error("outbox: " + std::to_string(reply.status) + " " + reply.error + " " +
                             reply.body);
  Pings n;
  for (const auto& e : j.at("outbox")) {
    if (e.at("type") != "ping") continue;
    if (e.at("state") == "failed") throw std::runtime_error("a ping failed: " + e.dump());
    ++n.queued;
    n.untried += e.at("attempts") == 0;
  }
  return n;
}

// Messages queued for `peer`, from the operator's per-peer counts (GET /api/v1/peers reads one
// counter, where the outbox listing reads and prints every entry; polled every few ms during a
// burst, the listing is read only once the counts say the pings are gone).
std::size_t queued_for(const NodeProcess& node, const std::string& peer) {
  auto reply = node.get("/api/v1/peers", node.admin_token());
  auto j = reply.json();
  if (reply.status != 200 || !j.is_object()) throw std::runtime_error("peers: " + reply.body);
  for (const auto& p : j.at("peers"))
    if (p.at("name") == peer) return p.at("delivery").at("queued").get<std::size_t>();
  throw std::runtime_error("peer " + peer + " not listed");
}

// Polls until every ping in the node's outbox has been tried once (the sender has gone through
// the backlog of a suspended peer); false after `limit`.
bool untried_pings_gone(const NodeProcess& node, std::chrono::seconds limit) {
  auto deadline = Clock::now() + limit;
  for (;;) {
    if (pings_in_outbox(node).untried == 0) return true;
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(100ms);
  }
}

// Polls until A's outbox holds no ping (at most a minute). The counts are polled; the listing
// is read once they say the pings are gone (others queued for the peer are not the bench's).
void drain(const NodeProcess& node, const std::string& peer, std::size_t others,
           std::chrono::milliseconds every) {
  auto deadline = Clock::now() + 60s;
  while (queued_for(node, peer) > others || pings_in_outbox(node).queued != 0) {
    if (Clock::now() > deadline) throw std::runtime_error("the outbox did not drain in a minute");
    std::this_thread::sleep_for(every);
  }
}

// CPU seconds (user + system) a process has used so far, from /proc/PID/stat.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));  // the name may hold spaces
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string fmt(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

void row(const std::string& what, const std::string& measured, const std::string& raw,
         const std::string& ratio) {
  std::printf("| %-46s | %14s | %14s | %7s |\n", what.c_str(), measured.c_str(), raw.c_str(),
              ratio.c_str());
}

}  // namespace

// The bench itself; main() catches what it throws, so that the nodes' destructors stop them
// (an exception out of main ends the process without unwinding: two nodes were left running).
int run(int argc, char** argv) {
  std::size_t burst = 3000;
  double seconds = 3.0;
  bool tls = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--tls") {
      tls = true;
    } else if (arg == "--messages" && i + 1 < argc) {
      burst = std::stoul(argv[++i]);
    } else if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else {
      std::cerr << "usage: federation_bench [--messages N] [--seconds S] [--tls]\n";
      return 2;
    }
  }

  std::cout << "starting two relay-node processes on loopback" << (tls ? ", HTTPS" : "") << "..."
            << std::endl;
  NodeProcess a(options("bench-a.example", "JP-28", tls));
  NodeProcess b(options("bench-b.example", "JP-27", tls));
  peer(a, b);
  peer(b, a);

  auto a_key = relay::crypto::Ed25519KeyPair::from_seed(
      relay::crypto::read_secret_file<relay::crypto::Ed25519Seed>(a.data_dir() / "keys" /
                                                                  "signing.key"));
  auto b_doc = protocol::parse_identity(b.get("/federation/v1/identity").body);
  if (!b_doc) throw std::runtime_error("B's identity document does not verify");
  const auto b_public = b_doc->signing_key;
  const std::string from = a.options().name;
  const std::string to = b.options().name;
  nlohmann::json payload = {{"data", std::string(1024, 'x')}};

  // One message as the bench sends it: seal, sign. Returns the envelope bytes.
  auto make = [&](const std::string& id) {
    protocol::Envelope e;
    e.type = "ping";
    e.id = id;
    e.from = from;
    e.to = to;
    e.ts_ms = now_ms();
    e.body = protocol::seal_body(payload, from, to, id, a_key, b_doc->encryption_key);
    return protocol::encode_envelope(e, a_key);
  };
  // Sends one message and checks the signed reply; false if anything is wrong.
  auto send = [&](const std::string& bytes, const std::string& id) {
    auto r = relay::node::http::http_request("POST", b.url() + "/federation/v1/messages", bytes,
                                             {{"Content-Type", "application/json"}}, 10'000ms);
    if (!r || r.response->status != 200) return false;
    auto parsed = protocol::parse_envelope(r.response->body);
    auto* reply = std::get_if<protocol::Envelope>(&parsed);
    return reply && reply->re == id && protocol::verify_envelope(*reply, b_public);
  };

  // --- raw limits ---
  std::cout << "measuring the raw limits..." << std::endl;
  auto id0 = "msg_" + relay::crypto::random_token(16);
  auto sealed = protocol::seal_body(payload, from, to, id0, a_key, b_doc->encryption_key);
  double t_seal = per_call([&] {
    auto s = protocol::seal_body(payload, from, to, id0, a_key, b_doc->encryption_key);
    if (s.empty()) std::abort();
  });
  protocol::Envelope proto;
  proto.type = "ping";
  proto.id = id0;
  proto.from = from;
  proto.to = to;
  proto.ts_ms = now_ms();
  proto.body = sealed;
  double t_sign = per_call([&] {
    if (protocol::encode_envelope(proto, a_key).empty()) std::abort();
  });
  auto signed_bytes = protocol::encode_envelope(proto, a_key);
  double t_verify = per_call([&] {
    auto parsed = protocol::parse_envelope(signed_bytes);
    auto* e = std::get_if<protocol::Envelope>(&parsed);
    if (!e || !protocol::verify_envelope(*e, a_key.public_key)) std::abort();
  });
  Samples http_rt;
  for (int i = 0; i < 400; ++i) {
    auto start = Clock::now();
    auto r = relay::node::http::http_request("GET", b.url() + "/healthz");
    if (!r || r.response->status != 200) throw std::runtime_error("healthz failed");
    http_rt.seconds.push_back(seconds_since(start));
  }
  double t_http = http_rt.median();
  double t_raw = t_seal + t_sign + t_verify + t_http;

  // --- direct envelopes: latency with one client ---
  std::cout << "direct signed envelopes A -> B..." << std::endl;
  Samples direct;
  for (std::size_t i = 0; i < 300; ++i) {
    auto id = "msg_" + relay::crypto::random_token(16);
    auto start = Clock::now();
    if (!send(make(id), id)) throw std::runtime_error("a direct message was refused");
    direct.seconds.push_back(seconds_since(start));
  }

  // --- direct envelopes: throughput with 1 and 16 clients ---
  auto throughput = [&](int clients) {
    std::atomic<std::size_t> done{0}, failed{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    auto start = Clock::now();
    for (int c = 0; c < clients; ++c)
      threads.emplace_back([&] {
        while (!stop) {
          auto id = "msg_" + relay::crypto::random_token(16);
          (send(make(id), id) ? done : failed)++;
        }
      });
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& t : threads) t.join();
    if (failed) std::cerr << failed << " messages failed with " << clients << " clients\n";
    return static_cast<double>(done) / seconds_since(start);
  };
  double rate_1 = throughput(1);
  double rate_16 = throughput(16);

  // Raw HTTP throughput with 16 clients, for the concurrent comparison.
  double http_16 = [&] {
    std::atomic<std::size_t> done{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    auto start = Clock::now();
    for (int c = 0; c < 16; ++c)
      threads.emplace_back([&] {
        while (!stop)
          if (relay::node::http::http_request("GET", b.url() + "/healthz")) ++done;
      });
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& t : threads) t.join();
    return static_cast<double>(done) / seconds_since(start);
  }();
  // With 16 clients the raw limit is the HTTP rate or the crypto on both cores, whichever is
  // lower (the bench and the node share the machine's cores).
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  double crypto_rate = cores / (t_seal + t_sign + t_verify);
  double raw_16 = std::min(http_16, crypto_rate);

  // --- through A's outbox ---
  std::cout << "pings through A's outbox..." << std::endl;
  auto ping = [&] {
    auto r =
        a.post_json("/api/v1/peers/" + to + "/ping", nlohmann::json::object(), a.admin_token());
    if (r.status != 202) throw std::runtime_error("ping not queued: " + r.body);
  };
  // Anything else queued for B (a retried profile sync, say) before the first ping.
  const std::size_t others = queued_for(a, to);
  Samples outbox_latency;
  for (int i = 0; i < 30; ++i) {
    auto start = Clock::now();
    ping();
    drain(a, to, others, 1ms);
    outbox_latency.seconds.push_back(seconds_since(start));
  }
  // The burst is a backlog: B is suspended at A while the pings are queued, so each is tried
  // once, fails ("peer suspended") and backs off for the hour A's configuration gives; then B
  // is reinstated, which makes them all due at once, and the clock runs from the reinstatement
  // until A's outbox holds no ping. (Queued while the sender ran, the pings arrived more
  // slowly than it delivered them, so that figure was the rate of the operator's ping API.)
  auto set_b_active = [&](bool active) {
    auto r = a.post_json("/api/v1/peers/" + to + (active ? "/reinstate" : "/suspend"),
                         nlohmann::json::object(), a.admin_token());
    if (r.status != 200) throw std::runtime_error("suspend/reinstate: " + r.body);
  };
  set_b_active(false);
  auto queue_start = Clock::now();
  {
    std::vector<std::thread> threads;
    std::atomic<std::size_t> next{0};
    for (int c = 0; c < 8; ++c)
      threads.emplace_back([&] {
        while (next++ < burst) ping();
      });
    for (auto& t : threads) t.join();
  }
  const double queue_rate = static_cast<double>(burst) / seconds_since(queue_start);
  if (!untried_pings_gone(a, 120s)) throw std::runtime_error("the suspended pings were not tried");
  // The requests that carried them to B (a batch carries up to Inbox::kMaxBatch).
  auto requests_at_b = [&] {
    double n = 0;
    for (const char* route : {"/federation/v1/batch", "/federation/v1/messages"})
      n += relay::test::metric_sum(
          b, std::string("relay_http_requests_total{method=\"POST\",route=\"") + route + "\"");
    return n;
  };
  const double requests_before = requests_at_b();
  const double a_cpu = cpu_seconds(a.pid()), b_cpu = cpu_seconds(b.pid());
  auto burst_start = Clock::now();
  set_b_active(true);
  drain(a, to, others, 5ms);
  const double burst_seconds = seconds_since(burst_start);
  const double outbox_rate = static_cast<double>(burst) / burst_seconds;
  const double a_us = (cpu_seconds(a.pid()) - a_cpu) / static_cast<double>(burst) * 1e6;
  const double b_us = (cpu_seconds(b.pid()) - b_cpu) / static_cast<double>(burst) * 1e6;
  const double burst_requests = requests_at_b() - requests_before;

  // --- the table ---
  auto ms = [](double s) { return fmt("%.2f ms", s * 1000); };
  auto per_s = [](double r) { return fmt("%.0f/s", r); };
  auto times = [](double x) { return fmt("%.2fx", x); };
  std::printf(
      "\nraw pieces (one thread): seal 1 KiB %.0f/s, sign %.0f/s, verify %.0f/s, "
      "HTTP%s round trip %.2f ms median (%.0f/s with 16 clients); %u cores\n\n",
      1 / t_seal, 1 / t_sign, 1 / t_verify, tls ? "S" : "", t_http * 1000, http_16, cores);
  row("measure", "measured", "raw limit", "ratio");
  std::printf("|%s|%s|%s|%s|\n", std::string(48, '-').c_str(), std::string(16, '-').c_str(),
              std::string(16, '-').c_str(), std::string(9, '-').c_str());
  row("round trip, direct envelope (median)", ms(direct.median()), ms(t_raw),
      times(direct.median() / t_raw));
  row("round trip, direct envelope (p99)", ms(direct.p99()), ms(t_raw),
      times(direct.p99() / t_raw));
  row("round trip, ping through the outbox (median)", ms(outbox_latency.median()), ms(t_raw),
      times(outbox_latency.median() / t_raw));
  row("messages/s, direct, 1 client", per_s(rate_1), per_s(1 / t_raw), times(rate_1 * t_raw));
  row("messages/s, direct, 16 clients", per_s(rate_16), per_s(raw_16), times(rate_16 / raw_16));
  row("messages/s, outbox burst (" + std::to_string(burst) + " pings)", per_s(outbox_rate),
      per_s(1 / t_raw), times(outbox_rate * t_raw));
  std::printf(
      "\noutbox burst: %zu pings queued while B was suspended (%.0f/s through A's operator API, "
      "8 clients), delivered %.2f s after B's reinstatement in %.0f requests; CPU per message A "
      "%.0f us, B %.0f us (the raw time per message: %.0f us). A ping's body is empty, not 1 KiB "
      "sealed: against the raw limit without the seal (%.0f/s) the burst is %.2fx\n",
      burst, queue_rate, burst_seconds, burst_requests, a_us, b_us, t_raw * 1e6,
      1 / (t_raw - t_seal), outbox_rate * (t_raw - t_seal));
  std::printf(
      "\nratio: latency as a multiple of the raw time (lower is better), throughput as a fraction "
      "of the raw rate (higher is better). The raw limit has no disk: every accepted message "
      "costs the receiver one durable LMDB commit (and the outbox one more at the sender).\n");

  nlohmann::json out{{"cores", cores},
                     {"tls", tls},
                     {"raw",
                      {{"seal_per_s", 1 / t_seal},
                       {"sign_per_s", 1 / t_sign},
                       {"verify_per_s", 1 / t_verify},
                       {"http_round_trip_ms", t_http * 1000},
                       {"http_16_clients_per_s", http_16},
                       {"message_ms", t_raw * 1000},
                       {"messages_per_s", 1 / t_raw},
                       {"messages_per_s_16_clients", raw_16}}},
                     {"direct",
                      {{"round_trip_median_ms", direct.median() * 1000},
                       {"round_trip_p99_ms", direct.p99() * 1000},
                       {"per_s_1_client", rate_1},
                       {"per_s_16_clients", rate_16},
                       {"ratio_1_client", rate_1 * t_raw},
                       {"ratio_16_clients", rate_16 / raw_16}}},
                     {"outbox",
                      {{"round_trip_median_ms", outbox_latency.median() * 1000},
                       {"burst_messages", burst},
                       {"burst_per_s", outbox_rate},
                       {"burst_ratio", outbox_rate * t_raw},
                       {"burst_ratio_without_seal", outbox_rate * (t_raw - t_seal)},
                       {"burst_seconds", burst_seconds},
                       {"burst_requests", burst_requests},
                       {"queued_per_s", queue_rate},
                       {"cpu_us_per_message_sender", a_us},
                       {"cpu_us_per_message_receiver", b_us}}}};
  fs::path written = RELAY_BENCH_JSON;
  if (tls) written.replace_filename("federation-tls.json");
  fs::create_directories(written.parent_path());
  std::ofstream(written) << out.dump(2) << "\n";
  std::printf("written to %s\n", written.c_str());
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "federation_bench: " << e.what() << '\n';
    return 1;
  }
}
