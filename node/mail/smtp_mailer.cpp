#include "node/mail/smtp_mailer.hpp"

#include <openssl/ssl.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"
#include "node/common/tls_client.hpp"

namespace relay::node::mail {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

struct Reply {
  int code = 0;
  std::vector<std::string> lines;  // text after the code, one per line
};

// A failure that ends the message (and the session unless `code` says the server answered and
// the connection is still in step): the attempt's outcome and reason.
struct SessionEnd {
  Attempt attempt;
  int code = 0;  // the server's reply, if the failure was one
};

void wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

// A copy of a secret that wipes itself, whatever way the scope ends.
struct Secret {
  std::string text;
  ~Secret() { wipe(text); }
};

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// Lines starting with "." get another (RFC 5321 4.5.2); the text already ends with CRLF.
std::string dot_stuffed(const std::string& text) {
  std::string out;
  out.reserve(text.size() + 16);
  bool line_start = true;
  for (char c : text) {
    if (line_start && c == '.') out.push_back('.');
    out.push_back(c);
    line_start = c == '\n';
  }
  return out;
}

}  // namespace

// The TLS client context, made at the first STARTTLS and shared by every session after it
// (an SSL_CTX serves connections on several threads at once): the system's CA store, a
// bundle of about 140 certificates, and mail.smtp.ca_file are parsed once, not once a
// connection. A context that cannot be made is not kept: the next session tries again.
class SmtpTls {
 public:
  explicit SmtpTls(const SmtpSettings& settings) : settings_(settings) {}

  // Throws SessionEnd (retry_later) if mail.smtp.ca_file cannot be read.
  ssl::context& context() {
    std::lock_guard lock(mutex_);
    if (!context_) {
      auto made = std::make_unique<ssl::context>(ssl::context::tls_client);
      error_code ec;
      common::verify_peers(*made, settings_.ca_file, ec);
      if (ec) throw SessionEnd{Attempt::retry_later("smtp: cannot read mail.smtp.ca_file")};
      made->set_verify_callback(ssl::host_name_verification(settings_.host));
      context_ = std::move(made);
    }
    return *context_;
  }

 private:
  const SmtpSettings& settings_;
  std::mutex mutex_;
  std::unique_ptr<ssl::context> context_;
};

namespace {

// One SMTP session on a private io_context: every step runs asynchronously under a deadline.
class Session {
 public:
  Session(const SmtpSettings& settings, SmtpTls& tls)
      : settings_(settings), tls_context_(tls), socket_(io_) {}

  void connect() {
    tcp::resolver resolver(io_);
    error_code ec;
    auto endpoints = resolver.resolve(settings_.host, std::to_string(settings_.port), ec);
    if (ec) throw SessionEnd{Attempt::retry_later("smtp: cannot resolve mail.smtp.host")};
    ec = run([&](auto done) {
      asio::async_connect(socket_, endpoints,
                          [done](error_code e, const tcp::endpoint&) mutable { done(e, 0); });
    });
    if (ec) throw SessionEnd{Attempt::retry_later("smtp: cannot connect (" + ec.message() + ")")};
  }

  Reply read_reply(const char* step) {
    Reply reply;
    for (;;) {
      // A line that came with the one before (pipelined replies often do) is taken from the
      // buffer without a turn of the io_context, whose poll of the socket is a system call.
      if (buffer_.find("\r\n") == std::string::npos) {
        auto ec = run([&](auto done) {
          if (tls_)
            asio::async_read_until(*tls_, asio::dynamic_buffer(buffer_, 64 * 1024), "\r\n", done);
          else
            asio::async_read_until(socket_, asio::dynamic_buffer(buffer_, 64 * 1024), "\r\n", done);
        });
        if (ec)
          throw SessionEnd{Attempt::retry_later(std::string("smtp: no reply at ") + step + " (" +
                                                ec.message() + ")")};
      }
      auto end = buffer_.find("\r\n");
      std::string line = buffer_.substr(0, end);
      buffer_.erase(0, end + 2);
      if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
          !std::isdigit(static_cast<unsigned char>(line[1])) ||
          !std::isdigit(static_cast<unsigned char>(line[2])))
        throw SessionEnd{Attempt::retry_later(std::string("smtp: malformed reply at ") + step)};
      reply.code = std::stoi(line.substr(0, 3));
      reply.lines.push_back(line.size() > 4 ? line.substr(4) : std::string());
      if (line.size() == 3 || line[3] != '-') return reply;
    }
  }

