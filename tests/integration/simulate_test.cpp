// A seeded, randomised consortium on loopback (issue 15, "Must show"): N real relay-node
// processes in regions JP-01.., every pair peered both ways, each node's peers reaching it
// through a TrafficMeter (support/traffic_meter.hpp) that counts the federation traffic. One
// node has settlement disabled (it refuses to countersign); one node is stopped for part of the
// workload and started again (what was sent to it meanwhile must arrive afterwards).
//
// A std::mt19937 drives the rounds: candidates register through members' relay links, the
// operator grants credits, members open requisitions and spend credits on introductions of
// candidates held by other nodes (the ref found in the pool), candidates accept or decline on
// their management pages, some withdraw consent or erase their data, and operators ask peers for
// settlement statements. The random choices depend only on the model kept here, never on
// timing, so a seed names one workload.
//
// At the end: every outbox drained, every acknowledged introduction and statement found again
// in a consistent state, the member balances as the model expects, every ledger verified by
// relay-audit, the consortium's positions summing to zero, every agreed pair checked by
// `relay-audit settlement`, every erasure receipted (`relay-audit erasures`). It prints the
// figures docs/consortium_cost.md is built from.
//
// RELAY_SIM_NODES (default 4, 3..47), RELAY_SIM_SEED, RELAY_SIM_ROUNDS (default 4, at least 2),
// RELAY_SIM_AWAIT_UNSIGNED (1: wait up to three minutes for a statement to the refusing node
// to be reported unsigned), RELAY_SIM_TLS (1: HTTPS between nodes); scripts/simulate runs the
// long form.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/consortium.hpp"
#include "support/node_process.hpp"
#include "support/temp_dir.hpp"
#include "support/tool_run.hpp"
#include "support/traffic_meter.hpp"

using relay::test::eventually;
using relay::test::NodeProcess;
using relay::test::path_of;
using relay::test::TestCandidate;
using relay::test::TestMember;
using relay::test::TrafficMeter;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMembersPerNode = 2;
constexpr std::uint32_t kDefaultSeed = 20261115;
constexpr std::int64_t kReferralsPerCredit = 10;  // credits.referrals_per_credit's default
// Federation requests received and accepted, as each node's /metrics counts them: single
// messages, and batches of up to 50 (the sender's usual form since batching).
const std::string kDelivered =
    "relay_http_requests_total{method=\"POST\",route=\"/federation/v1/messages\",status=\"200\"";
const std::string kDeliveredBatches =
    "relay_http_requests_total{method=\"POST\",route=\"/federation/v1/batch\",status=\"200\"";

struct Params {
  std::size_t nodes = 4;
  std::uint32_t seed = kDefaultSeed;
  std::size_t rounds = 4;
  // Wait until the refusing node's peers report a statement unsigned: at least
  // settlement.countersign_within_s (60 s) and the next sweep (every minute) after it.
  bool await_unsigned = false;
  // HTTPS between nodes (NodeProcess::Options::tls): the meters then count TLS bytes, handshakes
  // included, without telling the message types apart.
  bool tls = false;
};

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::stoull(v) : fallback;
}

double seconds_since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

struct Member {
  TestMember account;
  std::string requisition;
  std::int64_t granted = 0;
  std::int64_t referrals = 0;  // candidates registered through its relay link
  std::int64_t spent = 0;
};

enum class Standing { active, withdrawn, erased };

struct Candidate {
  TestCandidate person;
  std::string tag;     // its unique skill: finds its profile in a pool
  std::string manage;  // its management page (path)
  Standing standing = Standing::active;
  std::set<std::pair<std::size_t, std::size_t>> asked_by;  // (node, member)
};

// An introduction acknowledged with 201.
struct Introduction {
  std::string id;
  std::size_t requester, member, holder, candidate;
  std::string expected = "requested";  // what the model says its state must end as
  bool holder_was_down = false;        // made while the holder was stopped
};

// A statement acknowledged with 202.
struct Statement {
  std::string id;
  std::size_t proposer, peer;
};

struct Node {
  std::string name;
  std::string region;
  bool settles = true;
  bool up = true;
  std::unique_ptr<NodeProcess> process;
  std::unique_ptr<TrafficMeter> meter;
  std::vector<Member> members;
  std::vector<Candidate> candidates;
  double delivered_before_restart = 0;  // its /metrics count restarts with the process
  std::uintmax_t initial_mdb = 0;       // data.mdb once peered, before the workload
  std::uintmax_t exported_entries = 0;  // bytes of entries.jsonl in its export
};

using Traffic = std::map<std::string, TrafficMeter::Tally>;

class Simulation {
 public:
  explicit Simulation(const Params& p) : p_(p), rng_(p.seed) {}

  void start();
  void run_rounds();
  void finish();
  void report() const;

