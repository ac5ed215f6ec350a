#pragma once
// FederationSite: the federation parts of one node (LMDB, Writer, keys, ledger, candidate
// store, federation with profile exchange and handoffs) served on a loopback port by the
// real HTTP server, without the rest of a Node. Two or three of them in one test process
// exchange real signed envelopes; the test drives delivery with deliver() (the sender's
// loops are not started unless a test calls federation.start(), as the sender tests do), so
// every step is deterministic.
//
// Header-only; for the node tests (links relay_node).
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/node_config.hpp"
#include "crypto/random.hpp"
#include "node/candidates/candidate_store.hpp"
#include "node/common/clock.hpp"
#include "node/federation/federation.hpp"
#include "node/federation/handoff.hpp"
#include "node/federation/handoff_holder.hpp"
#include "node/federation/profile_exchange.hpp"
#include "node/http/server.hpp"
#include "node/identity/key_ring.hpp"
#include "node/ledger/ledger.hpp"
#include "node/members/member.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/txn.hpp"
#include "node/storage/writer.hpp"
#include "protocol/envelope.hpp"
#include "protocol/ledger_entry.hpp"
#include "support/vectors.hpp"

namespace relay::test {

namespace fed = relay::node::federation;
namespace cand = relay::node::candidates;
namespace st = relay::node::storage;

inline relay::config::NodeConfig site_config(const std::string& name, const std::string& region,
                                             const std::filesystem::path& dir) {
  auto c = relay::config::default_config();
  c.node.name = name;
  c.node.region = region;
  c.data_dir = dir;
  c.mail.from = "relay@" + name;
  c.consent.text_version = "test-1";
  c.federation.retry_initial_ms = std::chrono::milliseconds(1);
  c.federation.retry_max_ms = std::chrono::milliseconds(1);
  return c;
}

struct FederationSite {
  std::filesystem::path dir;
  relay::config::NodeConfig config;
  relay::node::identity::KeyRing keys;
  relay::node::common::ManualClock clock;
  st::Environment env;
  st::Writer writer;
  relay::node::ledger::Ledger ledger;
  cand::Store store;
  fed::Federation federation;
  fed::ProfileExchange profiles;
  fed::Handoffs handoffs;
  fed::HandoffHolder holder;
  relay::node::http::Server server;
  std::thread server_thread;
  std::string url;
  // Requests served (the batch tests count them); false: /federation/v1/batch answers 404, as
  // a node from before batches does.
  std::atomic<int> message_requests{0};
  std::atomic<int> batch_requests{0};
  std::atomic<bool> takes_batches{true};

