// Native HTTPS (issue 18, item 2): real relay-node processes serving TLS on loopback with
// certificates from a test CA (support/tls_files.hpp), the node's client verifying them, the
// certificate reloaded on SIGHUP, the key file's mode checked, and two nodes federating over
// HTTPS.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "node/http/client.hpp"
#include "support/names.hpp"
#include "support/node_process.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_files.hpp"

namespace fs = std::filesystem;
using relay::test::contains;
using relay::test::eventually;
using relay::test::NodeProcess;
using relay::test::TestCa;
using relay::test::TlsFiles;
using namespace std::chrono_literals;
namespace http = relay::node::http;

namespace {

NodeProcess::Options tls_options(const std::string& name, const std::string& region) {
  auto o = relay::test::options(name, region);
  o.tls = true;
  return o;
}

// Puts `files` where the node reads its certificate and key (same paths, new contents).
void install(const NodeProcess& node, const TlsFiles& files) {
  fs::copy_file(files.certificate, node.tls_dir() / "node.crt",
                fs::copy_options::overwrite_existing);
  fs::copy_file(files.key, node.tls_dir() / "node.key", fs::copy_options::overwrite_existing);
  ::chmod((node.tls_dir() / "node.key").c_str(), 0600);
}

// On a connection of its own: these tests are about handshakes, and the client would otherwise
// send over the connection an earlier request left open (http/kept_connections.hpp).
http::ClientResult healthz(const NodeProcess& node) {
  return http::http_request("GET", node.url() + "/healthz", {}, {{"Connection", "close"}}, 2s);
}

// Each reload is logged once: true once the node has logged n of them.
bool reloaded_times(const NodeProcess& node, std::size_t n) {
  return eventually([&] {
    auto log = relay::test::read_file(node.log_path());
    std::size_t count = 0;
    for (auto at = log.find("TLS certificate and key reloaded"); at != std::string::npos;
         at = log.find("TLS certificate and key reloaded", at + 1))
      ++count;
    return count >= n;
  });
}

}  // namespace

TEST_SUITE_BEGIN("tls");

TEST_CASE("tls: a node serves HTTPS that the client verifies; plain HTTP to it gets nothing") {
  NodeProcess node(tls_options("tls.example", "JP-28"));
  REQUIRE(node.url().starts_with("https://127.0.0.1:"));
  auto reply = healthz(node);
  REQUIRE_MESSAGE(reply, reply.error);
  CHECK(reply.response->status == 200);
  // The same request by name: the certificate names localhost too.
  auto by_name = http::http_request(
      "GET", "https://localhost:" + std::to_string(node.port()) + "/healthz", {}, {}, 2s);
  CHECK_MESSAGE(by_name, by_name.error);
  auto plain = http::http_request(
      "GET", "http://127.0.0.1:" + std::to_string(node.port()) + "/healthz", {}, {}, 2s);
  CHECK_FALSE(plain);
  CHECK(contains(node.log_tail(), "listening on https://127.0.0.1:"));
}

TEST_CASE("tls: SIGHUP swaps the certificate without dropping the listener; bad ones refused") {
  NodeProcess node(tls_options("reload.example", "JP-28"));
  relay::test::TempDir dir("tls-swap");
  const TestCa ca{relay::test::shared_test_ca()};
  auto misnamed = ca.issue(dir.path, "other", "DNS:other.example");
  auto untrusted = relay::test::make_self_signed(dir.path, "selfsigned");
  auto renewed = ca.issue(dir.path, "renewed");
  const auto pid = node.pid();
  REQUIRE(healthz(node));

  auto reloaded = [&](std::size_t n) { return reloaded_times(node, n); };

  // A certificate for another name: the client refuses it (host name checked).
  install(node, misnamed);
  node.sighup();
  REQUIRE(reloaded(1));
  auto refused = healthz(node);
  CHECK_FALSE(refused);
  CHECK(contains(refused.error, "TLS"));

  // A certificate for the right name that no trusted CA issued: refused too.
  install(node, untrusted);
  node.sighup();
  REQUIRE(reloaded(2));
  auto untrusted_reply = healthz(node);
  CHECK_FALSE(untrusted_reply);
  CHECK(contains(untrusted_reply.error, "TLS"));

  // The renewed certificate: accepted again, by the same process on the same listener.
  install(node, renewed);
  node.sighup();
  REQUIRE(reloaded(3));
  CHECK(healthz(node));
  CHECK(node.pid() == pid);

  // A key others may read is refused at reload (the working pair stays) and at start.
  ::chmod((node.tls_dir() / "node.key").c_str(), 0644);
  node.sighup();
  CHECK(eventually(
      [&] { return contains(relay::test::read_file(node.log_path()), "TLS reload failed"); }));
  CHECK(healthz(node));
  node.stop();
  CHECK_THROWS(node.start());
  CHECK(contains(node.log_tail(), "tls.key_file"));
  CHECK(contains(node.log_tail(), "group or others"));
  ::chmod((node.tls_dir() / "node.key").c_str(), 0600);
  node.start();
  CHECK(healthz(node));
}