 private:
  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  NodeProcess& at(std::size_t i) { return *nodes_[i].process; }
  std::string company(std::size_t node, std::size_t member) const {
    return "SimCo " + std::to_string(node + 1) + "-" + std::to_string(member + 1) + " KK";
  }

  void register_candidates(std::size_t node);
  void grant(std::size_t node, std::size_t member, int credits);
  void introduce(std::optional<std::size_t> holder = std::nullopt);
  void decide();
  void exercise_rights();
  void settle(std::size_t proposer, std::size_t peer);
  void stop_partitioned();
  void start_partitioned();
  void drain();
  bool drained(std::size_t node);
  bool pending_statement(std::size_t proposer, std::size_t peer) const;
  nlohmann::json statement_view(std::size_t node, const std::string& id);
  std::string page_of(const Candidate& c, std::size_t holder);

  void check_introductions();
  void check_balances();
  void settle_everything();
  void check_statements();
  void audit();

  Params p_;
  std::mt19937 rng_;
  std::vector<Node> nodes_;
  std::size_t disabled_ = 0;     // settlement.enabled false
  std::size_t partitioned_ = 0;  // stopped for a while
  std::vector<Introduction> intros_;
  std::vector<Statement> statements_;
  std::set<std::size_t> erasing_holders_;  // asked recipients to erase handed-off data
  std::size_t tag_counter_ = 0;
  std::size_t refused_disabled_ = 0, refused_pending_ = 0;
  SteadyClock::time_point started_{};
  double workload_s_ = 0;
  double delivered_ = 0;  // federation requests accepted (messages and batches), all nodes
  double settle_s_ = 0;
  std::size_t final_statements_ = 0;
  Traffic workload_traffic_;                  // all meters at the end of the workload
  std::map<std::string, std::size_t> kinds_;  // ledger entries of every node by kind
  std::vector<std::string> storage_lines_;
};

Traffic add_up(const std::vector<Node>& nodes) {
  Traffic traffic;
  for (const auto& n : nodes)
    for (const auto& [what, t] : n.meter->tallies()) traffic[what] += t;
  return traffic;
}

// What the witness passes exchanged (witness.hpp): checkpoints fetched, consistency proofs
// asked, cosignatures sent.
TrafficMeter::Tally witnessing(const Traffic& traffic) {
  TrafficMeter::Tally w;
  for (const auto& what :
       {"GET /audit/v1/checkpoint", "POST ledger.consistency", "POST checkpoint.cosignature"}) {
    if (auto it = traffic.find(what); it != traffic.end()) w += it->second;
  }
  return w;
}

void Simulation::start() {
  REQUIRE_MESSAGE(p_.nodes >= 3, "RELAY_SIM_NODES: at least 3");
  REQUIRE_MESSAGE(p_.nodes <= 47, "RELAY_SIM_NODES: at most 47 (one per prefecture)");
  REQUIRE_MESSAGE(p_.rounds >= 2, "RELAY_SIM_ROUNDS: at least 2");
  disabled_ = pick(p_.nodes);
  partitioned_ = (disabled_ + 1 + pick(p_.nodes - 1)) % p_.nodes;
  nodes_.resize(p_.nodes);
  for (std::size_t i = 0; i < p_.nodes; ++i) {
    const auto code = (i + 1 < 10 ? "0" : "") + std::to_string(i + 1);
    auto& n = nodes_[i];
    n.region = std::string("JP-") + code;
    n.name = std::string("jp") + code + ".relay.example";
    n.settles = i != disabled_;
    auto o = relay::test::options(n.name, n.region);
    o.tls = p_.tls;
    o.configure = [settles = n.settles](nlohmann::json& c) {
      // A short backoff cap: the partitioned node's messages flow within seconds of its return
      // (the default, 60 s, would make the short form wait for a minute).
      c["federation"]["retry_initial_ms"] = 200;
      c["federation"]["retry_max_ms"] = 2000;
      // Witness passes often enough to be measured in a short run (the default is 30 s); the
      // meters count them apart (GET /audit/v1/checkpoint, ledger.consistency,
      // checkpoint.cosignature), so their cost per pass scales to any interval.
      c["federation"]["witness_interval_s"] = 5;
      // Statements only when asked (POST /api/v1/settlements), so that "time to settle" times
      // ours; the shortest window before a statement is reported unsigned.
      c["settlement"]["period"] = "off";
      c["settlement"]["countersign_within_s"] = 60;
      if (!settles) c["settlement"]["enabled"] = false;
    };
    n.process = std::make_unique<NodeProcess>(std::move(o));
    n.meter = std::make_unique<TrafficMeter>(n.process->port());
  }
  for (std::size_t i = 0; i < p_.nodes; ++i)
    for (std::size_t j = 0; j < p_.nodes; ++j)
      if (i != j)
        relay::test::peer_at(at(i), at(j), nodes_[j].meter->url(p_.tls ? "https" : "http"));
  for (auto& n : nodes_) n.initial_mdb = fs::file_size(n.process->lmdb_dir() / "data.mdb");
  started_ = SteadyClock::now();
  for (std::size_t i = 0; i < p_.nodes; ++i)
    for (std::size_t m = 0; m < kMembersPerNode; ++m) {
      Member member;
      member.account = at(i).admit_member(company(i, m));
      auto r = relay::test::open_requisition(at(i), member.account);
      REQUIRE_MESSAGE(r.status == 201, r.body);
      member.requisition = r.json().at("id").get<std::string>();
      nodes_[i].members.push_back(std::move(member));
    }
  std::cout << "simulate: nodes " << p_.nodes << ", seed " << p_.seed << ", rounds " << p_.rounds
            << (p_.tls ? ", HTTPS" : ", plain HTTP") << "; settlement disabled at "
            << nodes_[disabled_].name << ", partitioned " << nodes_[partitioned_].name << std::endl;
}