  void write(const std::string& text, const char* step) {
    auto ec = run([&](auto done) {
      if (tls_)
        asio::async_write(*tls_, asio::buffer(text), done);
      else
        asio::async_write(socket_, asio::buffer(text), done);
    });
    if (ec) throw SessionEnd{Attempt::retry_later(std::string("smtp: connection lost at ") + step)};
  }

  // Sends a command and expects a reply in [ok_min, ok_max]; otherwise ends the session with
  // retry_later (4xx, or anything unexpected) or, where `permanent` is set, rejected (5xx).
  Reply command(const std::string& line, const char* step, int ok_min, int ok_max,
                bool permanent = false) {
    write(line + "\r\n", step);
    return expect(step, ok_min, ok_max, permanent);
  }

  Reply expect(const char* step, int ok_min, int ok_max, bool permanent = false) {
    return judge(read_reply(step), step, ok_min, ok_max, permanent);
  }

  // A reply already read, as expect() takes it.
  Reply judge(Reply reply, const char* step, int ok_min, int ok_max, bool permanent = false) {
    if (reply.code >= ok_min && reply.code <= ok_max) return reply;
    auto why = "smtp " + std::to_string(reply.code) + " at " + step;
    if (permanent && reply.code >= 500) throw SessionEnd{Attempt::rejected(why), reply.code};
    throw SessionEnd{Attempt::retry_later(why), reply.code};
  }

  void start_tls() {
    // Bytes sent before the handshake would be read as if they came over TLS (injection).
    if (!buffer_.empty())
      throw SessionEnd{Attempt::retry_later("smtp: unexpected data after STARTTLS")};
    tls_.emplace(socket_, tls_context_.context());
    if (!SSL_set_tlsext_host_name(tls_->native_handle(), settings_.host.c_str()))
      throw SessionEnd{Attempt::retry_later("smtp: cannot set the TLS server name")};
    auto ec = run([&](auto done) {
      tls_->async_handshake(ssl::stream_base::client, [done](error_code e) mutable { done(e, 0); });
    });
    if (ec)
      throw SessionEnd{Attempt::retry_later("smtp: TLS handshake failed (" + ec.message() + ")")};
  }

  bool tls() const { return tls_.has_value(); }

  void close() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  // Starts one operation and runs the io_context until it completes or the deadline passes;
  // a late operation is cancelled by closing the socket.
  template <class Start>
  error_code run(Start start) {
    error_code result;
    bool finished = false;
    start([&result, &finished](error_code e, std::size_t) {
      result = e;
      finished = true;
    });
    io_.restart();
    io_.run_for(settings_.timeout);
    if (!finished) {
      close();
      io_.restart();
      io_.run();
      return asio::error::timed_out;
    }
    return result;
  }

  const SmtpSettings& settings_;
  SmtpTls& tls_context_;
  asio::io_context io_;
  tcp::socket socket_;
  std::optional<ssl::stream<tcp::socket&>> tls_;
  std::string buffer_;
};

bool offers(const Reply& ehlo, std::string_view keyword, std::string_view arg = {}) {
  for (auto line : ehlo.lines) {
    for (auto& c : line) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::istringstream words(line);
    std::string word;
    words >> word;
    if (word != keyword) continue;
    if (arg.empty()) return true;
    while (words >> word)
      if (word == arg) return true;
  }
  return false;
}

std::string domain_of(const std::string& address) {
  auto at = address.rfind('@');
  return at == std::string::npos ? std::string("localhost") : address.substr(at + 1);
}

