// Issue 17's limits, replayed against real relay-node processes: one case per finding (2, 3,
// 4, 6, 8 and the names of scope 5), each showing the attack refused or harmless. Clients are
// told apart by X-Forwarded-For (http.behind_proxy), as a reverse proxy would report them.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crypto/key_file.hpp"
#include "crypto/keys.hpp"
#include "crypto/random.hpp"
#include "protocol/envelope.hpp"
#include "support/names.hpp"
#include "support/node_process.hpp"
#include "support/silent_listener.hpp"
#include "support/vectors.hpp"

using relay::test::contains;
using relay::test::eventually;
using relay::test::HttpReply;
using relay::test::NodeProcess;
using relay::test::read_file;
using relay::test::TestCandidate;
using relay::test::unique;
using namespace std::chrono_literals;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

// Options whose node.json gets `patch` merged in before the first serve.
NodeProcess::Options with_config(const std::string& name, nlohmann::json patch) {
  auto o = relay::test::options(name, "JP-28");
  o.configure = [patch](nlohmann::json& config) { config.merge_patch(patch); };
  return o;
}

// A form POST from client address `client` (the proxy's X-Forwarded-For).
HttpReply post_form_from(const NodeProcess& node, const std::string& client,
                         const std::string& path, const TestCandidate& candidate,
                         const std::string& query = "") {
  return node.request("POST", relay::test::path_of(path) + query,
                      relay::test::form_encode(candidate.form()),
                      {{"Content-Type", "application/x-www-form-urlencoded"},
                       {"X-Forwarded-For", "192.0.2.1, " + client}});
}

HttpReply get_from(const NodeProcess& node, const std::string& client, const std::string& path,
                   const std::string& bearer = "") {
  std::map<std::string, std::string> headers{{"X-Forwarded-For", client}};
  if (!bearer.empty()) headers["Authorization"] = "Bearer " + bearer;
  return node.request("GET", path, {}, headers);
}

relay::crypto::Ed25519KeyPair signing_key(const NodeProcess& node) {
  return relay::crypto::Ed25519KeyPair::from_seed(
      relay::crypto::read_secret_file<relay::crypto::Ed25519Seed>(node.data_dir() / "keys" /
                                                                  "signing.key"));
}

std::string envelope(const std::string& type, const std::string& from, const std::string& to,
                     const nlohmann::json& body, const relay::crypto::Ed25519KeyPair& key) {
  relay::protocol::Envelope e;
  e.type = type;
  e.id = "msg_" + relay::crypto::random_token(16);
  e.from = from;
  e.to = to;
  e.ts_ms = now_ms();
  e.body = body;
  return relay::protocol::encode_envelope(e, key);
}

HttpReply post_envelope(const NodeProcess& node, const std::string& bytes) {
  return node.post_raw("/federation/v1/messages", bytes, "application/json");
}

std::chrono::milliseconds timed(const std::function<void()>& f) {
  auto started = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               started);
}

std::string profile_ref() {
  return "p_" + relay::crypto::to_hex(relay::crypto::random_bytes(12));
}

nlohmann::json a_profile() {
  return {{"job_category", "C"},
          {"skills", {"excel"}},
          {"prefecture", "JP-27"},
          {"age_band", "35-44"},
          {"experience_band", "6-10"}};
}

}  // namespace

TEST_SUITE_BEGIN("attack_limits");

