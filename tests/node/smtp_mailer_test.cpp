// node/mail SmtpMailer and candidates::MailDispatch against a real SMTP server on loopback
// (tests/support/smtp_server.py, Debian python3-aiosmtpd): STARTTLS, AUTH, headers and body,
// a server that is down, 4xx and 5xx recipients, the give-up horizon, erased candidates.
#include "node/mail/smtp_mailer.hpp"

#include <doctest/doctest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "node/candidates/mail_dispatch.hpp"
#include "node/common/secret_file.hpp"
#include "node/domain_fixture.hpp"
#include "support/smtp_test_server.hpp"
#include "support/temp_dir.hpp"

using namespace relay::node;
using namespace std::chrono_literals;
using relay::test::Domain;
using relay::test::SmtpTestServer;

namespace {

bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

mail::SmtpSettings settings_for(const SmtpTestServer& server) {
  mail::SmtpSettings s;
  s.host = "127.0.0.1";
  s.port = server.port();
  s.helo_name = "unit.relaynode";
  s.timeout = 5s;
  return s;
}

const mail::Mail kMail{"relay@unit.relaynode", "hanako@example.jp", "ご登録の確認 / Please confirm",
                       "こんにちは。\n.a line starting with a dot\nhttp://127.0.0.1:9/r/v/abc\n"};

// A candidate with one queued message to `to`; returns the candidate id.
std::string queue_for(Domain& d, const std::string& to) {
  candidates::Registration reg;
  reg.personal = {"試験 花子", to, ""};
  reg.profile.job_category = "D";
  reg.profile.skills = {"sales"};
  reg.profile.prefecture = "JP-27";
  reg.profile.age_band = "25-34";
  reg.profile.experience_band = "3-5";
  reg.consent = {true, false, true, "2026-11-01", 1};
  return d.write([&](storage::WriteTxn& txn) {
    auto r = d.candidates.create(txn, reg, d.candidates.pseudonym_of(to));
    d.candidates.queue_mail(txn, r, {"relay@unit.relaynode", to, "件名", "本文 " + to});
    return r.id;
  });
}

std::vector<candidates::QueuedMail> queued(Domain& d) {
  auto txn = d.env.begin_read();
  return d.candidates.queued_mail(txn, 100);
}

}  // namespace

TEST_SUITE_BEGIN("smtp");

TEST_CASE("smtp: STARTTLS when offered, AUTH, and the message arrives with its headers and body") {
  bool pipelining = false;
  SUBCASE("each command waits for its reply") {}
  SUBCASE("pipelined (RFC 2920)") {
    pipelining = true;
  }
  SmtpTestServer server({.starttls = true, .auth = "relay:s3cret", .pipelining = pipelining});
  server.start();
  auto s = settings_for(server);
  s.host = "localhost";  // the certificate's name
  s.ca_file = server.certificate();
  s.username = "relay";
  s.password = "s3cret";
  mail::SmtpMailer mailer(s);
  auto attempt = mailer.deliver(kMail);
  REQUIRE_MESSAGE(attempt.outcome == mail::Attempt::Outcome::delivered, attempt.reason);
  CHECK(mailer.last_used_tls());
  auto got = server.messages();
  REQUIRE(got.size() == 1);
  CHECK(got[0]["tls"] == true);
  CHECK(got[0]["auth"] == "relay");
  CHECK(got[0]["from"] == "relay@unit.relaynode");
  CHECK(got[0]["to"] == nlohmann::json::array({"hanako@example.jp"}));
  const std::string data = got[0]["data"];
  CHECK(has(data, "From: relay@unit.relaynode\r\n"));
  CHECK(has(data, "To: hanako@example.jp\r\n"));
  CHECK(has(data, "Subject: =?UTF-8?B?"));
  CHECK(has(data, "Content-Type: text/plain; charset=UTF-8\r\n"));
  CHECK(has(data, "Message-ID: <"));
  CHECK(has(data, "\r\nこんにちは。\r\n.a line starting with a dot\r\n"));  // dot-stuffing undone
  CHECK(has(data, "http://127.0.0.1:9/r/v/abc\r\n"));
}