// Connects, greets, STARTTLS and AUTH as configured; returns the EHLO reply the messages are
// sent under. Throws SessionEnd.
Reply open_session(Session& s, const SmtpSettings& settings, std::atomic<bool>& used_tls) {
  s.connect();
  s.expect("greeting", 220, 220);
  auto ehlo = s.command("EHLO " + settings.helo_name, "EHLO", 250, 250);
  const bool offered = offers(ehlo, "STARTTLS");
  if (settings.starttls == StartTls::required && !offered)
    throw SessionEnd{Attempt::retry_later(
        "smtp: the server does not offer STARTTLS (mail.smtp.starttls is \"required\")")};
  if (offered && settings.starttls != StartTls::never) {
    s.command("STARTTLS", "STARTTLS", 220, 220);
    s.start_tls();
    ehlo = s.command("EHLO " + settings.helo_name, "EHLO", 250, 250);
  }
  used_tls = s.tls();
  if (!settings.username.empty()) {
    if (!s.tls() && !is_loopback(settings.host))
      throw SessionEnd{Attempt::retry_later("smtp: AUTH refused without TLS")};
    try {
      if (offers(ehlo, "AUTH", "PLAIN")) {
        Secret plain{std::string(1, '\0') + settings.username + '\0' + settings.password};
        Secret line{"AUTH PLAIN " + crypto::to_base64(crypto::as_bytes(plain.text))};
        s.command(line.text, "AUTH", 235, 235);
      } else if (offers(ehlo, "AUTH", "LOGIN")) {
        s.command("AUTH LOGIN", "AUTH", 334, 334);
        s.command(crypto::to_base64(crypto::as_bytes(settings.username)), "AUTH", 334, 334);
        Secret pass{crypto::to_base64(crypto::as_bytes(settings.password))};
        s.command(pass.text, "AUTH", 235, 235);
      } else {
        throw SessionEnd{
            Attempt::retry_later("smtp: the server offers neither AUTH PLAIN nor LOGIN")};
      }
    } catch (SessionEnd& e) {
      // A refused login is the operator's to fix; the message stays queued meanwhile.
      if (e.attempt.reason.starts_with("smtp 5"))
        e.attempt.reason += ": check mail.smtp.username and mail.smtp.password_file";
      throw;
    }
  }
  return ehlo;
}

// MAIL, RCPT and DATA in one write, then their three replies in order (RFC 2920): one round
// trip where there were three, with the system calls and wake-ups of each (strace over
// scripts/bench-mail's drain: 22.5 system calls a mail, 15.3 pipelined, 13.4 with replies taken
// from the buffer; a mail cost the node nearly as much CPU as a registration). Every reply is read
// before any is judged, so the session stays in step whichever fails, and the next message
// goes on after RSET as before; a 421 ends the session at once (the server is closing).
void pipelined_envelope(Session& s, const std::string& mail_from, const std::string& rcpt_to) {
  s.write(mail_from + "\r\n" + rcpt_to + "\r\nDATA\r\n", "MAIL");
  const char* steps[] = {"MAIL", "RCPT", "DATA"};
  std::vector<Reply> replies;
  for (const char* step : steps) {
    replies.push_back(s.read_reply(step));
    if (replies.back().code == 421) s.judge(replies.back(), step, 250, 250);
  }
  const bool accepted = replies[0].code == 250 && replies[1].code >= 250 && replies[1].code <= 251;
  // A server bound to refuse DATA without a recipient that opened it anyway: end the empty
  // message, whose reply says nothing more.
  if (!accepted && replies[2].code == 354) {
    s.write(".\r\n", "DATA");
    s.read_reply("end of DATA");
  }
  s.judge(replies[0], "MAIL", 250, 250, true);
  s.judge(replies[1], "RCPT", 250, 251, true);
  s.judge(replies[2], "DATA", 354, 354, true);
}

// What the session's EHLO reply offers that a message uses, read once a session (offers()
// builds a stream a line: it showed in the mail threads' profile when read per message).
struct Extensions {
  bool eight_bit_mime = false;
  bool pipelining = false;
};

Extensions extensions_of(const Reply& ehlo) {
  return {offers(ehlo, "8BITMIME"), offers(ehlo, "PIPELINING")};
}