TEST_CASE(
    "limits: per address, per member and per link answer 429 with Retry-After; people get "
    "a page in their language") {
  NodeProcess node{
      with_config("limits.example", {{"http", {{"behind_proxy", true}}},
                                     {"limits",
                                      {{"per_ip", {{"requests", 40}, {"per_seconds", 600}}},
                                       {"per_member", {{"requests", 10}, {"per_seconds", 600}}},
                                       {"per_link", {{"requests", 8}, {"per_seconds", 600}}}}}})};
  auto member = node.admit_member(unique("Limited KK"));
  auto other = node.admit_member(unique("Other KK"));

  // Per member: the 11th request with one key is refused, another member is not.
  for (int i = 0; i < 10; ++i)
    CHECK(get_from(node, "198.51.100.1", "/api/v1/me", member.api_key).status == 200);
  auto refused = get_from(node, "198.51.100.1", "/api/v1/me", member.api_key);
  CHECK(refused.status == 429);
  CHECK(refused.error_code() == "rate_limited");
  CHECK(std::stoi(refused.header("retry-after")) > 0);
  CHECK(get_from(node, "198.51.100.2", "/api/v1/me", other.api_key).status == 200);

  // Per link: 8 registrations through one link (different people), then a 429 page.
  for (int i = 0; i < 8; ++i) {
    TestCandidate c{"Person", unique("p") + "@example.jp", {}};
    auto r = post_form_from(node, "198.51.100." + std::to_string(10 + i), member.relay_link, c);
    CHECK(contains(r.redirected_to, "/r/sent"));
  }
  TestCandidate late{"Late", unique("late") + "@example.jp", {}};
  auto page = post_form_from(node, "198.51.100.30", member.relay_link, late);
  CHECK(page.status == 429);
  CHECK(std::stoi(page.header("retry-after")) > 0);
  CHECK(contains(page.header("content-type"), "text/html"));
  CHECK(contains(page.body, "しばらくお待ちください"));
  auto page_en = post_form_from(node, "198.51.100.30", member.relay_link, late, "?lang=en");
  CHECK(page_en.status == 429);
  CHECK(contains(page_en.body, "Please wait a moment"));
  // Another member's link is not held up.
  CHECK(contains(post_form_from(node, "198.51.100.30", other.relay_link, late).redirected_to,
                 "/r/sent"));

  // Per client address (X-Forwarded-For's last hop): 40 requests, then 429 on the API and a
  // page on candidate pages; another address is served.
  int served = 0;
  for (int i = 0; i < 60; ++i) served += get_from(node, "203.0.113.9", "/healthz").status == 200;
  CHECK(served == 40);
  auto api = get_from(node, "203.0.113.9", "/audit/v1/checkpoint");
  CHECK(api.status == 429);
  CHECK(api.error_code() == "rate_limited");
  auto html = get_from(node, "203.0.113.9", "/r/sent?lang=en");
  CHECK(html.status == 429);
  CHECK(contains(html.body, "Please wait a moment"));
  CHECK(get_from(node, "203.0.113.10", "/healthz").status == 200);
}

TEST_CASE(
    "finding 4: 300 registrations of one address through a public link send at most a "
    "few mails and do not delay another person's mail") {
  NodeProcess node{with_config("bomb.example", {{"http", {{"behind_proxy", true}}}})};
  auto member = node.admit_member(unique("Bombed KK"));
  auto other = node.admit_member(unique("Unrelated KK"));
  const std::string victim = unique("victim") + "@example.jp";
  int accepted = 0;
  int limited = 0;
  for (int i = 0; i < 300; ++i) {
    TestCandidate c{"Victim", victim, {}};
    // Rotating client addresses: the per-IP limit alone would not stop this.
    auto r = post_form_from(node, "203.0.113." + std::to_string(i % 250), member.relay_link, c);
    if (contains(r.redirected_to, "/r/sent")) ++accepted;
    if (r.status == 429) ++limited;
  }
  MESSAGE("300 posts for one address: " << accepted << " accepted, " << limited << " got 429");
  CHECK(accepted == 5);  // limits.per_address: 5 an hour
  CHECK(limited == 295);
  // A real person registering now through another company's link gets their mail at once.
  const std::string person = unique("person") + "@example.jp";
  TestCandidate c{"本物 さん", person, {}};
  CHECK(contains(post_form_from(node, "198.51.100.77", other.relay_link, c).redirected_to,
                 "/r/sent"));
  std::chrono::milliseconds took{};
  std::vector<std::string> links;
  took = timed([&] { links = node.wait_mail_links(person, "/r/v/", 1, 5s); });
  CHECK(links.size() == 1);
  MESSAGE("the other person's confirmation mail was spooled within " << took.count() << " ms");
  CHECK(took < 3s);
  // The victim got at most the daily cap of mails, all with the same link.
  auto victim_links = node.wait_mail_links(victim, "/r/v/", 5, 5s);
  CHECK(victim_links.size() == 5);
  CHECK(std::set<std::string>(victim_links.begin(), victim_links.end()).size() == 1);
}