void Simulation::register_candidates(std::size_t node) {
  auto& n = nodes_[node];
  for (std::size_t m = 0; m < n.members.size(); ++m) {
    for (std::size_t k = 1 + pick(2); k > 0; --k) {
      Candidate c;
      c.tag = "sim" + std::to_string(p_.seed) + "x" + std::to_string(++tag_counter_);
      c.person = {"Sim " + c.tag,
                  c.tag + "@example.jp",
                  {{"skills", c.tag + ", C++"}, {"prefecture", n.region}}};
      c.manage = path_of(
          at(node).register_and_confirm(path_of(n.members[m].account.relay_link), c.person));
      ++n.members[m].referrals;
      n.candidates.push_back(std::move(c));
    }
  }
}

void Simulation::grant(std::size_t node, std::size_t member, int credits) {
  auto& m = nodes_[node].members[member];
  auto r =
      at(node).post_json("/api/v1/members/" + m.account.id + "/credits",
                         {{"credits", credits}, {"reason", "simulation"}}, at(node).admin_token());
  REQUIRE_MESSAGE(r.status == 201, r.body);
  m.granted += credits;
}

// A member of a running node spends a credit on a candidate another node holds (running or
// not: the pool still lists profiles it circulated before it stopped).
void Simulation::introduce(std::optional<std::size_t> holder) {
  std::vector<std::pair<std::size_t, std::size_t>> spenders;
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    for (std::size_t m = 0; m < nodes_[i].members.size(); ++m)
      if (nodes_[i].up && nodes_[i].members[m].granted > nodes_[i].members[m].spent)
        spenders.emplace_back(i, m);
  if (spenders.empty()) return;
  auto [r, m] = spenders[pick(spenders.size())];
  std::vector<std::pair<std::size_t, std::size_t>> targets;
  for (std::size_t h = 0; h < nodes_.size(); ++h)
    for (std::size_t c = 0; h != r && (!holder || h == *holder) && c < nodes_[h].candidates.size();
         ++c)
      if (nodes_[h].candidates[c].standing == Standing::active &&
          !nodes_[h].candidates[c].asked_by.count({r, m}))
        targets.emplace_back(h, c);
  if (targets.empty()) return;
  auto [h, c] = targets[pick(targets.size())];
  auto& member = nodes_[r].members[m];
  auto& candidate = nodes_[h].candidates[c];
  std::string ref;
  REQUIRE_MESSAGE(eventually(
                      [&] {
                        auto pool = at(r).get("/api/v1/pool?skill=" + candidate.tag,
                                              member.account.api_key);
                        if (pool.status != 200) return false;
                        auto profiles = pool.json();  // kept: see ledger_entries
                        for (const auto& p : profiles.at("profiles"))
                          if (p.at("node") == nodes_[h].name) ref = p.at("ref").get<std::string>();
                        return !ref.empty();
                      },
                      30s),
                  nodes_[r].name << " never saw " << candidate.tag << " of " << nodes_[h].name);
  auto made =
      at(r).post_json("/api/v1/introductions",
                      {{"requisition", member.requisition}, {"node", nodes_[h].name}, {"ref", ref}},
                      member.account.api_key);
  REQUIRE_MESSAGE(made.status == 201, made.body);
  ++member.spent;
  candidate.asked_by.insert({r, m});
  intros_.push_back(
      {made.json().at("id").get<std::string>(), r, m, h, c, "requested", !nodes_[h].up});
}

std::string Simulation::page_of(const Candidate& c, std::size_t holder) {
  auto page = at(holder).get(c.manage);
  REQUIRE_MESSAGE(page.status == 200, c.tag << ": management page " << page.status);
  return page.body;
}