// Where the server offers PIPELINING (RFC 2920), MAIL, RCPT and DATA go in one write and the
// text in another: two reads a message at the server, where each command waiting for its reply
// takes four. Every message arrives once, each to its own recipient.
TEST_CASE("smtp: MAIL, RCPT and DATA go in one write where PIPELINING is offered") {
  for (bool pipelining : {false, true}) {
    CAPTURE(pipelining);
    SmtpTestServer server({.pipelining = pipelining});
    server.start();
    mail::SmtpMailer mailer(settings_for(server));
    auto session = mailer.session();
    for (int i = 0; i < 5; ++i) {
      auto m = kMail;
      m.to = "p" + std::to_string(i) + "@example.jp";
      auto attempt = session->send(m);
      CHECK_MESSAGE(attempt.outcome == mail::Attempt::Outcome::delivered, attempt.reason);
    }
    session.reset();
    auto got = server.messages();
    REQUIRE(got.size() == 5);
    for (int i = 0; i < 5; ++i) {
      CHECK(got[i].at("to") == nlohmann::json::array({"p" + std::to_string(i) + "@example.jp"}));
      CHECK(got[i].at("reads") == (pipelining ? 2 : 4));
    }
  }
}

TEST_CASE("smtp: a bad password fails clearly and is retried, never given up at once") {
  SmtpTestServer server({.starttls = true, .auth = "relay:s3cret"});
  server.start();
  auto s = settings_for(server);
  s.host = "localhost";
  s.ca_file = server.certificate();
  s.username = "relay";
  s.password = "wrong";
  mail::SmtpMailer mailer(s);
  auto attempt = mailer.deliver(kMail);
  CHECK(attempt.outcome == mail::Attempt::Outcome::retry_later);
  CHECK(has(attempt.reason, "535 at AUTH"));
  CHECK(has(attempt.reason, "mail.smtp.password_file"));
  CHECK_FALSE(has(attempt.reason, "hanako"));
  CHECK(server.messages().empty());
}

TEST_CASE("smtp: TLS is checked: an untrusted or misnamed certificate is refused") {
  SmtpTestServer server({.starttls = true});
  server.start();
  SUBCASE("untrusted") {
    auto s = settings_for(server);
    s.host = "localhost";
    mail::SmtpMailer mailer(s);  // no ca_file: the self-signed certificate is not trusted
    auto attempt = mailer.deliver(kMail);
    CHECK(attempt.outcome == mail::Attempt::Outcome::retry_later);
    CHECK(has(attempt.reason, "TLS handshake failed"));
  }
  SUBCASE("wrong host name") {
    auto s = settings_for(server);
    s.ca_file = server.certificate();
    s.host = "127.0.0.1";  // the certificate names localhost only
    auto attempt = mail::SmtpMailer(s).deliver(kMail);
    CHECK(attempt.outcome == mail::Attempt::Outcome::retry_later);
    CHECK(has(attempt.reason, "TLS handshake failed"));
    s.host = "localhost";
    CHECK(mail::SmtpMailer(s).deliver(kMail).outcome == mail::Attempt::Outcome::delivered);
  }
  CHECK(server.messages().size() <= 1);
}

// The TLS client context (the system's CA store and mail.smtp.ca_file) is made at the first
// STARTTLS and kept for every session after it: made per connection, it cost the node 440 us a
// mail under scripts/bench-mail --tls, and mail no longer kept up with intake. One that cannot
// be made is not kept.
TEST_CASE("smtp: the TLS context is made once for every session, and tried again until made") {
  SmtpTestServer server({.starttls = true});
  server.start();
  relay::test::TempDir dir("smtp-tls");
  auto s = settings_for(server);
  s.host = "localhost";
  s.ca_file = dir.path / "ca.pem";  // not there yet
  mail::SmtpMailer mailer(s);
  auto attempt = mailer.deliver(kMail);
  CHECK(attempt.outcome == mail::Attempt::Outcome::retry_later);
  CHECK(attempt.reason == "smtp: cannot read mail.smtp.ca_file");
  std::filesystem::copy_file(server.certificate(), *s.ca_file);
  attempt = mailer.deliver(kMail);  // a connection of its own: the context is made now
  REQUIRE_MESSAGE(attempt.outcome == mail::Attempt::Outcome::delivered, attempt.reason);
  std::filesystem::remove(*s.ca_file);
  // Sessions on four threads at once, each its own connection and handshake, share it: the
  // file is not read again.
  std::vector<std::thread> threads;
  std::vector<std::vector<mail::Attempt>> attempts(4);
  for (std::size_t t = 0; t < attempts.size(); ++t)
    threads.emplace_back([&, t] {
      auto session = mailer.session();
      for (int i = 0; i < 5; ++i) attempts[t].push_back(session->send(kMail));
    });
  for (auto& t : threads) t.join();
  for (const auto& in_thread : attempts)
    for (const auto& a : in_thread)
      CHECK_MESSAGE(a.outcome == mail::Attempt::Outcome::delivered, a.reason);
  auto got = server.messages();
  CHECK(got.size() == 21);
  std::set<int> connections;
  for (const auto& m : got) {
    CHECK(m["tls"] == true);
    connections.insert(m["peer"].get<int>());
  }
  CHECK(connections.size() == 5);
}

