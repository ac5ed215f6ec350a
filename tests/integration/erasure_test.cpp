// Erasure across the federation and retention of received data, with real relay-node
// processes on loopback (node/federation/erasure.hpp):
//   alpha.example (JP-27) holds the candidates; beta.example (JP-28) and gamma.example
//   (JP-26) receive them through handoffs; delta.example (JP-13) keeps received data only
//   candidates.handoff_expiry_s = 5 unless a hire is reported. beta accepts envelopes only
//   within federation.timestamp_window_s = 2, so a replay can be shown refused.
// The cases share the four nodes (quartet()), but each sets up the candidates and erasures
// it checks (erased_at_beta_and_gamma), so any case also runs alone (-tc). The plaintext
// scan also looks for the candidates the earlier cases erased, when they ran.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "crypto/keys.hpp"
#include "node/identity/key_store.hpp"
#include "protocol/envelope.hpp"
#include "support/names.hpp"
#include "support/node_process.hpp"
#include "support/vectors.hpp"

using relay::test::contains;
using relay::test::eventually;
using relay::test::fingerprint;
using relay::test::HttpReply;
using relay::test::NodeProcess;
using relay::test::options;
using relay::test::path_of;
using relay::test::TestCandidate;
using relay::test::TestMember;
using relay::test::unique;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// The people whose erasure is checked byte for byte afterwards.
const std::string kName = "Zyxwvu Qaerasure";
const std::string kEmail = "zyx.erasure.test@example.org";
const std::string kJaName = "消去野 絢音テスト";
const std::string kJaEmail = "zyx.erasure.ja@example.org";
// A candidate who is not erased (their data must not show in the others' export).
const std::string kKeeperEmail = "keeper.not.erased@example.org";