TEST_CASE(
    "finding 4, varied: registrations of one mailbox under changing +tags count as one "
    "address") {
  NodeProcess node{with_config("tags.example", {{"http", {{"behind_proxy", true}}}})};
  auto member = node.admit_member(unique("Tagged KK"));
  const std::string local = unique("victim");
  int accepted = 0;
  int limited = 0;
  for (int i = 0; i < 40; ++i) {
    // One inbox: "victim+7@example.jp" is delivered to "victim@example.jp".
    TestCandidate c{"Victim", local + "+" + std::to_string(i) + "@example.jp", {}};
    auto r = post_form_from(node, "203.0.113." + std::to_string(i), member.relay_link, c);
    if (contains(r.redirected_to, "/r/sent")) ++accepted;
    if (r.status == 429) ++limited;
  }
  MESSAGE("40 posts for one mailbox under 40 +tags: " << accepted << " accepted, " << limited
                                                      << " got 429");
  // Before: 30 accepted, each +tag an address of its own, until the link's 30 a minute.
  CHECK(accepted == 5);  // limits.per_address: 5 an hour, for the mailbox
  CHECK(limited == 35);
}

TEST_CASE(
    "finding 6: a stranger's earlier registration of an address does not survive the "
    "owner's, and the confirmation page shows what is confirmed") {
  NodeProcess node{relay::test::options("hijack.example", "JP-28")};
  auto member = node.admit_member(unique("Hijacked KK"));
  const std::string victim = unique("hanako") + "@example.jp";
  TestCandidate fake{"Fake Person", victim, {{"phone", "090-0000-0000"}}};
  REQUIRE(contains(node.submit_registration(member.relay_link, fake).redirected_to, "/r/sent"));
  TestCandidate real{"山田 花子", victim, {{"phone", "080-1111-2222"}}};
  REQUIRE(contains(node.submit_registration(member.relay_link, real).redirected_to, "/r/sent"));
  auto link = node.wait_mail_link(victim, "/r/v/");
  auto shown = node.get(relay::test::path_of(link));
  CHECK(shown.status == 200);
  CHECK(contains(shown.body, "山田 花子"));
  CHECK(contains(shown.body, "080-1111-2222"));
  CHECK_FALSE(contains(shown.body, "Fake Person"));

  // Had the stranger registered after the owner, the owner would see it before confirming.
  REQUIRE(contains(node.submit_registration(member.relay_link, fake).redirected_to, "/r/sent"));
  auto poisoned = node.get(relay::test::path_of(link) + "?lang=en");
  CHECK(contains(poisoned.body, "Fake Person"));
  CHECK(contains(poisoned.body, "register again"));
  // The owner registers again (the latest counts), confirms, and holds their own data.
  REQUIRE(contains(node.submit_registration(member.relay_link, real).redirected_to, "/r/sent"));
  auto confirmed = node.request("POST", relay::test::path_of(link), {},
                                {{"Content-Type", "application/x-www-form-urlencoded"}});
  REQUIRE(contains(confirmed.redirected_to, "/r/m/"));
  CHECK(contains(confirmed.body, "山田 花子"));
  CHECK_FALSE(contains(confirmed.body, "Fake Person"));
}