// Candidates at running nodes answer some of their requests on their management pages.
void Simulation::decide() {
  for (auto& intro : intros_) {
    auto& holder = nodes_[intro.holder];
    auto& c = holder.candidates[intro.candidate];
    if (intro.expected != "requested" || !holder.up || c.standing != Standing::active ||
        !chance(0.6))
      continue;
    const bool accept = chance(0.7);
    auto company_name = company(intro.requester, intro.member);
    std::optional<std::string> request;
    REQUIRE_MESSAGE(eventually(
                        [&] {
                          request = relay::test::pending_request(
                              page_of(c, intro.holder), company_name, nodes_[intro.requester].name);
                          return request.has_value();
                        },
                        30s),
                    "request of " << intro.id << " never reached " << holder.name);
    auto answered = at(intro.holder)
                        .post_form(c.manage + "/requests/" + *request,
                                   {{"decision", accept ? "accept" : "decline"}});
    CHECK_MESSAGE(answered.status == 200, answered.status << " " << answered.body.substr(0, 300));
    intro.expected = accept ? "delivered" : "declined";
  }
}

// A candidate at a running node withdraws consent or erases their data, once every request
// for them has reached their page and every accepted one has been delivered (so the outcome of
// each introduction is one the model can name).
void Simulation::exercise_rights() {
  // Half the time a candidate whose data was handed off, so that erasure requests cross nodes.
  const bool handed_off_only = chance(0.5);
  std::vector<std::pair<std::size_t, std::size_t>> eligible, handed;
  for (std::size_t h = 0; h < nodes_.size(); ++h)
    for (std::size_t c = 0; nodes_[h].up && c < nodes_[h].candidates.size(); ++c) {
      if (nodes_[h].candidates[c].standing != Standing::active) continue;
      bool ok = true, delivered = false;
      for (const auto& i : intros_)
        if (i.holder == h && i.candidate == c) {
          ok = ok && nodes_[i.requester].up;
          delivered = delivered || i.expected == "delivered";
        }
      if (ok) eligible.emplace_back(h, c);
      if (ok && delivered) handed.emplace_back(h, c);
    }
  if (handed_off_only && !handed.empty()) eligible = handed;
  if (eligible.empty()) return;
  auto [h, ci] = eligible[pick(eligible.size())];
  auto& c = nodes_[h].candidates[ci];
  const bool erase = chance(0.6);
  bool handed_off = false;
  for (auto& i : intros_) {
    if (i.holder != h || i.candidate != ci) continue;
    auto& member = nodes_[i.requester].members[i.member];
    if (i.expected == "requested") {
      REQUIRE_MESSAGE(eventually(
                          [&] {
                            return relay::test::pending_request(page_of(c, h),
                                                                company(i.requester, i.member),
                                                                nodes_[i.requester].name)
                                .has_value();
                          },
                          30s),
                      "request of " << i.id << " never reached " << nodes_[h].name);
      i.expected = "withdrawn";  // the holder answers handoff.declined {reason: withdrawn}
    } else if (i.expected == "delivered") {
      REQUIRE_MESSAGE(
          eventually(
              [&] {
                auto d =
                    at(i.requester).get("/api/v1/introductions/" + i.id, member.account.api_key);
                return d.status == 200 && d.json().at("state") == "delivered";
              },
              30s),
          i.id << " never delivered to " << nodes_[i.requester].name);
      handed_off = true;
    }
  }
  auto done = erase ? at(h).post_form(c.manage + "/erase", {{"confirm", "yes"}})
                    : at(h).post_form(c.manage + "/withdraw", {});
  CHECK_MESSAGE(done.status == 200, done.status << " " << done.body.substr(0, 300));
  c.standing = erase ? Standing::erased : Standing::withdrawn;
  if (handed_off) erasing_holders_.insert(h);
}

void Simulation::settle(std::size_t proposer, std::size_t peer) {
  auto r = at(proposer).post_json("/api/v1/settlements", {{"peer", nodes_[peer].name}},
                                  at(proposer).admin_token());
  if (r.status == 202) {
    CHECK(nodes_[proposer].settles);
    statements_.push_back({r.json().at("statement").get<std::string>(), proposer, peer});
    return;
  }
  REQUIRE_MESSAGE(r.status == 409, r.body);
  if (!nodes_[proposer].settles) {
    CHECK(r.error_code() == "settlement_disabled");
    ++refused_disabled_;
  } else {
    // One pending statement per peer: one of ours to it has not been answered yet (still
    // being delivered, or the peer is stopped or refuses).
    CHECK(r.error_code() == "statement_pending");
    CHECK(pending_statement(proposer, peer));
    ++refused_pending_;
  }
}

bool Simulation::pending_statement(std::size_t proposer, std::size_t peer) const {
  for (const auto& s : statements_)
    if (s.proposer == proposer && s.peer == peer) return true;
  return false;
}