TEST_CASE("smtp: starttls required, when offered, never") {
  SmtpTestServer plain(SmtpTestServer::Options{});
  plain.start();
  auto s = settings_for(plain);
  s.starttls = mail::StartTls::required;
  auto refused = mail::SmtpMailer(s).deliver(kMail);
  CHECK(refused.outcome == mail::Attempt::Outcome::retry_later);
  CHECK(has(refused.reason, "does not offer STARTTLS"));
  s.starttls = mail::StartTls::when_offered;
  mail::SmtpMailer opportunistic(s);
  CHECK(opportunistic.deliver(kMail).outcome == mail::Attempt::Outcome::delivered);
  CHECK_FALSE(opportunistic.last_used_tls());
  REQUIRE(plain.messages().size() == 1);
  CHECK(plain.messages()[0]["tls"] == false);
}

TEST_CASE("mail dispatch over smtp: a server that is down is retried with backoff, then delivers") {
  Domain d;
  SmtpTestServer server(SmtpTestServer::Options{});
  mail::SmtpMailer mailer(settings_for(server));
  candidates::MailDispatch dispatch(d.env, d.writer, d.candidates, mailer, 1h, d.clock,
                                    {std::chrono::minutes(1), std::chrono::hours(1), 72h});
  queue_for(d, "hanako@example.jp");
  CHECK(dispatch.run_once() == 0);  // nobody listens: refused
  auto q = queued(d);
  REQUIRE(q.size() == 1);
  CHECK(q[0].attempts == 1);
  server.start();
  CHECK(dispatch.run_once() == 0);  // not due yet: the backoff holds
  CHECK(server.messages().empty());
  d.clock.advance(std::chrono::minutes(1));
  CHECK(dispatch.run_once() == 1);
  CHECK(queued(d).empty());
  REQUIRE(server.messages().size() == 1);
  CHECK(has(server.messages()[0]["data"].get<std::string>(), "本文 hanako@example.jp"));
  CHECK(dispatch.given_up() == 0);
}

TEST_CASE(
    "mail dispatch over smtp: 5xx is given up and reported; a deferring domain blocks no one") {
  bool pipelining = false;
  SUBCASE("each command waits for its reply") {}
  SUBCASE("pipelined (RFC 2920)") {
    pipelining = true;
  }
  Domain d;
  SmtpTestServer server({.defer_domains = {"busy.example"},
                         .reject_domains = {"gone.example"},
                         .pipelining = pipelining});
  server.start();
  mail::SmtpMailer mailer(settings_for(server));
  candidates::MailDispatch dispatch(d.env, d.writer, d.candidates, mailer, 1h, d.clock,
                                    {std::chrono::minutes(1), std::chrono::hours(1), 72h});
  std::vector<std::string> reasons;
  dispatch.on_given_up(
      [&](storage::WriteTxn&, const std::string& reason) { reasons.push_back(reason); });
  // Queued first, so a queue-order dispatcher would try them before everyone else.
  for (int i = 0; i < 3; ++i) queue_for(d, "p" + std::to_string(i) + "@busy.example");
  queue_for(d, "nobody@gone.example");
  queue_for(d, "a@example.jp");
  queue_for(d, "b@example.org");
  CHECK(dispatch.run_once() == 2);
  auto got = server.messages();
  REQUIRE(got.size() == 2);
  REQUIRE(reasons.size() == 1);
  CHECK(has(reasons[0], "smtp 550 at RCPT"));
  CHECK_FALSE(has(reasons[0], "gone.example"));
  CHECK(dispatch.given_up() == 1);
  // The busy domain was tried once this pass (its other two wait), and all three stay queued.
  auto q = queued(d);
  REQUIRE(q.size() == 3);
  int attempted = 0;
  for (const auto& m : q) attempted += static_cast<int>(m.attempts);
  CHECK(attempted == 1);

  // Past the horizon, a deferred message is given up too.
  d.clock.advance(73h);
  CHECK(dispatch.run_once() == 0);
  CHECK(queued(d).size() == 2);
  CHECK(reasons.size() == 2);
  CHECK(has(reasons[1], "no delivery within mail.give_up_after_hours"));
}

