// A relay-node process with mail.mailer "smtp" (issue 18, item 1): the candidate's
// verification mail reaches a real SMTP server on loopback (support/smtp_test_server.hpp)
// over STARTTLS with AUTH, the password read from a 0600 file; nothing is spooled; a password
// file others may read stops the node at start with the field named.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/node_process.hpp"
#include "support/smtp_test_server.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using relay::test::contains;
using relay::test::eventually;
using relay::test::NodeProcess;
using relay::test::SmtpTestServer;
using relay::test::TestCandidate;

TEST_CASE("smtp process: the verification mail goes out over SMTP with STARTTLS and AUTH") {
  SmtpTestServer server({.starttls = true, .auth = "relay:s3cret-pw"});
  server.start();
  relay::test::TempDir secrets("smtp-secret");
  const auto password_file = secrets.path / "smtp_password";
  std::ofstream(password_file) << "s3cret-pw\n";
  ::chmod(password_file.c_str(), 0600);

  auto o = relay::test::options("smtp.example", "JP-28");
  o.configure = [&](nlohmann::json& c) {
    c["mail"]["mailer"] = "smtp";
    c["mail"]["smtp"] = {{"host", "localhost"},
                         {"port", server.port()},
                         {"starttls", "required"},
                         {"username", "relay"},
                         {"password_file", password_file.string()},
                         {"ca_file", server.certificate().string()},
                         {"timeout_ms", 5000}};
  };
  NodeProcess node(o);
  auto member = node.admit_member("SMTP KK");
  TestCandidate person{"送信 花子", "hanako.smtp@example.jp", {}};
  auto reply = node.submit_registration(member.relay_link, person);
  REQUIRE(reply.status == 200);
  REQUIRE(eventually([&] { return server.messages().size() == 1; }));
  auto got = server.messages()[0];
  CHECK(got["tls"] == true);
  CHECK(got["auth"] == "relay");
  CHECK(got["to"] == nlohmann::json::array({"hanako.smtp@example.jp"}));
  const std::string data = got["data"];
  CHECK(contains(data, "To: hanako.smtp@example.jp\r\n"));
  CHECK(contains(data, "From: relay@smtp.example\r\n"));
  CHECK(contains(data, node.url() + "/r/v/"));
  CHECK(node.mails().empty());  // nothing was spooled
  const auto log = relay::test::read_file(node.log_path());
  CHECK_FALSE(contains(log, "hanako"));
  CHECK_FALSE(contains(log, "s3cret"));

  // A password file others may read: the node refuses to start, naming the field.
  node.stop();
  ::chmod(password_file.c_str(), 0644);
  CHECK_THROWS(node.start());
  CHECK(contains(node.log_tail(), "mail.smtp.password_file"));
}