std::size_t occurrences(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

void peer(const NodeProcess& node, const NodeProcess& other) {
  relay::test::peer_by_api(node, other);
}

// Stops the node, changes its node.json and serves again.
void reconfigure(NodeProcess& node, const std::function<void(nlohmann::json&)>& change) {
  node.stop();
  nlohmann::json config;
  {
    std::ifstream in(node.config_path());
    in >> config;
  }
  change(config);
  {
    std::ofstream out(node.config_path(), std::ios::trunc);
    out << config.dump(2);
  }
  node.start();
}

struct Quartet {
  NodeProcess alpha{options("alpha.example", "JP-27")};
  NodeProcess beta{options("beta.example", "JP-28")};
  NodeProcess gamma{options("gamma.example", "JP-26")};
  NodeProcess delta{options("delta.example", "JP-13")};
  TestMember referrer;
  TestMember beta_member;
  TestMember gamma_member;
  TestMember delta_member;
  TestMember delta_other;

  Quartet() {
    reconfigure(beta, [](nlohmann::json& c) { c["federation"]["timestamp_window_s"] = 2; });
    reconfigure(delta, [](nlohmann::json& c) { c["candidates"]["handoff_expiry_s"] = 5; });
    for (auto* a : {&alpha, &beta, &gamma})
      for (auto* b : {&alpha, &beta, &gamma})
        if (a != b) peer(*a, *b);
    peer(alpha, delta);
    peer(delta, alpha);
    referrer = alpha.admit_member("Alpha Referrer KK");
    beta_member = beta.admit_member("Beta Hiring KK");
    gamma_member = gamma.admit_member("Gamma Works KK");
    delta_member = delta.admit_member("Delta Retail KK");
    delta_other = delta.admit_member("Delta Other KK");
  }
};

Quartet& quartet() {
  static Quartet q;
  return q;
}

std::vector<nlohmann::json> ledger(const NodeProcess& node) {
  auto reply = node.get("/audit/v1/entries?start=0&limit=1000", node.auditor_token());
  REQUIRE(reply.status == 200);
  auto page = reply.json();
  std::vector<nlohmann::json> out;
  for (const auto& e : page.at("entries"))
    out.push_back(nlohmann::json::parse(e.get<std::string>()));
  return out;
}

std::size_t count_events(const NodeProcess& node, const std::string& kind,
                         const std::string& handoff_id, const std::string& peer_name = {}) {
  std::size_t n = 0;
  for (const auto& e : ledger(node))
    n += e["kind"] == kind && e["data"].value("handoff", "") == handoff_id &&
         (peer_name.empty() || e["data"].value("peer", "") == peer_name);
  return n;
}

nlohmann::json handoff(const NodeProcess& node, const TestMember& m, const std::string& id) {
  auto reply = node.get("/api/v1/handoffs/" + id, m.api_key);
  REQUIRE_MESSAGE(reply.status == 200, reply.body);
  return reply.json();
}

std::string request_id(const std::string& page) {
  auto at = page.find("/requests/");
  if (at == std::string::npos) return {};
  at += 10;
  auto end = page.find_first_of("\"?", at);
  return page.substr(at, end - at);
}

std::string skill_tag(const std::string& stem) {
  auto tag = unique(stem);
  for (auto& c : tag)
    if (c == '-') c = 'x';
  return tag;
}

struct Registered {
  TestCandidate person;
  std::string manage;  // /r/m/<token>
  std::string skill;
};

Registered register_at_alpha(const std::string& name, const std::string& email) {
  auto& q = quartet();
  auto skill = skill_tag("erasure");
  TestCandidate person{name, email, {{"skills", skill + ", C++"}, {"consent_peers", "yes"}}};
  auto manage = q.alpha.register_and_confirm(path_of(q.referrer.relay_link), person);
  return {person, path_of(manage), skill};
}

// A member of `node` asks alpha for the candidate; returns the handoff id once alpha has it.
std::string ask(const NodeProcess& node, const TestMember& member, const Registered& who) {
  std::string ref;
  REQUIRE(eventually([&] {
    auto reply = node.get("/api/v1/pool?skill=" + who.skill, member.api_key);
    if (reply.status != 200) return false;
    auto profiles = reply.json().at("profiles");
    for (const auto& p : profiles)
      if (p["node"] == "alpha.example") ref = p["ref"].get<std::string>();
    return !ref.empty();
  }));
  auto created =
      node.post_json("/api/v1/handoffs", {{"node", "alpha.example"}, {"ref", ref}}, member.api_key);
  REQUIRE_MESSAGE(created.status == 201, created.body);
  std::string id = created.json()["id"];
  REQUIRE(eventually([&] { return handoff(node, member, id)["state"] == "awaiting_consent"; }));
  return id;
}

// The candidate accepts every pending request on their page.
void accept_all(const Registered& who, std::size_t expected) {
  auto& q = quartet();
  std::size_t accepted = 0;
  for (;;) {
    auto rid = request_id(q.alpha.get(who.manage).body);
    if (rid.empty()) break;
    auto reply = q.alpha.post_form(who.manage + "/requests/" + rid, {{"decision", "accept"}});
    REQUIRE(reply.status == 200);
    REQUIRE(contains(reply.body, "紹介を承認しました"));
    ++accepted;
  }
  REQUIRE(accepted == expected);
}

bool delivered(const NodeProcess& node, const TestMember& m, const std::string& id) {
  return handoff(node, m, id).contains("personal");
}

// The erasure status page in English.
std::string status_page(const Registered& who) {
  auto page = quartet().alpha.get(who.manage + "?lang=en");
  REQUIRE(page.status == 200);
  return page.body;
}

// An envelope as a peer would send it.
std::string envelope(const std::string& from, const std::string& to, const std::string& type,
                     const nlohmann::json& body, const relay::crypto::Ed25519KeyPair& signer,
                     const std::string& key_fingerprint) {
  relay::protocol::Envelope e;
  e.type = type;
  e.id = "msg_" + skill_tag("forge");
  e.from = from;
  e.to = to;
  e.ts_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  e.body = body;
  e.key = key_fingerprint;
  return relay::protocol::encode_envelope(e, signer);
}

relay::node::identity::NodeKeys keys_of(const NodeProcess& node) {
  return relay::node::identity::NodeKeys::load(node.data_dir() / "keys");
}

HttpReply post_envelope(const NodeProcess& node, const std::string& bytes) {
  return node.post_raw("/federation/v1/messages", bytes, "application/json");
}

std::string run(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  REQUIRE(pipe);
  std::string out;
  std::array<char, 256> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe.get())) out += buf.data();
  return out;
}