// A pass goes through one SMTP session (a connection, EHLO and login per message kept a
// smarthost far behind intake), at most 100 messages a connection; a message the server
// refuses is given up and the session goes on with the next.
TEST_CASE(
    "mail dispatch over smtp: a pass shares connections; a refused message does not end one") {
  bool pipelining = false;
  SUBCASE("each command waits for its reply") {}
  SUBCASE("pipelined (RFC 2920)") {
    pipelining = true;
  }
  Domain d;
  SmtpTestServer server({.reject_domains = {"gone.example"}, .pipelining = pipelining});
  server.start();
  mail::SmtpMailer mailer(settings_for(server));
  candidates::MailDispatch dispatch(d.env, d.writer, d.candidates, mailer, 1h, d.clock);
  for (int i = 0; i < 150; ++i) {
    queue_for(d, "p" + std::to_string(i) + "@example.jp");
    if (i == 40) queue_for(d, "nobody@gone.example");
  }
  CHECK(dispatch.run_once() == 150);
  CHECK(dispatch.given_up() == 1);
  CHECK(queued(d).empty());
  auto got = server.messages();
  REQUIRE(got.size() == 150);
  std::map<int, int> per_connection;
  std::set<std::string> recipients;
  for (const auto& m : got) {
    ++per_connection[m.at("peer").get<int>()];
    recipients.insert(m.at("to").at(0).get<std::string>());
    CHECK(has(m.at("data").get<std::string>(), "本文 " + m.at("to").at(0).get<std::string>()));
  }
  CHECK(recipients.size() == 150);
  REQUIRE(per_connection.size() == 2);
  CHECK(per_connection.begin()->second + per_connection.rbegin()->second == 150);
  CHECK(std::max(per_connection.begin()->second, per_connection.rbegin()->second) == 100);
}

// Several sessions at once (mail.smtp.connections): one waits for every reply in turn, so a
// server a few milliseconds away caps it at a few dozen messages a second. Each message goes
// exactly once, and a domain that defers holds up only its own mail.
TEST_CASE("mail dispatch over smtp: sessions in parallel send every message once") {
  Domain d;
  SmtpTestServer server({.defer_domains = {"busy.example"}, .reply_delay_ms = 5});
  server.start();
  mail::SmtpMailer mailer(settings_for(server));
  candidates::MailDispatch dispatch(d.env, d.writer, d.candidates, mailer, 1h, d.clock,
                                    {std::chrono::minutes(1), std::chrono::hours(1), 72h}, 4);
  for (int i = 0; i < 3; ++i) queue_for(d, "p" + std::to_string(i) + "@busy.example");
  for (int i = 0; i < 150; ++i) queue_for(d, "q" + std::to_string(i) + "@example.jp");
  CHECK(dispatch.run_once() == 150);
  auto got = server.messages();
  REQUIRE(got.size() == 150);
  std::set<std::string> recipients;
  std::set<int> peers;
  int most_open = 0;
  for (const auto& m : got) {
    recipients.insert(m.at("to").at(0).get<std::string>());
    peers.insert(m.at("peer").get<int>());
    most_open = std::max(most_open, m.at("open").get<int>());
  }
  CHECK(recipients.size() == 150);
  CHECK(peers.size() <= 4);
  CHECK(most_open >= 2);  // sessions overlapped
  CHECK(most_open <= 4);
  // The busy domain: tried once, all three still queued, one attempt among them.
  auto q = queued(d);
  REQUIRE(q.size() == 3);
  int attempted = 0;
  for (const auto& m : q) attempted += static_cast<int>(m.attempts);
  CHECK(attempted == 1);
}