TEST_CASE("names: bidi controls and blank-only names are refused in every name field") {
  NodeProcess node{relay::test::options("names.example", "JP-28")};
  auto member = node.admit_member(unique("Names KK"));
  auto requisition_titled = [&](const std::string& title) {
    return relay::test::open_requisition(node, member, {{"title", title}});
  };
  REQUIRE(requisition_titled("backend engineer").status == 201);  // the same body is valid
  for (const char* name :
       {"Taro\u202Egnp.exe", "\u3000\u3000", "\u00A0\u2003", "\u2066山田\u2069"}) {
    CAPTURE(name);
    TestCandidate c{name, unique("n") + "@example.jp", {}};
    auto r = node.submit_registration(member.relay_link, c);
    CHECK(r.status == 422);
    CHECK(contains(r.body, "氏名を入力してください"));
    auto admitted = node.post_json("/api/v1/members", {{"name", name}}, node.admin_token());
    CHECK(admitted.status == 400);
    CHECK(requisition_titled(name).status == 400);
  }
  // Ideographic spaces around a name are trimmed, inside it kept.
  TestCandidate spaced{"\u3000山田\u3000太郎\u3000", unique("s") + "@example.jp", {}};
  CHECK(contains(node.submit_registration(member.relay_link, spaced).redirected_to, "/r/sent"));
}

// scripts/sanitize builds ASan together with UBSan, whose vptr check probes memory through a
// new pipe on each type-cache miss: in a node with no descriptor left, it reports a valid object
// as having an invalid vptr and halts (a suppression cannot help: UBSan reads its suppression
// file at its first report, out of descriptors too). So sanitized builds skip the next test.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitizedWithUbsan = true;
#else
constexpr bool kSanitizedWithUbsan = false;
#endif

TEST_CASE(
    "finding 3: at the descriptor limit the accept loop backs off, logs a few lines, and "
    "the node answers again once connections close" *
    doctest::skip(kSanitizedWithUbsan)) {
  NodeProcess node{with_config("fds.example", {{"http", {{"idle_timeout_ms", 60000}}}})};
  // 64 descriptors for the running node: LMDB, the log, the listener and a few more leave
  // room for some tens of connections.
  rlimit low{64, 64};
  REQUIRE(::prlimit(node.pid(), RLIMIT_NOFILE, &low, nullptr) == 0);
  auto log_before = std::filesystem::file_size(node.log_path());
  std::vector<int> held;
  for (int i = 0; i < 150; ++i) {
    int fd = relay::test::connect_loopback(node.port());
    if (fd >= 0) held.push_back(fd);
  }
  std::this_thread::sleep_for(3s);  // the node is out of descriptors all this time
  auto log = read_file(node.log_path()).substr(log_before);
  auto lines = count_of(log, "accept failed");
  MESSAGE("held " << held.size() << " connections; 'accept failed' lines in 3 s: " << lines
                  << ", log grew " << log.size() << " bytes");
  CHECK(lines >= 1);
  CHECK(lines <= 2);
  CHECK(log.size() < 4000);
  for (int fd : held) ::close(fd);
  std::chrono::milliseconds took{};
  took = timed([&] { CHECK(eventually([&] { return node.get("/healthz").status == 200; }, 10s)); });
  MESSAGE("/healthz answered " << took.count() << " ms after the connections closed");
  CHECK(took < 5s);
}