int exit_code(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Handoffs of one candidate erased after reaching beta and gamma.
struct ErasedAtTwo {
  std::string at_beta;
  std::string at_gamma;
};

// Registers a candidate at alpha, hands them to beta and gamma, erases them there and waits
// for both erasure receipts: the state a case needs of its own, so that every case can run
// alone (doctest -tc) as well as after the others.
ErasedAtTwo erased_at_beta_and_gamma(const std::string& name, const std::string& email) {
  auto& q = quartet();
  auto who = register_at_alpha(name, email);
  auto hb = ask(q.beta, q.beta_member, who);
  auto hc = ask(q.gamma, q.gamma_member, who);
  accept_all(who, 2);
  REQUIRE(eventually([&] {
    return delivered(q.beta, q.beta_member, hb) && delivered(q.gamma, q.gamma_member, hc);
  }));
  REQUIRE(eventually([&] {
    return count_events(q.alpha, "handoff_receipt", hb) == 1 &&
           count_events(q.alpha, "handoff_receipt", hc) == 1;
  }));
  REQUIRE(q.alpha.post_form(who.manage + "/erase", {{"confirm", "yes"}}).status == 200);
  REQUIRE(eventually([&] {
    return count_events(q.alpha, "erasure_receipt", hb, "beta.example") == 1 &&
           count_events(q.alpha, "erasure_receipt", hc, "gamma.example") == 1;
  }));
  return {hb, hc};
}

}  // namespace

TEST_SUITE_BEGIN("erasure");

TEST_CASE("erasure: every recipient destroys its copy and the holder records signed receipts") {
  auto& q = quartet();
  auto keeper = register_at_alpha("Keeper Notera", kKeeperEmail);
  auto who = register_at_alpha(kName, kEmail);
  auto hb = ask(q.beta, q.beta_member, who);
  auto hc = ask(q.gamma, q.gamma_member, who);
  accept_all(who, 2);
  REQUIRE(eventually([&] {
    return delivered(q.beta, q.beta_member, hb) && delivered(q.gamma, q.gamma_member, hc);
  }));
  CHECK(handoff(q.beta, q.beta_member, hb)["personal"]["email"] == kEmail);
  CHECK(handoff(q.gamma, q.gamma_member, hc)["personal"]["name"] == kName);
  REQUIRE(eventually([&] {
    return count_events(q.alpha, "handoff_receipt", hb) == 1 &&
           count_events(q.alpha, "handoff_receipt", hc) == 1;
  }));

  // The candidate's export holds their own data, not another candidate's, and the disclosures.
  auto exported = q.alpha.get(who.manage + "/export");
  REQUIRE(exported.status == 200);
  auto mine = exported.json();  // kept: a range-for over a temporary's member would dangle
  CHECK(mine["personal"]["email"] == kEmail);
  CHECK(mine["personal"]["name"] == kName);
  CHECK_FALSE(contains(exported.body, kKeeperEmail));
  CHECK_FALSE(contains(exported.body, "Keeper Notera"));
  std::set<std::string> disclosed;
  for (const auto& d : mine["disclosures"])
    disclosed.insert(d.value("node", "") + "/" + d.value("handoff", ""));
  CHECK(disclosed == std::set<std::string>{"beta.example/" + hb, "gamma.example/" + hc});
  auto keeper_export = q.alpha.get(keeper.manage + "/export");
  REQUIRE(keeper_export.status == 200);
  CHECK_FALSE(contains(keeper_export.body, kEmail));
  CHECK(keeper_export.json()["disclosures"].empty());

  // Forged erasure requests change nothing at beta.
  auto alpha_keys = keys_of(q.alpha);
  auto gamma_keys = keys_of(q.gamma);
  auto stranger = relay::crypto::Ed25519KeyPair::generate();
  // Claims to be alpha, naming alpha's key, signed by another key.
  auto forged_bytes = envelope("alpha.example", "beta.example", "erasure.request",
                               {{"handoff", hb}}, stranger, stranger.public_key.fingerprint());
  auto named = forged_bytes.find(stranger.public_key.fingerprint());
  REQUIRE(named != std::string::npos);
  forged_bytes.replace(named, 64, alpha_keys.signing.public_key.fingerprint());
  auto forged = post_envelope(q.beta, forged_bytes);
  CHECK(forged.status == 403);
  CHECK(contains(forged.body, "bad_signature"));
  // Claims to be alpha with a key alpha never had.
  auto unknown = post_envelope(
      q.beta, envelope("alpha.example", "beta.example", "erasure.request", {{"handoff", hb}},
                       stranger, stranger.public_key.fingerprint()));
  CHECK(unknown.status == 403);
  // Really from gamma, which is not where the handoff came from.
  auto wrong_source = post_envelope(
      q.beta, envelope("gamma.example", "beta.example", "erasure.request", {{"handoff", hb}},
                       gamma_keys.signing, gamma_keys.signing.public_key.fingerprint()));
  CHECK(wrong_source.status == 403);
  CHECK(contains(wrong_source.body, "not_the_source"));
  CHECK(delivered(q.beta, q.beta_member, hb));
  CHECK(count_events(q.beta, "erasure_completed", hb) == 0);

  // The candidate erases.
  auto erased = q.alpha.post_form(who.manage + "/erase?lang=en", {{"confirm", "yes"}});
  REQUIRE(erased.status == 200);
  CHECK(contains(erased.body, "Erasure status"));
  CHECK_FALSE(contains(erased.body, kEmail));
  REQUIRE(eventually([&] {
    return !delivered(q.beta, q.beta_member, hb) && !delivered(q.gamma, q.gamma_member, hc);
  }));
  CHECK(handoff(q.beta, q.beta_member, hb)["state"] == "erased");
  CHECK(handoff(q.gamma, q.gamma_member, hc)["state"] == "erased");
  REQUIRE(eventually([&] {
    return count_events(q.alpha, "erasure_receipt", hb, "beta.example") == 1 &&
           count_events(q.alpha, "erasure_receipt", hc, "gamma.example") == 1;
  }));
  CHECK(count_events(q.alpha, "erasure_requested", hb, "beta.example") == 1);
  CHECK(count_events(q.alpha, "erasure_requested", hc, "gamma.example") == 1);
  CHECK(count_events(q.beta, "erasure_completed", hb, "alpha.example") == 1);
  CHECK(count_events(q.gamma, "erasure_completed", hc, "alpha.example") == 1);
  REQUIRE(eventually([&] { return occurrences(status_page(who), "erasure confirmed") == 2; }));
  auto page = status_page(who);
  CHECK(contains(page, "beta.example"));
  CHECK(contains(page, "gamma.example"));
  CHECK(contains(page, "Beta Hiring KK"));
  CHECK_FALSE(contains(page, "waiting"));
  CHECK(q.alpha.get(who.manage + "/export").status == 404);
  // The keeper is untouched.
  CHECK(q.alpha.get(keeper.manage + "/export").json()["personal"]["email"] == kKeeperEmail);
}