// With the server down, a session tries to connect once, the rest of its messages get that
// failure at once, and the log says so once per chunk and reason, not once per message (a
// backlog logged a line for each message every retry period); no address in it.
TEST_CASE("mail dispatch over smtp: a server that is down costs one connection and one line") {
  Domain d;
  SmtpTestServer server(SmtpTestServer::Options{});  // never started
  mail::SmtpMailer mailer(settings_for(server));
  candidates::MailDispatch dispatch(d.env, d.writer, d.candidates, mailer, 1h, d.clock,
                                    {std::chrono::minutes(1), std::chrono::hours(1), 72h});
  for (int i = 0; i < 40; ++i)
    queue_for(d, "down" + std::to_string(i) + "@d" + std::to_string(i) + ".example");
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  auto delivered = dispatch.run_once();
  spdlog::set_default_logger(previous);
  CHECK(delivered == 0);
  for (const auto& m : queued(d)) CHECK(m.attempts == 1);
  auto text = log.str();
  CHECK(has(text, "mail: 32 message(s) deferred: smtp: cannot connect"));
  CHECK(has(text, "mail: 8 message(s) deferred: smtp: cannot connect"));
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);
  CHECK_FALSE(has(text, "example"));
  CHECK_FALSE(has(text, "down1"));
}

// A server that closes the connection (421) mid-pass: that message waits for its retry, the
// next one opens a new connection, and nothing is lost.
TEST_CASE("mail dispatch over smtp: a connection the server closes is opened again") {
  bool pipelining = false;
  SUBCASE("each command waits for its reply") {}
  SUBCASE("pipelined (RFC 2920)") {
    pipelining = true;
  }
  Domain d;
  SmtpTestServer server({.close_after = 10, .pipelining = pipelining});
  server.start();
  mail::SmtpMailer mailer(settings_for(server));
  candidates::MailDispatch dispatch(d.env, d.writer, d.candidates, mailer, 1h, d.clock,
                                    {std::chrono::minutes(1), std::chrono::hours(1), 72h});
  // A domain each: a deferred message holds up no other.
  for (int i = 0; i < 25; ++i)
    queue_for(d, "p" + std::to_string(i) + "@d" + std::to_string(i) + ".example");
  CHECK(dispatch.run_once() == 23);
  auto q = queued(d);
  REQUIRE(q.size() == 2);
  for (const auto& m : q) CHECK(m.attempts == 1);
  std::map<int, int> per_connection;
  for (const auto& m : server.messages()) ++per_connection[m.at("peer").get<int>()];
  std::multiset<int> sizes;
  for (const auto& [peer, n] : per_connection) sizes.insert(n);
  CHECK(sizes == std::multiset<int>{3, 10, 10});
  CHECK(dispatch.run_once() == 0);  // backing off
  d.clock.advance(std::chrono::minutes(2));
  CHECK(dispatch.run_once() == 2);
  CHECK(queued(d).empty());
  std::set<std::string> recipients;
  for (const auto& m : server.messages()) recipients.insert(m.at("to").at(0).get<std::string>());
  CHECK(recipients.size() == 25);
  CHECK(dispatch.given_up() == 0);
}

// Mail that comes a message at a time (a registration, its pass, the next registration) goes
// through the session kept from the pass before, not a connection (TLS handshake, login) each.
TEST_CASE("mail dispatch over smtp: a session is kept from one pass to the next") {
  Domain d;
  SmtpTestServer server({.pipelining = true});
  server.start();
  mail::SmtpMailer mailer(settings_for(server));
  candidates::MailDispatch dispatch(d.env, d.writer, d.candidates, mailer, 1h, d.clock,
                                    {std::chrono::minutes(1), std::chrono::hours(1), 72h});
  for (int i = 0; i < 3; ++i) {
    queue_for(d, "one" + std::to_string(i) + "@example.jp");
    CHECK(dispatch.run_once() == 1);
  }
  auto got = server.messages();
  REQUIRE(got.size() == 3);
  for (const auto& m : got) {
    CHECK(m.at("peer") == got[0].at("peer"));  // one connection
    CHECK(m.at("open").get<int>() == 1);
  }

  SUBCASE("not kept: a connection each pass, the one before ended") {
    dispatch.keep_sessions(std::chrono::seconds(0));
    for (int i = 0; i < 2; ++i) {
      queue_for(d, "two" + std::to_string(i) + "@example.jp");
      CHECK(dispatch.run_once() == 1);
    }
    got = server.messages();
    REQUIRE(got.size() == 5);
    CHECK(got[3].at("peer") != got[0].at("peer"));
    CHECK(got[4].at("peer") != got[3].at("peer"));
    CHECK(got[3].at("open").get<int>() == 1);  // each session ended before the next began
    CHECK(got[4].at("open").get<int>() == 1);
  }
  SUBCASE("idle longer than the keep time: ended by the next pass, which opens another") {
    dispatch.keep_sessions(std::chrono::milliseconds(50));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    queue_for(d, "late@example.jp");
    CHECK(dispatch.run_once() == 1);
    got = server.messages();
    REQUIRE(got.size() == 4);
    CHECK(got[3].at("peer") != got[0].at("peer"));
    CHECK(got[3].at("open").get<int>() == 1);
  }
}