  FederationSite(const std::string& name, const std::string& region)
      : dir(make_temp_dir("fed-" + name)),
        config(site_config(name, region, dir)),
        keys(relay::node::identity::NodeKeys::generate()),
        env(st::Environment::open(dir / "lmdb")),
        writer(env),
        ledger(env, name, keys, clock),
        store(env, keys, clock),
        federation(config, env, writer, keys, ledger),
        profiles(federation, store),
        handoffs(federation, store, profiles, std::chrono::seconds(30 * 86400)),
        holder(federation, store, profiles,
               {"http://" + name, config.mail.from, config.consent.text_version}),
        server(
            relay::node::http::ServerOptions{
                .address = "127.0.0.1", .port = 0, .threads = 2, .tls = {}},
            [this](const relay::node::http::Request& r) { return handle(r); }) {
    server.listen();
    url = "http://127.0.0.1:" + std::to_string(server.port());
    config.node.public_url = url;
    server_thread = std::thread([this] { server.run(false); });
  }
  ~FederationSite() {
    server.stop();
    if (server_thread.joinable()) server_thread.join();
    writer.stop();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  FederationSite(const FederationSite&) = delete;
  FederationSite& operator=(const FederationSite&) = delete;

  const std::string& name() const { return config.node.name; }

  relay::node::http::Response handle(const relay::node::http::Request& r) {
    if (r.method == "GET" && r.path == "/federation/v1/identity")
      return relay::node::http::text_response(200, federation.identity_document(),
                                              "application/json");
    if (r.method == "POST" && r.path == "/federation/v1/messages") {
      ++message_requests;
      auto received = federation.receive(r.body);
      return relay::node::http::text_response(received.status, received.body, "application/json");
    }
    if (r.method == "POST" && r.path == "/federation/v1/batch" && takes_batches) {
      ++batch_requests;
      auto body = nlohmann::json::parse(r.body);
      std::vector<std::string> envelopes;
      for (const auto& e : body.at("envelopes")) envelopes.push_back(e.get<std::string>());
      auto replies = nlohmann::json::array();
      for (auto& received : federation.inbox().receive_batch(envelopes))
        replies.push_back(
            received.status == 200
                ? nlohmann::json{{"status", 200}, {"envelope", received.body}}
                : nlohmann::json{{"status", received.status},
                                 {"error", nlohmann::json::parse(received.body).at("error")}});
      return relay::node::http::json_response(200, {{"replies", replies}});
    }
    return relay::node::http::json_response(
        404, {{"error", {{"code", "not_found"}, {"message", r.path}}}});
  }

  // Adds other as a peer (pinned to its real fingerprint) and learns its keys.
  void peer_with(FederationSite& other) {
    auto fp = other.keys.current()->signing.public_key.fingerprint();
    auto error = writer.submit_wait([&](st::WriteTxn& txn) {
      return federation.peers().add(txn, other.name(), other.url, fp);
    });
    if (error != fed::AddError::none) throw std::runtime_error("peer add failed");
    if (!federation.refresh_peer(other.name())) throw std::runtime_error("peer keys not learnt");
  }

  // Delivery passes until nothing is due (bounded).
  std::size_t deliver() {
    std::size_t total = 0;
    for (int i = 0; i < 20; ++i) {
      auto n = federation.deliver_due();
      total += n;
      if (n == 0) break;
    }
    return total;
  }

  // A local candidate, active, with the given consent to peers.
  cand::CandidateRecord add_candidate(const std::string& name, const std::string& email, bool peers,
                                      const std::string& category = "B",
                                      std::vector<std::string> skills = {"c++", "lmdb"}) {
    cand::Registration reg;
    reg.personal = {name, email, "078-555-0100"};
    reg.profile = {category, std::move(skills), "JP-28", "25-34", "3-5", {"backend engineer"}};
    reg.consent = {true, peers, false, "test-1", clock.now_ms()};
    return writer.submit_wait([&](st::WriteTxn& txn) {
      auto r = store.create(txn, reg, store.pseudonym_of(email));
      r.status = cand::Status::active;
      store.save(txn, r);
      profiles.candidate_changed(txn, r);
      return r;
    });
  }

  // Changes a candidate's consent to peers (as the management page does) and runs the hooks.
  void set_peers_consent(const std::string& id, bool peers) {
    writer.submit_wait([&](st::WriteTxn& txn) {
      auto r = store.find(txn, id);
      r->consent.peers = peers;
      store.save(txn, *r);
      holder.candidate_changed(txn, *r);
      profiles.candidate_changed(txn, *r);
    });
  }

  std::vector<fed::OutboxEntry> outbox() {
    auto txn = env.begin_read();
    return federation.outbox().all(txn);
  }

  // The ledger entries' kinds and data, in order.
  std::vector<std::pair<std::string, nlohmann::json>> events() {
    std::vector<std::pair<std::string, nlohmann::json>> out;
    auto txn = env.begin_read();
    for (std::uint64_t i = 0; i < ledger.size(txn); ++i) {
      auto j = nlohmann::json::parse(*ledger.entry(txn, i));
      out.emplace_back(j.at("kind"), j.at("data"));
    }
    return out;
  }
  std::string ledger_bytes() {
    std::string all;
    auto txn = env.begin_read();
    for (std::uint64_t i = 0; i < ledger.size(txn); ++i) all += *ledger.entry(txn, i);
    return all;
  }

  // Sends one hand-made signed envelope to `to` (bypassing the outbox).
  fed::Received send(FederationSite& to, const std::string& type, const nlohmann::json& body) {
    relay::protocol::Envelope e;
    e.type = type;
    e.id = "msg_" + relay::crypto::random_token(16);
    e.from = name();
    e.to = to.name();
    e.ts_ms = clock.now_ms();
    e.body = body;
    return to.federation.receive(relay::protocol::encode_envelope(e, keys.current()->signing));
  }
};

}  // namespace relay::test