TEST_CASE("erasure: a recipient that is down confirms after it restarts") {
  auto& q = quartet();
  auto who = register_at_alpha(kJaName, kJaEmail);
  auto hb = ask(q.beta, q.beta_member, who);
  auto hc = ask(q.gamma, q.gamma_member, who);
  accept_all(who, 2);
  REQUIRE(eventually([&] {
    return delivered(q.beta, q.beta_member, hb) && delivered(q.gamma, q.gamma_member, hc);
  }));
  CHECK(handoff(q.gamma, q.gamma_member, hc)["personal"]["name"] == kJaName);
  REQUIRE(eventually([&] { return count_events(q.alpha, "handoff_receipt", hc) == 1; }));

  q.gamma.stop();
  REQUIRE(q.alpha.post_form(who.manage + "/erase", {{"confirm", "yes"}}).status == 200);
  REQUIRE(eventually([&] { return !delivered(q.beta, q.beta_member, hb); }));
  REQUIRE(eventually(
      [&] { return count_events(q.alpha, "erasure_receipt", hb, "beta.example") == 1; }));
  REQUIRE(eventually([&] { return occurrences(status_page(who), "erasure confirmed") == 1; }));
  auto page = status_page(who);
  CHECK(occurrences(page, "waiting for confirmation") == 1);
  CHECK(contains(page, "gamma.example"));
  CHECK(count_events(q.alpha, "erasure_receipt", hc) == 0);
  CHECK(count_events(q.alpha, "erasure_requested", hc, "gamma.example") == 1);

  q.gamma.start();
  REQUIRE(eventually([&] { return !delivered(q.gamma, q.gamma_member, hc); }, 40s));
  REQUIRE(eventually(
      [&] { return count_events(q.alpha, "erasure_receipt", hc, "gamma.example") == 1; }, 20s));
  CHECK(count_events(q.gamma, "erasure_completed", hc, "alpha.example") == 1);
  REQUIRE(eventually([&] { return occurrences(status_page(who), "erasure confirmed") == 2; }));
  CHECK_FALSE(contains(status_page(who), "waiting"));
}