// Every message a running node queued is delivered, except statements to the refusing node,
// which it keeps answering 403 (one pending statement per proposer).
bool Simulation::drained(std::size_t node) {
  for (const auto& [peer, d] : relay::test::peer_delivery(at(node))) {
    const std::size_t expected =
        peer == nodes_[disabled_].name && pending_statement(node, disabled_) ? 1 : 0;
    if (d.at("queued").get<std::size_t>() != expected) return false;
  }
  return true;
}

void Simulation::drain() {
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].up)
      REQUIRE_MESSAGE(eventually([&] { return drained(i); }, 60s),
                      nodes_[i].name << " did not drain: "
                                     << nlohmann::json(relay::test::peer_delivery(at(i))).dump());
}

void Simulation::stop_partitioned() {
  drain();  // what it sent before the partition has arrived: its profiles are in every pool
  auto& n = nodes_[partitioned_];
  n.delivered_before_restart += relay::test::metric_sum(*n.process, kDelivered) +
                                relay::test::metric_sum(*n.process, kDeliveredBatches);
  n.process->stop();
  n.up = false;
  std::cout << "simulate: " << n.name << " stopped" << std::endl;
}

void Simulation::start_partitioned() {
  auto& n = nodes_[partitioned_];
  n.process->start();
  n.up = true;
  std::cout << "simulate: " << n.name << " started again" << std::endl;
}

void Simulation::run_rounds() {
  const std::size_t third = std::max<std::size_t>(1, p_.rounds / 3);
  const std::size_t stop_at = third, start_at = std::min(p_.rounds, stop_at + third);
  for (std::size_t round = 0; round < p_.rounds; ++round) {
    if (round == stop_at) stop_partitioned();
    if (round == start_at) start_partitioned();
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (!nodes_[i].up) continue;
      register_candidates(i);
      for (std::size_t m = 0; m < nodes_[i].members.size(); ++m)
        if (round == 0 || chance(0.5)) grant(i, m, round == 0 ? 2 : 1);
    }
    for (std::size_t k = nodes_.size() + pick(nodes_.size()); k > 0; --k) introduce();
    if (!nodes_[partitioned_].up) {
      // Messages to the stopped node wait in its peers' outboxes: a handoff request and a
      // statement at least, checked after it is back (check_introductions, check_statements).
      introduce(partitioned_);
      auto a = (partitioned_ + 1 + pick(nodes_.size() - 1)) % nodes_.size();
      if (nodes_[a].settles) settle(a, partitioned_);
    }
    decide();
    for (std::size_t k = std::max<std::size_t>(1, nodes_.size() / 4); k > 0; --k) exercise_rights();
    for (std::size_t k = std::max<std::size_t>(1, nodes_.size() / 2); k > 0; --k) {
      auto a = pick(nodes_.size());
      if (!nodes_[a].up) continue;
      settle(a, (a + 1 + pick(nodes_.size() - 1)) % nodes_.size());
    }
    // A statement to the refusing node early on, so that it can age into "unsigned".
    if (round == 0) settle((disabled_ + 1 + pick(nodes_.size() - 1)) % nodes_.size(), disabled_);
  }
  if (!nodes_[partitioned_].up) start_partitioned();
}

nlohmann::json Simulation::statement_view(std::size_t node, const std::string& id) {
  auto r = at(node).get("/api/v1/settlements", at(node).admin_token());
  REQUIRE_MESSAGE(r.status == 200, r.body);
  auto view = r.json();
  for (const auto& s : view.at("statements"))
    if (s.at("statement") == id) return s;
  return nullptr;
}

// After the drain every obligation is recorded on both sides: one statement per settling pair
// with open obligations, each from a random side, and the time until all are agreed.
void Simulation::settle_everything() {
  settle(disabled_, (disabled_ + 1) % nodes_.size());  // refused: settlement_disabled
  const auto before = statements_.size();
  auto last_post = SteadyClock::now();
  for (std::size_t a = 0; a < nodes_.size(); ++a)
    for (std::size_t b = a + 1; b < nodes_.size(); ++b) {
      if (!nodes_[a].settles || !nodes_[b].settles) continue;
      auto view = at(a).get("/api/v1/settlements", at(a).admin_token()).json();
      bool open = false;
      for (const auto& p : view.at("peers"))
        if (p.at("peer") == nodes_[b].name)
          open = p.at("open_owed_to_us").get<int>() + p.at("open_owed_by_us").get<int>() > 0;
      if (!open) continue;
      chance(0.5) ? settle(a, b) : settle(b, a);
      last_post = SteadyClock::now();
    }
  final_statements_ = statements_.size() - before;
  CHECK(eventually(
      [&] {
        for (const auto& s : statements_) {
          if (!nodes_[s.peer].settles) continue;
          auto v = statement_view(s.proposer, s.id);
          if (v.is_null() || v.at("state") != "agreed") return false;
        }
        return true;
      },
      60s));
  settle_s_ = seconds_since(last_post);
  // Nothing is left open between two settling nodes, nor disputed.
  for (std::size_t a = 0; a < nodes_.size(); ++a) {
    auto view = at(a).get("/api/v1/settlements", at(a).admin_token()).json();
    for (const auto& p : view.at("peers")) {
      if (!nodes_[a].settles || p.at("peer") == nodes_[disabled_].name) continue;
      CHECK_MESSAGE(p.at("open_owed_to_us") == 0, nodes_[a].name << ": " << p.dump());
      CHECK_MESSAGE(p.at("open_owed_by_us") == 0, nodes_[a].name << ": " << p.dump());
    }
  }
}

