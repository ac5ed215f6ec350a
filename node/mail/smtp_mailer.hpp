#pragma once
// Hands each message to an SMTP server (a smarthost: the municipality's relay or a provider):
// EHLO, STARTTLS when offered (or required, or never, as configured; the certificate is
// verified against the system CA store plus an optional CA file, host name checked), AUTH
// PLAIN or LOGIN when a user name is configured (only over TLS, or to a loopback server), then
// the messages: one per connection through deliver(), up to 100 per connection through a
// session() (RSET after a message the server refused, so the next goes on). Every step has a
// deadline; a reply of 4xx, a dead or slow server and a TLS failure are `retry_later`, a 5xx to
// MAIL, RCPT or DATA is `rejected`. Retrying, the give-up horizon and fairness between recipients
// are the queue's (candidates::MailDispatch). Asio and OpenSSL live only in smtp_mailer.cpp.
//
// Never logs or reports a recipient, subject, body or the password; a reason names the step
// and the reply code.
//
// Threads: deliver() and session() may be called from several threads at once (each call,
// each session, has its own connection); a session is used by one thread and must not outlive
// its SmtpMailer; the settings are immutable.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "node/mail/mailer.hpp"

namespace relay::node::mail {

enum class StartTls { required, when_offered, never };

struct SmtpSettings {
  std::string host;
  std::uint16_t port = 25;
  StartTls starttls = StartTls::when_offered;
  std::string username;  // empty: no AUTH
  std::string password;  // zeroed by SmtpMailer's destructor
  std::string helo_name = "localhost";
  std::optional<std::filesystem::path> ca_file;  // trusted besides the system store
  std::chrono::milliseconds timeout{30'000};     // per step (connect, each reply)
};

// The TLS client context every session's STARTTLS uses (smtp_mailer.cpp).
class SmtpTls;

class SmtpMailer final : public Mailer {
 public:
  explicit SmtpMailer(SmtpSettings settings);
  ~SmtpMailer() override;
  SmtpMailer(const SmtpMailer&) = delete;
  SmtpMailer& operator=(const SmtpMailer&) = delete;

  Attempt deliver(const Mail& mail) override;
  std::unique_ptr<MailSession> session() override;
  bool discard(const std::string&) override { return false; }  // nothing is kept once handed over

  // Whether the last session used TLS (for tests and the operator log).
  bool last_used_tls() const { return last_used_tls_.load(); }

 private:
  SmtpSettings settings_;
  std::atomic<bool> last_used_tls_{false};
  std::unique_ptr<SmtpTls> tls_;
};

}  // namespace relay::node::mail