TEST_CASE(
    "erasure: a delivery dropped before it left is not disclosed, and no erasure is asked of it") {
  auto& q = quartet();
  auto who = register_at_alpha("Dropped " + unique("cand"), unique("dropped") + "@example.jp");
  auto hb = ask(q.beta, q.beta_member, who);
  auto hc = ask(q.gamma, q.gamma_member, who);
  q.gamma.stop();
  accept_all(who, 2);  // gamma's delivery waits in alpha's outbox
  REQUIRE(eventually([&] { return delivered(q.beta, q.beta_member, hb); }));
  REQUIRE(q.alpha.post_form(who.manage + "/erase", {{"confirm", "yes"}}).status == 200);
  REQUIRE(eventually(
      [&] { return count_events(q.alpha, "erasure_receipt", hb, "beta.example") == 1; }));
  CHECK(count_events(q.alpha, "erasure_requested", hc) == 0);
  auto page = status_page(who);
  CHECK(contains(page, "beta.example"));
  CHECK_FALSE(contains(page, "gamma.example"));
  q.gamma.start();
  REQUIRE(eventually([&] { return handoff(q.gamma, q.gamma_member, hc)["state"] == "withdrawn"; },
                     40s));
  CHECK_FALSE(delivered(q.gamma, q.gamma_member, hc));
  CHECK(count_events(q.alpha, "erasure_requested", hc) == 0);
}

TEST_CASE("erasure: a replayed request is refused once outside the timestamp window") {
  auto& q = quartet();
  auto alpha_keys = keys_of(q.alpha);
  auto bytes = envelope("alpha.example", "beta.example", "erasure.request",
                        {{"handoff", "h_replay_unknown"}}, alpha_keys.signing,
                        alpha_keys.signing.public_key.fingerprint());
  auto first = post_envelope(q.beta, bytes);
  REQUIRE_MESSAGE(first.status == 200, first.body);
  // Within beta's 2 s window a replay gets the stored reply; after it, the window refuses it.
  auto sent = std::chrono::steady_clock::now();
  HttpReply replayed;
  REQUIRE(eventually(
      [&] {
        replayed = post_envelope(q.beta, bytes);
        return replayed.status != 200;
      },
      10s));
  CHECK(std::chrono::steady_clock::now() - sent >= 1s);
  CHECK(replayed.status == 400);
  CHECK(contains(replayed.body, "outside_window"));
}