// The server went away while the session was kept (restarted, or closed an idle connection):
// the NOOP that resumes it fails, and the message goes out on a new connection in the same
// pass, not after a retry's backoff.
TEST_CASE("mail dispatch over smtp: a kept session the server has closed is opened again at once") {
  Domain d;
  SmtpTestServer server(SmtpTestServer::Options{});
  server.start();
  mail::SmtpMailer mailer(settings_for(server));
  candidates::MailDispatch dispatch(d.env, d.writer, d.candidates, mailer, 1h, d.clock,
                                    {std::chrono::minutes(1), std::chrono::hours(1), 72h});
  queue_for(d, "before@example.jp");
  CHECK(dispatch.run_once() == 1);
  REQUIRE(server.messages().size() == 1);
  auto first_peer = server.messages()[0].at("peer");
  server.stop();
  server.start();  // same port; its message files start again at 1
  queue_for(d, "after@example.jp");
  CHECK(dispatch.run_once() == 1);
  CHECK(queued(d).empty());
  auto got = server.messages();
  REQUIRE(got.size() == 1);
  CHECK(got[0].at("to").at(0) == "after@example.jp");
  CHECK(got[0].at("peer") != first_peer);

  SUBCASE("a server down when the pass begins: deferred as before, and tried again later") {
    server.stop();
    queue_for(d, "down@example.jp");
    CHECK(dispatch.run_once() == 0);
    auto q = queued(d);
    REQUIRE(q.size() == 1);
    CHECK(q[0].attempts == 1);
    server.start();
    d.clock.advance(std::chrono::minutes(2));
    CHECK(dispatch.run_once() == 1);
    CHECK(queued(d).empty());
  }
}

TEST_CASE("mail dispatch over smtp: an erased candidate's queued mail is never delivered") {
  Domain d;
  SmtpTestServer server(SmtpTestServer::Options{});
  server.start();
  mail::SmtpMailer mailer(settings_for(server));
  candidates::MailDispatch dispatch(d.env, d.writer, d.candidates, mailer, 1h, d.clock);
  auto erased = queue_for(d, "erase.me@example.jp");
  queue_for(d, "keep@example.jp");
  d.write([&](storage::WriteTxn& txn) {
    auto r = d.candidates.find(txn, erased);
    return d.candidates.erase(txn, *r);
  });
  CHECK(dispatch.run_once() == 1);
  auto got = server.messages();
  REQUIRE(got.size() == 1);
  CHECK(got[0]["to"] == nlohmann::json::array({"keep@example.jp"}));
  CHECK(queued(d).empty());
}

TEST_CASE("read_secret_file refuses a password file others can read") {
  relay::test::TempDir dir("secret");
  auto path = dir.path / "smtp_password";
  std::ofstream(path) << "s3cret\n";
  ::chmod(path.c_str(), 0644);
  try {
    relay::node::common::read_secret_file(path, "mail.smtp.password_file");
    FAIL("accepted a world-readable secret file");
  } catch (const std::runtime_error& e) {
    CHECK(has(e.what(), "mail.smtp.password_file"));
    CHECK(has(e.what(), "group or others"));
  }
  ::chmod(path.c_str(), 0600);
  CHECK(relay::node::common::read_secret_file(path, "mail.smtp.password_file") == "s3cret");
}

TEST_SUITE_END();