void Simulation::check_statements() {
  if (p_.await_unsigned)
    for (const auto& s : statements_)
      if (s.peer == disabled_) {
        CHECK(eventually([&] { return statement_view(s.proposer, s.id).at("state") == "unsigned"; },
                         180s));
        break;
      }
  std::size_t agreed = 0, unsigned_ = 0, pending = 0;
  for (const auto& s : statements_) {
    auto mine = statement_view(s.proposer, s.id);
    REQUIRE_MESSAGE(!mine.is_null(), s.id << " not listed by " << nodes_[s.proposer].name);
    CHECK(mine.at("role") == "proposer");
    if (nodes_[s.peer].settles) {
      CHECK(mine.at("state") == "agreed");
      auto theirs = statement_view(s.peer, s.id);
      REQUIRE_MESSAGE(!theirs.is_null(), s.id << " not listed by " << nodes_[s.peer].name);
      CHECK(theirs.at("state") == "agreed");
      CHECK(theirs.at("role") == "counterparty");
      CHECK(theirs.at("net").get<int>() == -mine.at("net").get<int>());
      ++agreed;
      continue;
    }
    // The refusing node never countersigns: its peers' statements stay pending, then are
    // reported unsigned with an alert (after settlement.countersign_within_s).
    auto state = mine.at("state").get<std::string>();
    CHECK_MESSAGE((state == "pending" || state == "unsigned"), s.id << " " << state);
    CHECK(statement_view(s.peer, s.id).is_null());
    if (state == "unsigned") {
      ++unsigned_;
      auto alerts = at(s.proposer).get("/api/v1/alerts", at(s.proposer).admin_token());
      CHECK(relay::test::contains(alerts.body, "settlement_unsigned"));
      CHECK(relay::test::contains(alerts.body, s.id));
    } else {
      ++pending;
    }
  }
  std::cout << "simulate: statements " << statements_.size() << " (" << agreed << " agreed, "
            << pending << " pending and " << unsigned_ << " unsigned at " << nodes_[disabled_].name
            << "); refused: " << refused_pending_ << " statement_pending, " << refused_disabled_
            << " settlement_disabled" << std::endl;
}

void Simulation::check_introductions() {
  std::map<std::string, std::size_t> states;
  for (const auto& i : intros_) {
    const auto& member = nodes_[i.requester].members[i.member];
    const auto& c = nodes_[i.holder].candidates[i.candidate];
    auto d = at(i.requester).get("/api/v1/introductions/" + i.id, member.account.api_key);
    REQUIRE_MESSAGE(d.status == 200, i.id << ": " << d.body);
    auto state = d.json().at("state").get<std::string>();
    ++states[state];
    if (i.expected == "withdrawn")
      CHECK_MESSAGE((state == "withdrawn" || state == "erased"), i.id << " " << state);
    else if (i.expected == "delivered")
      // Delivered stays delivered; the data itself is gone once the candidate withdrew or erased.
      CHECK_MESSAGE(state == "delivered", i.id << " " << state);
    else
      CHECK_MESSAGE(state == i.expected, i.id << " " << state << ", expected " << i.expected);
    if (i.expected == "requested")
      // Still unanswered, but it reached the candidate (also when made while the holder was
      // stopped): nothing acknowledged is lost.
      CHECK_MESSAGE(eventually([&] {
                      return relay::test::pending_request(page_of(c, i.holder),
                                                          company(i.requester, i.member),
                                                          nodes_[i.requester].name)
                          .has_value();
                    }),
                    i.id << " (holder " << nodes_[i.holder].name
                         << " was down: " << i.holder_was_down << ") not on the candidate's page");
  }
  std::size_t while_down = 0;
  for (const auto& i : intros_) while_down += i.holder_was_down;
  std::cout << "simulate: introductions " << intros_.size() << " (" << while_down
            << " made while the holder was stopped):";
  for (const auto& [state, n] : states) std::cout << " " << state << " " << n;
  std::cout << std::endl;
}