// One message: MAIL, RCPT, DATA, pipelined when the server offers it. Throws SessionEnd.
void transfer(Session& s, const Extensions& offered, const Mail& mail) {
  std::string mail_from = "MAIL FROM:<" + mail.from + ">";
  if (offered.eight_bit_mime) mail_from += " BODY=8BITMIME";
  const std::string rcpt_to = "RCPT TO:<" + mail.to + ">";
  if (offered.pipelining) {
    pipelined_envelope(s, mail_from, rcpt_to);
  } else {
    s.command(mail_from, "MAIL", 250, 250, true);
    s.command(rcpt_to, "RCPT", 250, 251, true);
    s.command("DATA", "DATA", 354, 354, true);
  }
  auto now = std::chrono::system_clock::now();
  auto unix_time = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  // A resent message (a crash after the server took it, before that was recorded: SMTP
  // cannot be exactly once) keeps its Message-ID, so the receiving side can tell.
  auto id =
      mail.key.empty() ? std::to_string(unix_time) + "-" + crypto::random_token(12) : mail.key;
  s.write(dot_stuffed(format_rfc5322(mail, id + "@" + domain_of(mail.from), unix_time)) + ".\r\n",
          "DATA");
  s.expect("end of DATA", 250, 250, true);
}

void quit(Session& s) {
  try {
    s.command("QUIT", "QUIT", 221, 221);
  } catch (const SessionEnd&) {
    // Delivered already; a server that hangs up without 221 changes nothing.
  }
  s.close();
}

// Many messages over one connection, opened at the first send and again after
// kMessagesPerSession (servers cap messages per connection), a lost connection or a NOOP
// unanswered when the session is resumed after being idle. A message
// the server refuses (a reply, not a lost connection; 421 closes) is followed by RSET and the
// next one goes on in the same session. If opening fails (the server is down, TLS or the
// login fails), the remaining sends return that failure at once instead of connecting again.
class SmtpSession final : public MailSession {
 public:
  static constexpr std::size_t kMessagesPerSession = 100;

  SmtpSession(const SmtpSettings& settings, SmtpTls& tls, std::atomic<bool>& used_tls)
      : settings_(settings), tls_(tls), used_tls_(used_tls) {}
  ~SmtpSession() override { end(); }

  void resume() override {
    failed_to_open_.reset();
    if (!session_) return;
    try {
      session_->command("NOOP", "NOOP", 250, 250);
    } catch (const SessionEnd&) {
      session_->close();  // opened again by the next send
      session_.reset();
    }
  }

  Attempt send(const Mail& mail) override {
    if (failed_to_open_) return *failed_to_open_;
    if (session_ && sent_ >= kMessagesPerSession) end();
    if (!session_) {
      session_ = std::make_unique<Session>(settings_, tls_);
      try {
        offered_ = extensions_of(open_session(*session_, settings_, used_tls_));
        sent_ = 0;
      } catch (SessionEnd& e) {
        session_->close();
        session_.reset();
        failed_to_open_ = e.attempt;
        return std::move(e.attempt);
      }
    }
    try {
      transfer(*session_, offered_, mail);
      ++sent_;
      return Attempt::delivered();
    } catch (SessionEnd& e) {
      if (e.code != 0 && e.code != 421 && reset()) return std::move(e.attempt);
      session_->close();
      session_.reset();
      return std::move(e.attempt);
    }
  }

 private:
  bool reset() {
    try {
      session_->command("RSET", "RSET", 250, 250);
      return true;
    } catch (const SessionEnd&) {
      return false;
    }
  }
  void end() {
    if (!session_) return;
    quit(*session_);
    session_.reset();
  }

  const SmtpSettings& settings_;
  SmtpTls& tls_;
  std::atomic<bool>& used_tls_;
  std::unique_ptr<Session> session_;
  Extensions offered_;
  std::size_t sent_ = 0;
  std::optional<Attempt> failed_to_open_;
};

}  // namespace

SmtpMailer::SmtpMailer(SmtpSettings settings)
    : settings_(std::move(settings)), tls_(std::make_unique<SmtpTls>(settings_)) {}

SmtpMailer::~SmtpMailer() {
  wipe(settings_.password);
}

Attempt SmtpMailer::deliver(const Mail& mail) {
  return session()->send(mail);
}

std::unique_ptr<MailSession> SmtpMailer::session() {
  return std::make_unique<SmtpSession>(settings_, *tls_, last_used_tls_);
}

}  // namespace relay::node::mail