TEST_CASE(
    "finding 3: past http.max_connections new connections are closed at once, logged "
    "once per interval") {
  NodeProcess node{with_config("cap.example", {{"http", {{"max_connections", 20}}}})};
  const auto started = std::chrono::steady_clock::now();
  std::vector<int> held;
  for (int i = 0; i < 20; ++i) held.push_back(relay::test::connect_loopback(node.port()));
  std::this_thread::sleep_for(1s);  // all 20 accepted (the loop accepts in order), even under load
  // Past the cap a connection is accepted and closed: reading it ends instead of waiting.
  // (Tried for up to 30 s: under load, e.g. a parallel CI run, the 20 may still be queued for
  // accept.)
  bool closed_by_node = false;
  while (!closed_by_node && std::chrono::steady_clock::now() - started < 30s) {
    int extra = relay::test::connect_loopback(node.port());
    REQUIRE(extra >= 0);
    timeval tv{2, 0};
    ::setsockopt(extra, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char byte = 0;
    auto got = ::recv(extra, &byte, 1, 0);
    closed_by_node = got == 0 || (got < 0 && errno == ECONNRESET);
    ::close(extra);
  }
  CHECK(closed_by_node);
  for (int i = 0; i < 30; ++i) ::close(relay::test::connect_loopback(node.port()));
  for (int fd : held) ::close(fd);
  CHECK(eventually([&] { return node.get("/healthz").status == 200; }, 5s));
  auto log = read_file(node.log_path());
  // At most one line per 10 s window the test spanned (one, when the machine is not loaded).
  const auto windows = 1 + std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::steady_clock::now() - started)
                                   .count() /
                               10;
  const auto lines = count_of(log, "http.max_connections");
  MESSAGE(lines << " line(s) over " << windows << " window(s)");
  CHECK(lines >= 1);
  CHECK(lines <= windows);
}

