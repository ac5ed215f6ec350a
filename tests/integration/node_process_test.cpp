// The test harness itself (support/node_process.hpp): every other integration test trusts it
// to start, stop, kill and clean up real relay-node processes.
#include "support/node_process.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "support/vectors.hpp"

namespace fs = std::filesystem;
using relay::test::NodeProcess;

namespace {

bool process_exists(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno != ESRCH;
}

}  // namespace

TEST_SUITE_BEGIN("node process");

TEST_CASE("harness: a node starts, answers, stops cleanly, restarts and is killed on scope exit") {
  pid_t pid = -1;
  fs::path dir;
  {
    NodeProcess::Options options;
    options.name = "harness.relaynode";
    options.region = "JP-13";
    NodeProcess node(options);
    REQUIRE(node.running());
    pid = node.pid();
    dir = node.data_dir();
    CHECK(process_exists(pid));
    CHECK(node.url() == "http://127.0.0.1:" + std::to_string(node.port()));
    CHECK(node.admin_token().size() >= 20);
    CHECK(node.auditor_token().size() >= 20);
    CHECK(node.admin_token() != node.auditor_token());
    CHECK(fs::exists(node.config_path()));
    CHECK(fs::exists(node.log_path()));
    auto health = node.get("/healthz");
    CHECK(health.status == 200);
    CHECK(health.json()["node"] == "harness.relaynode");
    CHECK(node.ledger_size() == 1);  // the genesis entry
    CHECK(node.get("/api/v1/members", node.admin_token()).status == 200);
    CHECK(node.get("/audit/v1/entries", node.auditor_token()).status == 200);
    CHECK(node.mails().empty());
    CHECK_FALSE(node.latest_mail_link());

    node.stop();
    CHECK_FALSE(node.running());
    CHECK(node.exited_cleanly());
    CHECK_FALSE(process_exists(pid));
    auto gone = node.get("/healthz");
    CHECK(gone.status == 0);
    CHECK_FALSE(gone.error.empty());

    node.restart();
    CHECK(node.running());
    CHECK(node.ledger_size() == 1);
    node.kill9();
    CHECK_FALSE(node.running());
    CHECK_FALSE(node.exited_cleanly());
    node.start();
    pid = node.pid();
    CHECK(node.get("/healthz").status == 200);
  }
  CHECK_FALSE(process_exists(pid));  // the destructor killed it
  if (!std::getenv("RELAY_KEEP_TEST_DATA")) CHECK_FALSE(fs::exists(dir));
}

TEST_CASE("harness: the mail helpers find links in spooled messages, newest first") {
  NodeProcess node;
  auto member = node.admit_member("Harness Mail KK");
  relay::test::TestCandidate person{"Mail Person", "harness-mail@example.jp", {}};
  auto manage = node.register_and_confirm(member.relay_link, person);
  CHECK(manage.rfind(node.url() + "/r/m/", 0) == 0);
  auto verify = node.mail_links(person.email, "/r/v/");
  REQUIRE(verify.size() == 1);
  CHECK(verify[0].rfind(node.url() + "/r/v/", 0) == 0);
  node.wait_mail_link(person.email, "/r/m/");
  auto mails = node.mails();
  REQUIRE(mails.size() == 2);
  CHECK(mails[0].written >= mails[1].written);
  CHECK(mails[0].to == person.email);
  // The newest message is the confirmation with the management link.
  CHECK(node.latest_mail_link() == node.latest_mail_link("/r/m/"));
  CHECK(node.latest_mail_link("/r/m/") == manage);
  CHECK(node.latest_mail_link("/r/v/") == verify[0]);
  CHECK(node.mail_links("someone-else@example.jp", "/r/").empty());
  CHECK(relay::test::path_of(manage).rfind("/r/m/", 0) == 0);
  CHECK(relay::test::form_encode({{"a b", "c&d"}, {"e", "あ"}}) == "a%20b=c%26d&e=%E3%81%82");
  CHECK_THROWS_AS(node.wait_mail_link("nobody@example.jp", "/r/v/", std::chrono::milliseconds(50)),
                  std::runtime_error);
}

TEST_CASE("harness: a node that cannot bind its fixed port fails fast with the reason") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  NodeProcess::Options options;
  options.name = "blocked.relaynode";
  options.port = ntohs(addr.sin_port);
  auto started = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH_AS(NodeProcess{options}, doctest::Contains("is taken"), std::runtime_error);
  // Well inside the start timeout (10 s, times slowdown() like this bound).
  CHECK(std::chrono::steady_clock::now() - started <
        std::chrono::seconds(5) * relay::test::slowdown());
  ::close(fd);
}

// CMakeLists.txt links relay-node with jemalloc unless RELAY_JEMALLOC is off (sanitizer
// builds): a linker that dropped it as unneeded would leave the node on glibc's malloc, silently.
TEST_CASE("the node runs on the allocator it was built with") {
  NodeProcess node;
  REQUIRE(node.running());
  std::ifstream maps("/proc/" + std::to_string(node.pid()) + "/maps");
  REQUIRE(maps);
  bool jemalloc = false;
  for (std::string line; std::getline(maps, line);)
    if (line.find("/libjemalloc.so") != std::string::npos) jemalloc = true;
#ifdef RELAY_JEMALLOC
  CHECK(jemalloc);
#else
  CHECK_FALSE(jemalloc);
#endif
}

TEST_SUITE_END();