TEST_CASE("erasure: received data expires unless a hire was reported") {
  auto& q = quartet();
  auto hired = register_at_alpha("Hired " + unique("cand"), unique("hired") + "@example.jp");
  auto expiring =
      register_at_alpha("Expiring " + unique("cand"), unique("expiring") + "@example.jp");
  auto hh = ask(q.delta, q.delta_member, hired);
  auto he = ask(q.delta, q.delta_member, expiring);
  // The hired candidate is delivered first, so its data would expire no later than the other's:
  // once the sweep has expired the other, it has passed the hired one's expiry too.
  accept_all(hired, 1);
  REQUIRE(eventually([&] { return delivered(q.delta, q.delta_member, hh); }));
  accept_all(expiring, 1);
  // A hire from the pool counts as a hire through the relay in the member's 紹介経由採用率, once.
  auto relay_hires = [&] {
    auto kpis = q.delta.get("/api/v1/kpis", q.delta_member.api_key).json().at("kpis");
    for (const auto& k : kpis)
      if (k.at("id") == "introduction_hire_share") return k.at("numerator").get<int>();
    return -1;
  };
  const auto before = relay_hires();
  auto hire = q.delta.post_json("/api/v1/handoffs/" + hh + "/hire", nlohmann::json::object(),
                                q.delta_member.api_key);
  REQUIRE_MESSAGE(hire.status == 200, hire.body);
  CHECK_FALSE(hire.json().contains("expires_ms"));
  CHECK(relay_hires() == before + 1);
  CHECK(q.delta
            .post_json("/api/v1/handoffs/" + hh + "/hire", nlohmann::json::object(),
                       q.delta_member.api_key)
            .status == 200);
  CHECK(relay_hires() == before + 1);
  CHECK(q.delta
            .post_json("/api/v1/handoffs/" + hh + "/hire", nlohmann::json::object(),
                       q.delta_other.api_key)
            .status == 404);
  CHECK(q.delta
            .post_json("/api/v1/handoffs/h_nope/hire", nlohmann::json::object(),
                       q.delta_member.api_key)
            .status == 404);
  CHECK(q.delta.post_json("/api/v1/handoffs/" + hh + "/hire", nlohmann::json::object()).status ==
        401);
  CHECK(count_events(q.delta, "hire_reported", hh) == 1);

  REQUIRE(eventually([&] { return delivered(q.delta, q.delta_member, he); }));
  REQUIRE(
      eventually([&] { return handoff(q.delta, q.delta_member, he)["state"] == "expired"; }, 20s));
  CHECK_FALSE(delivered(q.delta, q.delta_member, he));
  CHECK(count_events(q.delta, "handoff_expired", he, "alpha.example") == 1);
  CHECK(q.delta
            .post_json("/api/v1/handoffs/" + he + "/hire", nlohmann::json::object(),
                       q.delta_member.api_key)
            .status == 404);
  // The hired candidate's data outlives the expiry (the sweep above passed it).
  CHECK(delivered(q.delta, q.delta_member, hh));
  CHECK(handoff(q.delta, q.delta_member, hh)["personal"]["email"] == hired.person.email);
  CHECK(count_events(q.delta, "handoff_expired", hh) == 0);
}

TEST_CASE("erasure: no byte of any node's files holds an erased candidate in plaintext") {
  auto& q = quartet();
  // Its own erased candidate (and any the earlier cases erased), and its own keeper.
  const auto name = "Qaerasure " + unique("bytes");
  const auto email = unique("bytes.erasure") + "@example.org";
  const auto keeper_email = unique("keeper.bytes") + "@example.org";
  register_at_alpha("Keeper " + unique("bytes"), keeper_email);
  erased_at_beta_and_gamma(name, email);
  // Discarded spool files go after the commit: wait until no spool holds the erased person.
  REQUIRE(eventually([&] {
    for (const auto* node : {&q.alpha, &q.beta, &q.gamma, &q.delta})
      for (const auto& entry : fs::recursive_directory_iterator(node->spool_dir())) {
        std::ifstream in(entry.path(), std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (contains(bytes, name) || contains(bytes, email)) return false;
      }
    return true;
  }));
  for (const auto* node : {&q.alpha, &q.beta, &q.gamma, &q.delta}) {
    std::size_t files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(node->data_dir())) {
      if (!entry.is_regular_file()) continue;
      ++files;
      std::ifstream in(entry.path(), std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      for (const auto& secret : {name, email, kName, kEmail, kJaName, kJaEmail}) {
        const std::string where = entry.path().string() + " holds " + secret;
        CHECK_MESSAGE(!contains(bytes, secret), where);
      }
    }
    CHECK(files > 3);
  }
  // The check can see: the candidate not erased is still at alpha (sealed) and in its spool.
  bool keeper_seen = false;
  for (const auto& entry : fs::recursive_directory_iterator(q.alpha.spool_dir())) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    keeper_seen = keeper_seen || contains(bytes, keeper_email);
  }
  CHECK(keeper_seen);
}