TEST_CASE(
    "finding 2: forged envelopes against a silent peer neither stall the node nor cause "
    "more than a bounded number of outbound fetches and log lines") {
  relay::test::SilentListener evil;
  NodeProcess x{with_config(
      "x.example", {{"limits", {{"per_ip", {{"requests", 0}}}}},  // every request reaches the inbox
                    {"federation",
                     {{"request_timeout_ms", 1000},
                      {"retry_initial_ms", 3600 * 1000},
                      {"retry_max_ms", 3600 * 1000},
                      {"witness_interval_s", 86400}}}})};
  x.stop();
  auto pinned = relay::crypto::Ed25519KeyPair::generate().public_key.fingerprint();
  auto command = relay::test::binary_dir().string() + "/node/relay-node peer add evil.example " +
                 evil.url() + " " + pinned + " --config " + x.config_path().string() +
                 " > /dev/null";
  REQUIRE(std::system(command.c_str()) == 0);
  x.start();
  auto forged = [](const std::string& from) {
    return envelope("ping", from, "x.example", nlohmann::json::object(),
                    relay::crypto::Ed25519KeyPair::generate());
  };

  // 8 in parallel from the configured (silent) peer, while /healthz is probed.
  std::atomic<int> finished{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> burst;
  for (int i = 0; i < 8; ++i)
    burst.emplace_back([&] {
      auto r = post_envelope(x, forged("evil.example"));
      refused += r.status == 403 ? 1 : 0;
      ++finished;
    });
  std::chrono::milliseconds worst{0};
  while (finished.load() < 8) worst = std::max(worst, timed([&] { x.get("/healthz"); }));
  for (auto& t : burst) t.join();
  MESSAGE("8 parallel forged envelopes: worst /healthz " << worst.count() << " ms");
  CHECK(refused.load() == 8);
  CHECK(worst < 200ms);

  // 1200 more: anonymous senders (no such peer) and the silent peer with random keys.
  auto size = x.ledger_size();
  auto log_before = std::filesystem::file_size(x.log_path());
  int answered = 0;
  auto took = timed([&] {
    for (int i = 0; i < 1200; ++i) {
      auto from = i % 2 ? "evil.example" : "anon-" + std::to_string(i) + ".example";
      answered += post_envelope(x, forged(from)).status == 403;
    }
  });
  MESSAGE("1200 forged envelopes answered 403 in " << took.count() << " ms");
  CHECK(answered == 1200);
  std::this_thread::sleep_for(1500ms);  // a fetch the burst caused would have started by now
  MESSAGE("outbound connections to the silent peer: " << evil.connections());
  CHECK(evil.connections() <= 2);  // at most one identity refresh (and the outbox's attempt)
  CHECK(x.ledger_size() == size);
  auto log = read_file(x.log_path()).substr(log_before);
  auto lines = count_of(log, "\n");
  MESSAGE("log lines for 1200 forged envelopes: " << lines);
  // One line a minute per configured peer and code, and one for all invented senders.
  CHECK(count_of(log, "from evil.example") <= 1);
  CHECK(count_of(log, "unknown_peer") <= 1);
  CHECK(lines <= 10);
}

TEST_CASE("finding 8: a peer's profiles are capped, and what an unfinished sync brought expires") {
  const nlohmann::json federation = {
      {"federation",
       {{"max_profiles_per_peer", 5}, {"sync_timeout_s", 2}, {"witness_interval_s", 86400}}}};
  NodeProcess a{with_config("pa.example", federation)};
  NodeProcess b{with_config("pb.example", federation)};
  a.stop();
  b.stop();
  relay::test::peer_by_cli(a, b);
  relay::test::peer_by_cli(b, a);
  a.start();
  b.start();
  auto key = signing_key(a);
  auto send = [&](const std::string& type, const nlohmann::json& body) {
    HttpReply r;
    // Until b has fetched a's identity it answers 403 unknown_key.
    eventually([&] {
      r = post_envelope(b, envelope(type, "pa.example", "pb.example", body, key));
      return !(r.status == 403 && contains(r.body, "unknown_key"));
    });
    return r;
  };
  auto member = b.admit_member(unique("Searching KK"));
  auto pool_size = [&] {
    auto r = b.get("/api/v1/pool", member.api_key);
    REQUIRE(r.status == 200);
    std::size_t n = 0;
    auto body = r.json();  // held: a range-for over a member of a temporary would dangle
    for (const auto& p : body["profiles"]) n += p.value("node", "") == "pa.example";
    return n;
  };

  // 5 upserts fit; the 6th new profile is refused (409), an update of a held one is not.
  std::vector<std::string> refs;
  std::int64_t seq = 1'000'000;
  for (int i = 0; i < 5; ++i) {
    refs.push_back(profile_ref());
    auto r =
        send("profile.upsert",
             {{"ref", refs.back()}, {"region", "JP-27"}, {"profile", a_profile()}, {"seq", ++seq}});
    CHECK(r.status == 200);
  }
  auto over =
      send("profile.upsert",
           {{"ref", profile_ref()}, {"region", "JP-27"}, {"profile", a_profile()}, {"seq", ++seq}});
  CHECK(over.status == 409);
  CHECK(contains(over.body, "profile_quota"));
  CHECK(send("profile.upsert",
             {{"ref", refs[0]}, {"region", "JP-27"}, {"profile", a_profile()}, {"seq", ++seq}})
            .status == 200);
  CHECK(pool_size() == 5);

  // A sync of 1000 parts of which only the first arrives: its new profiles past the quota
  // are skipped, and once it times out what it alone brought is gone.
  for (int i = 0; i < 3; ++i) {  // make room: withdraw three
    CHECK(send("profile.withdraw", {{"ref", refs[static_cast<std::size_t>(i)]}, {"seq", ++seq}})
              .status == 200);
  }
  CHECK(pool_size() == 2);
  nlohmann::json part = nlohmann::json::array();
  for (int i = 0; i < 100; ++i)
    part.push_back({{"ref", profile_ref()}, {"region", "JP-27"}, {"profile", a_profile()}});
  auto sync =
      send("profiles.sync", {{"seq", ++seq}, {"part", 0}, {"parts", 1000}, {"profiles", part}});
  CHECK(sync.status == 200);
  CHECK(pool_size() == 5);  // 3 of the 100 fitted
  CHECK(eventually([&] { return pool_size() == 2; }, 10s));
  // The next message drops the abandoned sync for good; room for new profiles again.
  CHECK(
      send("profile.upsert",
           {{"ref", profile_ref()}, {"region", "JP-27"}, {"profile", a_profile()}, {"seq", ++seq}})
          .status == 200);
  CHECK(pool_size() == 3);
  auto search = timed([&] { b.get("/api/v1/pool", member.api_key); });
  CHECK(search < 500ms);
}