// Each request was a new connection, and each a full handshake: the certificate chain parsed
// and verified again, most of a request's cost under OpenSSL 3 (http/tls_sessions.hpp). The
// client now resumes (and keeps connections: healthz() asks for new ones); a session never
// stands in for the check of a certificate it did not verify.
TEST_CASE("tls: the client resumes its session; a new certificate or new trust is verified again") {
  NodeProcess node(tls_options("resume.example", "JP-28"));
  relay::test::TempDir dir("tls-resume");
  const TestCa ca{relay::test::shared_test_ca()};
  auto misnamed = ca.issue(dir.path, "other", "DNS:other.example");
  auto renewed = ca.issue(dir.path, "renewed");

  // The first connection was the harness's, waiting for the node to answer: each since
  // resumes its session.
  for (int i = 0; i < 2; ++i) {
    auto reply = healthz(node);
    REQUIRE_MESSAGE(reply, reply.error);
    CHECK(reply.tls_resumed);
  }
  // Sessions are kept per host name and port: by name, the node is another server.
  auto by_name =
      http::http_request("GET", "https://localhost:" + std::to_string(node.port()) + "/healthz", {},
                         {{"Connection", "close"}}, 2s);
  REQUIRE_MESSAGE(by_name, by_name.error);
  CHECK_FALSE(by_name.tls_resumed);

  // A certificate for another name: the session made under the old one does not let the
  // client past it.
  install(node, misnamed);
  node.sighup();
  REQUIRE(reloaded_times(node, 1));
  auto refused = healthz(node);
  CHECK_FALSE(refused);
  CHECK(contains(refused.error, "TLS"));

  install(node, renewed);
  node.sighup();
  REQUIRE(reloaded_times(node, 2));
  auto verified = healthz(node);
  REQUIRE_MESSAGE(verified, verified.error);
  CHECK_FALSE(verified.tls_resumed);
  CHECK(healthz(node).tls_resumed);

  // A connection left open carries the next request: no handshake at all.
  const auto url = node.url() + "/healthz";
  auto opened = http::http_request("GET", url, {}, {}, 2s);
  REQUIRE_MESSAGE(opened, opened.error);
  auto reused = http::http_request("GET", url, {}, {}, 2s);
  REQUIRE_MESSAGE(reused, reused.error);
  CHECK(reused.connection_reused);

  // The trust changes: no session made under the old one is offered, and no connection made
  // under it is used.
  http::set_trusted_ca_file(ca.files.certificate);
  auto new_trust = http::http_request("GET", url, {}, {}, 2s);
  REQUIRE_MESSAGE(new_trust, new_trust.error);
  CHECK_FALSE(new_trust.connection_reused);
  CHECK_FALSE(new_trust.tls_resumed);
  CHECK(healthz(node).tls_resumed);
}

// Found by scripts/bench-federation --tls: a reply of more than a TLS record (16 KiB) with a
// Content-Length arrived as its head alone over HTTPS: Asio's async_write of a two-buffer array
// (head, body) asks its next write for an empty head and the body, and Beast's ssl_stream
// (flat_stream) wrote none of that, which async_write took for the end. Each page here is
// checked whole: a small one, one past a record, one past 64 KiB; and the whole list, streamed
// in two pieces (api/list_download.hpp: 500 items a piece).
TEST_CASE("tls: replies longer than a TLS record arrive whole, paged or streamed") {
  NodeProcess node(tls_options("tls-long.example", "JP-28"));
  for (int i = 0; i < 520; ++i) node.admit_member(relay::test::unique("Long Reply Company KK"));
  for (std::size_t n : {1, 60, 240}) {
    auto reply = node.get("/api/v1/members?limit=" + std::to_string(n), node.admin_token());
    REQUIRE_MESSAGE(reply.status == 200, n << ": " << reply.error);
    CHECK(reply.header("content-length") == std::to_string(reply.body.size()));
    CHECK(reply.json()["members"].size() == n);
    if (n == 60) CHECK(reply.body.size() > 16 * 1024);
    if (n == 240) CHECK(reply.body.size() > 64 * 1024);
  }
  auto whole = node.get("/api/v1/members", node.admin_token());
  REQUIRE_MESSAGE(whole.status == 200, whole.error);
  CHECK(whole.header("transfer-encoding") == "chunked");
  CHECK(whole.json()["members"].size() == 520);
}

TEST_CASE("tls: two nodes federate over HTTPS (a ping is delivered)") {
  NodeProcess kobe(tls_options("kobe-tls.example", "JP-28"));
  NodeProcess osaka(tls_options("osaka-tls.example", "JP-27"));
  relay::test::peer_by_api(kobe, osaka);
  relay::test::peer_by_api(osaka, kobe);
  auto ping = kobe.post_json("/api/v1/peers/osaka-tls.example/ping", nlohmann::json::object(),
                             kobe.admin_token());
  REQUIRE(ping.status == 202);
  CHECK(eventually([&] {
    auto outbox = kobe.get("/api/v1/federation/outbox", kobe.admin_token()).json();
    for (const auto& e : outbox["outbox"])
      if (e["peer"] == "osaka-tls.example" && e["type"] == "ping") return false;
    return true;
  }));
  auto peers = osaka.get("/api/v1/peers", osaka.admin_token()).json();
  CHECK(contains(peers.dump(), "https://127.0.0.1:"));
}

TEST_SUITE_END();
