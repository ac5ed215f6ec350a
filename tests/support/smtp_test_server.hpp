#pragma once
// SmtpTestServer: a real SMTP server on loopback (tests/support/smtp_server.py on Debian's
// python3-aiosmtpd) for the mail tests. Optional STARTTLS with a self-signed certificate made
// for the test (tls_files.hpp), AUTH required (user:password), recipient domains answered
// 450 (deferred) or 550 (rejected), connections closed with 421 after N messages. Each accepted
// message is a JSON file in the server's mail directory: {"from", "to": [...], "tls", "auth",
// "data", "peer", "open", "reads"} (peer: the client's port, one per connection; open:
// connections open when it arrived; reads: the socket reads that brought it, 2 when
// pipelined); messages() reads them. A reply delay stands for a server further
// away than loopback.
//
// start() spawns the server and waits for it to listen; stop() sends SIGTERM and waits; the
// port stays the same across stop()/start(), so a test can take the server down and bring it
// back. Header-only. Threads: one test thread.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/loopback.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_files.hpp"
#include "support/vectors.hpp"

extern char** environ;

namespace relay::test {

class SmtpTestServer {
 public:
  struct Options {
    bool starttls = false;
    std::string certificate_names = "DNS:localhost";  // subjectAltName of its certificate
    std::string auth{};                               // "user:password": AUTH required (over TLS)
    std::vector<std::string> defer_domains{};
    std::vector<std::string> reject_domains{};
    int close_after = 0;      // > 0: a connection is closed (421 at MAIL) after that many messages
    int reply_delay_ms = 0;   // MAIL, RCPT and the end of DATA answered this much later
    bool pipelining = false;  // PIPELINING offered (RFC 2920), as real mail servers offer it
  };

  explicit SmtpTestServer(Options options) : options_(std::move(options)) {
    port_ = free_loopback_port();
    if (options_.starttls)
      tls_ = make_self_signed(dir_.path / "tls", "localhost", options_.certificate_names);
  }
  ~SmtpTestServer() { stop(); }
  SmtpTestServer(const SmtpTestServer&) = delete;
  SmtpTestServer& operator=(const SmtpTestServer&) = delete;

  std::uint16_t port() const { return port_; }
  // The certificate to trust (with starttls).
  const std::filesystem::path& certificate() const { return tls_.certificate; }
  std::filesystem::path maildir() const { return dir_.path / "maildir"; }

  void start() {
    if (pid_ > 0) return;
    auto ready = dir_.path / "ready";
    std::filesystem::remove(ready);
    std::vector<std::string> args = {
        "/usr/bin/python3", (source_dir() / "tests/support/smtp_server.py").string(),
        "--port",           std::to_string(port_),
        "--maildir",        maildir().string(),
        "--ready",          ready.string()};
    if (options_.starttls) {
      args.insert(args.end(),
                  {"--tls-cert", tls_.certificate.string(), "--tls-key", tls_.key.string()});
    }
    if (!options_.auth.empty()) args.insert(args.end(), {"--auth", options_.auth});
    for (const auto& d : options_.defer_domains) args.insert(args.end(), {"--defer-domain", d});
    for (const auto& d : options_.reject_domains) args.insert(args.end(), {"--reject-domain", d});
    if (options_.reply_delay_ms > 0)
      args.insert(args.end(), {"--reply-delay-ms", std::to_string(options_.reply_delay_ms)});
    if (options_.pipelining) args.emplace_back("--pipelining");
    if (options_.close_after > 0)
      args.insert(args.end(), {"--close-after", std::to_string(options_.close_after)});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    auto log = (dir_.path / "server.log").string();
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("cannot start " + args[0] + " (is python3-aiosmtpd installed?)");
    }
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!std::filesystem::exists(ready)) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("the SMTP test server exited: " + log_text());
      }
      if (std::chrono::steady_clock::now() > until)
        throw std::runtime_error("the SMTP test server did not start: " + log_text());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // Accepted messages, in the order they arrived.
  std::vector<nlohmann::json> messages() const {
    std::vector<std::pair<int, nlohmann::json>> found;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(maildir(), ec)) {
      if (e.path().extension() != ".json") continue;
      std::ifstream in(e.path());
      found.emplace_back(std::stoi(e.path().stem().string()), nlohmann::json::parse(in));
    }
    std::sort(found.begin(), found.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<nlohmann::json> out;
    for (auto& [n, m] : found) out.push_back(std::move(m));
    return out;
  }

  std::string log_text() const {
    std::ifstream in(dir_.path / "server.log");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

 private:
  Options options_;
  TempDir dir_{"smtp"};
  TlsFiles tls_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace relay::test