// Each member's balance: granted + minted - spent + refunded (declined and withdrawn).
void Simulation::check_balances() {
  for (std::size_t n = 0; n < nodes_.size(); ++n)
    for (std::size_t m = 0; m < nodes_[n].members.size(); ++m) {
      const auto& member = nodes_[n].members[m];
      std::int64_t refunded = 0;
      for (const auto& i : intros_)
        refunded += i.requester == n && i.member == m &&
                    (i.expected == "declined" || i.expected == "withdrawn");
      auto expected =
          member.granted + member.referrals / kReferralsPerCredit - member.spent + refunded;
      CHECK_MESSAGE(eventually([&] {
                      return relay::test::member_credits(at(n), member.account)
                                 .at("balance")
                                 .get<std::int64_t>() == expected;
                    }),
                    nodes_[n].name << " " << member.account.id << ": expected " << expected << ", "
                                   << relay::test::member_credits(at(n), member.account).dump());
    }
}

void Simulation::audit() {
  // relay-audit reads a live node over plain HTTP only; with HTTPS the exports are verified.
  for (std::size_t i = 0; i < nodes_.size() && !p_.tls; ++i)
    CHECK_MESSAGE(relay::test::audit_verify(at(i)) == 0, nodes_[i].name);
  // Every erasure the candidates asked for is receipted before the ledgers are exported.
  for (auto h : erasing_holders_)
    CHECK(eventually(
        [&] {
          auto kinds = relay::test::ledger_kinds(at(h));
          return kinds["erasure_requested"] > 0 &&
                 kinds["erasure_receipt"] == kinds["erasure_requested"];
        },
        60s));
  relay::test::TempDir scratch("simulate-audit");
  std::vector<std::string> exports;
  for (auto& n : nodes_) {
    exports.push_back((scratch.path / n.name).string());
    relay::test::export_ledger(*n.process, exports.back(), scratch.path);
    n.exported_entries = fs::file_size(fs::path(exports.back()) / "entries.jsonl");
  }
  const auto audit_bin = relay::test::relay_audit_bin().string();
  for (std::size_t i = 0; i < nodes_.size() && p_.tls; ++i) {
    auto verified = relay::test::run_tool({audit_bin, "verify", exports[i]}, scratch.path);
    CHECK_MESSAGE(verified.exit_code == 0, nodes_[i].name << ": " << verified.out);
  }
  std::vector<std::string> args = {audit_bin, "consortium"};
  args.insert(args.end(), exports.begin(), exports.end());
  auto all = relay::test::run_tool(args, scratch.path);
  CHECK_MESSAGE(all.exit_code == 0, all.out << all.err);
  CHECK(relay::test::contains(all.out, "sum of positions: 0"));
  args.push_back("--json");
  auto json = relay::test::run_tool(args, scratch.path).json();
  REQUIRE(!json.is_discarded());
  std::int64_t sum = 0;
  for (const auto& [node, net] : json.at("positions").items()) sum += net.get<std::int64_t>();
  CHECK(sum == 0);
  std::size_t agreed = 0;
  for (const auto& s : statements_) agreed += nodes_[s.peer].settles;
  CHECK(json.at("statements").get<std::size_t>() == agreed);
  std::cout << "simulate: relay-audit consortium: " << json.at("statements") << " statements, "
            << json.at("agreed_items") << " items agreed, positions " << json.at("positions").dump()
            << std::endl;

  std::set<std::pair<std::size_t, std::size_t>> pairs;
  for (const auto& s : statements_)
    if (nodes_[s.peer].settles)
      pairs.insert({std::min(s.proposer, s.peer), std::max(s.proposer, s.peer)});
  for (auto [a, b] : pairs) {
    auto pair =
        relay::test::run_tool({audit_bin, "settlement", exports[a], exports[b]}, scratch.path);
    CHECK_MESSAGE(pair.exit_code == 0,
                  nodes_[a].name << " / " << nodes_[b].name << ": " << pair.out << pair.err);
  }
  for (auto h : erasing_holders_) {
    std::vector<std::string> erasures = {audit_bin, "erasures", exports[h]};
    for (std::size_t r = 0; r < nodes_.size(); ++r)
      if (r != h) erasures.push_back(exports[r]);
    auto run = relay::test::run_tool(erasures, scratch.path);
    CHECK_MESSAGE(run.exit_code == 0, nodes_[h].name << ": " << run.out << run.err);
  }
  std::cout << "simulate: relay-audit verify " << nodes_.size() << " ledgers, settlement "
            << pairs.size() << " pairs, erasures " << erasing_holders_.size() << " holders"
            << std::endl;
}