TEST_CASE("erasure: relay-audit erasures finds every receipt and completion in the exports") {
  auto& q = quartet();
  auto erased =
      erased_at_beta_and_gamma("Audit " + unique("cand"), unique("audit.erasure") + "@example.org");
  auto dir = fs::temp_directory_path() / unique("relay-erasure-exports");
  fs::create_directories(dir);
  auto bin = relay::test::binary_dir().string();
  for (const auto* node : {&q.alpha, &q.beta, &q.gamma}) {
    auto out = dir / node->options().name;
    auto command = bin + "/node/relay-node export " + out.string() + " --config " +
                   node->config_path().string() + " > /dev/null";
    REQUIRE(exit_code(command) == 0);
  }
  auto audit = bin + "/audit/relay-audit erasures ";
  auto a = (dir / "alpha.example").string();
  auto b = (dir / "beta.example").string();
  auto c = (dir / "gamma.example").string();
  CHECK(exit_code(audit + a + " " + b + " " + c + " > /dev/null") == 0);
  // Without gamma's export its completions cannot be shown.
  auto missing = run(audit + a + " " + b + " 2>&1");
  CHECK(contains(missing, erased.at_gamma));
  CHECK_FALSE(contains(missing, erased.at_beta));
  CHECK(exit_code(audit + a + " " + b + " > /dev/null") == 1);
  CHECK(exit_code(audit + a + " > /dev/null 2>&1") == 1);
  CHECK(exit_code(audit + (dir / "nothing-here").string() + " " + b + " > /dev/null 2>&1") == 2);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// Issue 20, item 11: withdrawing consent reaches every recipient like erasure does.
TEST_CASE(
    "withdrawal: every recipient deletes, one that was down confirms after it restarts; "
    "a reported hire keeps the data until the candidate erases") {
  auto& q = quartet();
  auto who = register_at_alpha("Withdrawer " + unique("cand"), unique("withdraw") + "@example.jp");
  auto hb = ask(q.beta, q.beta_member, who);
  auto hc = ask(q.gamma, q.gamma_member, who);
  auto hd = ask(q.delta, q.delta_member, who);
  accept_all(who, 3);
  REQUIRE(eventually([&] {
    return delivered(q.beta, q.beta_member, hb) && delivered(q.gamma, q.gamma_member, hc) &&
           delivered(q.delta, q.delta_member, hd);
  }));
  // delta hires them (before its short retention expires the data).
  auto hire = q.delta.post_json("/api/v1/handoffs/" + hd + "/hire", nlohmann::json::object(),
                                q.delta_member.api_key);
  REQUIRE_MESSAGE(hire.status == 200, hire.body);
  REQUIRE(eventually([&] {
    return count_events(q.alpha, "handoff_receipt", hb) == 1 &&
           count_events(q.alpha, "handoff_receipt", hc) == 1 &&
           count_events(q.alpha, "handoff_receipt", hd) == 1;
  }));

  q.gamma.stop();
  auto withdrawn = q.alpha.post_form(who.manage + "/withdraw?lang=en", {});
  REQUIRE(withdrawn.status == 200);
  CHECK(contains(withdrawn.body, "asked to delete"));
  // beta deletes and its signed receipt reaches alpha; delta keeps the hire's data.
  REQUIRE(eventually([&] { return !delivered(q.beta, q.beta_member, hb); }));
  REQUIRE(eventually([&] {
    return count_events(q.alpha, "erasure_receipt", hb, "beta.example") == 1 &&
           count_events(q.alpha, "erasure_receipt", hd, "delta.example") == 1;
  }));
  CHECK(count_events(q.beta, "erasure_completed", hb, "alpha.example") == 1);
  CHECK(count_events(q.delta, "erasure_kept", hd, "alpha.example") == 1);
  CHECK(count_events(q.delta, "erasure_completed", hd) == 0);
  CHECK(handoff(q.delta, q.delta_member, hd)["personal"]["email"] == who.person.email);
  for (const auto& e : ledger(q.alpha))
    if (e["kind"] == "erasure_requested" && e["data"]["handoff"] == hb)
      CHECK(e["data"]["reason"] == "withdrawn");
  auto receipt_status = [&](const std::string& handoff_id) {
    std::string status;
    for (const auto& e : ledger(q.alpha))
      if (e["kind"] == "erasure_receipt" && e["data"]["handoff"] == handoff_id)
        status = e["data"]["status"];
    return status;
  };
  CHECK(receipt_status(hb) == "erased");
  CHECK(receipt_status(hd) == "kept_hired");

  // The candidate's page shows each recipient's answer; alpha still holds them (withdrawal
  // is not erasure).
  auto page = q.alpha.get(who.manage + "?lang=en");
  REQUIRE(page.status == 200);
  CHECK(occurrences(page.body, "deletion confirmed") == 1);
  CHECK(occurrences(page.body, "deletion requested") == 1);  // gamma, down
  CHECK(contains(page.body, "kept by the employer that hired you"));
  CHECK(q.alpha.get(who.manage + "/export").json()["personal"]["email"] == who.person.email);
  CHECK(count_events(q.alpha, "erasure_requested", hc, "gamma.example") == 1);
  CHECK(count_events(q.alpha, "erasure_receipt", hc) == 0);

  q.gamma.start();
  REQUIRE(eventually([&] { return !delivered(q.gamma, q.gamma_member, hc); }, 40s));
  REQUIRE(eventually(
      [&] { return count_events(q.alpha, "erasure_receipt", hc, "gamma.example") == 1; }, 20s));
  CHECK(count_events(q.gamma, "erasure_completed", hc, "alpha.example") == 1);
  REQUIRE(eventually([&] {
    return occurrences(q.alpha.get(who.manage + "?lang=en").body, "deletion confirmed") == 2;
  }));

  // Erasing now asks delta again, as an erasure: the hire no longer keeps the data.
  REQUIRE(q.alpha.post_form(who.manage + "/erase", {{"confirm", "yes"}}).status == 200);
  REQUIRE(eventually([&] { return !delivered(q.delta, q.delta_member, hd); }));
  REQUIRE(eventually(
      [&] { return count_events(q.alpha, "erasure_receipt", hd, "delta.example") == 2; }));
  CHECK(count_events(q.delta, "erasure_completed", hd, "alpha.example") == 1);
  CHECK(count_events(q.alpha, "erasure_requested", hb) == 1);  // beta is not asked twice

  // The auditor finds every request answered, the kept one by a hire reported before it.
  auto dir = fs::temp_directory_path() / unique("relay-withdrawal-exports");
  fs::create_directories(dir);
  auto bin = relay::test::binary_dir().string();
  std::string args;
  for (const auto* node : {&q.alpha, &q.beta, &q.gamma, &q.delta}) {
    auto out = dir / node->options().name;
    REQUIRE(exit_code(bin + "/node/relay-node export " + out.string() + " --config " +
                      node->config_path().string() + " > /dev/null") == 0);
    args += " " + out.string();
  }
  auto report = run(bin + "/audit/relay-audit erasures" + args + " 2>&1");
  CHECK_MESSAGE(contains(report, "OK: every erasure request"), report);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// Runs last: it shortens alpha's erasure deadline, which would mark other cases overdue.
TEST_CASE("erasure: a recipient that does not confirm in time is raised to both operators") {
  auto& q = quartet();
  reconfigure(q.alpha, [](nlohmann::json& c) { c["candidates"]["erasure_confirm_timeout_s"] = 2; });
  auto who = register_at_alpha("Overdue Testperson", "overdue.erasure.test@example.org");
  auto hc = ask(q.gamma, q.gamma_member, who);
  accept_all(who, 1);
  REQUIRE(eventually([&] { return delivered(q.gamma, q.gamma_member, hc); }));
  REQUIRE(eventually([&] { return count_events(q.alpha, "handoff_receipt", hc) == 1; }));

  q.gamma.stop();
  REQUIRE(q.alpha.post_form(who.manage + "/erase", {{"confirm", "yes"}}).status == 200);
  auto alerted = [&](const NodeProcess& node, const std::string& peer) {
    auto alerts = node.get("/api/v1/alerts", node.admin_token()).json();
    for (const auto& a : alerts["alerts"])
      if (a["kind"] == "erasure_overdue" && a["peer"] == peer &&
          contains(a["message"].get<std::string>(), hc))
        return true;
    return false;
  };
  REQUIRE(eventually([&] { return alerted(q.alpha, "gamma.example"); }, 20s));
  CHECK(contains(status_page(who), "overdue"));

  q.gamma.start();
  // The recipient's operator hears of it too, and the erasure still completes.
  REQUIRE(eventually([&] { return alerted(q.gamma, "alpha.example"); }, 40s));
  REQUIRE(eventually(
      [&] { return count_events(q.alpha, "erasure_receipt", hc, "gamma.example") == 1; }, 40s));
  CHECK_FALSE(delivered(q.gamma, q.gamma_member, hc));
}

TEST_SUITE_END();