void Simulation::finish() {
  drain();
  workload_s_ = seconds_since(started_);
  workload_traffic_ = add_up(nodes_);
  delivered_ = 0;
  for (const auto& n : nodes_)
    delivered_ += n.delivered_before_restart + relay::test::metric_sum(*n.process, kDelivered) +
                  relay::test::metric_sum(*n.process, kDeliveredBatches);
  check_introductions();
  check_balances();
  settle_everything();
  check_statements();
  audit();
  std::size_t active = 0;
  for (const auto& n : nodes_)
    for (const auto& c : n.candidates) active += c.standing == Standing::active;
  for (const auto& n : nodes_) {
    std::size_t own = 0;
    for (const auto& c : n.candidates) own += c.standing == Standing::active;
    auto kinds = relay::test::ledger_kinds(*n.process);
    std::size_t entries = 0;
    for (const auto& [kind, count] : kinds) {
      entries += count;
      kinds_[kind] += count;
    }
    std::ostringstream line;
    line << n.name << ": data.mdb " << n.initial_mdb << " -> "
         << fs::file_size(n.process->lmdb_dir() / "data.mdb") << " bytes, ledger " << entries
         << " entries (" << n.exported_entries << " bytes exported; obligation_recorded "
         << kinds["obligation_recorded"] << ", settlement_agreed " << kinds["settlement_agreed"]
         << "), registrations " << n.candidates.size() << ", circulating profiles " << own
         << " own and " << active - own << " from peers";
    storage_lines_.push_back(line.str());
  }
}

void Simulation::report() const {
  const auto total = relay::test::sum(workload_traffic_);
  const auto messages = relay::test::sum(workload_traffic_, "POST ");
  const auto witness = witnessing(workload_traffic_);
  const auto fetches = workload_traffic_.count("GET /audit/v1/checkpoint")
                           ? workload_traffic_.at("GET /audit/v1/checkpoint").exchanges
                           : 0;
  const auto witness_messages = witness.exchanges - fetches;
  std::size_t candidates = 0, members = 0;
  for (const auto& n : nodes_) {
    candidates += n.candidates.size();
    members += n.members.size();
  }
  std::cout << "simulate: workload " << workload_s_ << " s: " << members << " members, "
            << candidates << " registrations, " << intros_.size() << " introductions, "
            << statements_.size() << " statements" << std::endl;
  std::cout << "simulate: federation requests accepted " << delivered_
            << " (/metrics: POST /federation/v1/messages and /federation/v1/batch answered 200, "
               "all nodes; a batch carries up to 50 messages) = "
            << delivered_ / workload_s_ << " per second" << std::endl;
  const auto unreachable = relay::test::sum(workload_traffic_, "unreachable").exchanges;
  const auto answered = std::max<std::uint64_t>(1, total.exchanges - unreachable);
  std::cout << "simulate: through the meters during the workload: " << total.exchanges
            << " exchanges (" << unreachable << " while a node was stopped), "
            << total.request_bytes + total.reply_bytes << " bytes, "
            << (total.request_bytes + total.reply_bytes) / answered
            << " bytes per exchange (request and reply)" << std::endl;
  if (!p_.tls)
    std::cout << "simulate: envelopes " << messages.exchanges << "; witnessing "
              << witness.exchanges << " exchanges (" << witness_messages << " envelopes), "
              << witness.request_bytes + witness.reply_bytes << " bytes; without witnessing "
              << (messages.exchanges - witness_messages) / workload_s_ << " envelopes per second"
              << std::endl;
  for (const auto& [what, t] : workload_traffic_)
    std::cout << "simulate:   " << what << ": " << t.exchanges << " exchanges, " << t.request_bytes
              << " bytes in, " << t.reply_bytes << " bytes out" << std::endl;
  std::cout << "simulate: time to settle " << settle_s_ << " s (" << final_statements_
            << " statements from the last round of POST /api/v1/settlements)" << std::endl;
  for (const auto& line : storage_lines_) std::cout << "simulate: " << line << std::endl;
  std::cout << "simulate: ledger entries by kind, all nodes:";
  for (const auto& [kind, n] : kinds_) std::cout << " " << kind << " " << n;
  std::cout << std::endl;
}

}  // namespace

TEST_SUITE_BEGIN("simulate");

TEST_CASE("simulate: a seeded consortium of relay-node processes, partitioned and settled") {
  Params p;
  p.nodes = env_number("RELAY_SIM_NODES", p.nodes);
  p.seed = static_cast<std::uint32_t>(env_number("RELAY_SIM_SEED", p.seed));
  p.rounds = env_number("RELAY_SIM_ROUNDS", p.rounds);
  p.await_unsigned = env_number("RELAY_SIM_AWAIT_UNSIGNED", 0) != 0;
  p.tls = env_number("RELAY_SIM_TLS", 0) != 0;
  const auto t0 = SteadyClock::now();
  Simulation sim(p);
  sim.start();
  sim.run_rounds();
  sim.finish();
  sim.report();
  std::cout << "simulate: done in " << seconds_since(t0) << " s (seed " << p.seed << ")"
            << std::endl;
}

TEST_SUITE_END();
