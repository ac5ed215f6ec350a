#pragma once
// Outgoing mail: to candidates (verification and management links) and to members' contact
// addresses (reminders of due outcomes), through the Mailer interface; SpoolMailer, the default,
// writes each message as an RFC 5322 file (UTF-8 body, RFC 2047 encoded subject) into a spool
// directory, atomically and fsync'd, for a local MTA or a person to pick up (development mode);
// SmtpMailer (smtp_mailer.hpp) hands each message to an SMTP server. Retrying and giving up are
// the caller's: candidates::MailDispatch keeps the durable queue.
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace relay::node::mail {

struct Mail {
  std::string from;
  std::string to;
  std::string subject;  // UTF-8
  std::string body;     // UTF-8 plain text
  // Stable for one message across attempts (candidate mail: "<candidate id>-<queue entry>"):
  // the spool file's name, so a crash between spooling and recording it leaves no second
  // copy (spooling again replaces the file) and erasure can sweep by candidate; the
  // Message-ID too, so an MTA sees a resent message as the same one. Empty: a fresh name.
  std::string key = {};
};

// The result of one delivery attempt. `reason` is for operators: an SMTP reply code and the
// step that failed, never the server's text (it may echo the recipient) nor the message.
struct Attempt {
  enum class Outcome {
    delivered,    // handed over; `id` names the spool file, if any (for discard)
    retry_later,  // temporary: the server was down, slow or answered 4xx
    rejected,     // permanent: the server answered 5xx for this message
  };
  Outcome outcome = Outcome::delivered;
  std::string id;
  std::string reason;

  static Attempt delivered(std::string id = {}) { return {Outcome::delivered, std::move(id), {}}; }
  static Attempt retry_later(std::string why) { return {Outcome::retry_later, {}, std::move(why)}; }
  static Attempt rejected(std::string why) { return {Outcome::rejected, {}, std::move(why)}; }
};

// Messages handed over one after another through one connection (SMTP: one session for many
// messages, not a connection, EHLO, TLS handshake and login each). Ends with the object.
class MailSession {
 public:
  virtual ~MailSession() = default;
  // As Mailer::deliver, for the next message.
  virtual Attempt send(const Mail& mail) = 0;
  // Before a session kept idle since an earlier pass carries mail again: SMTP checks that the
  // connection still answers (NOOP; a server may close an idle one) and otherwise opens a new
  // one at the next send, and forgets a failure to open, so a new pass tries to connect again.
  virtual void resume() {}
};

class Mailer {
 public:
  virtual ~Mailer() = default;
  // One attempt to hand the message over; expected failures are the Attempt's outcome. Throws
  // std::system_error if the node's own environment fails (the spool cannot be written).
  virtual Attempt deliver(const Mail& mail) = 0;
  // A session for several messages; by default each send() is a deliver().
  virtual std::unique_ptr<MailSession> session();
  // Removes a delivered message that has not been picked up yet (erasure; spool only); false if
  // gone already or never kept.
  virtual bool discard(const std::string& id) = 0;
  // Removes every kept message whose key starts with `prefix` (a candidate's id and "-"),
  // including any a crash left unrecorded; returns how many. Spool only.
  virtual std::size_t sweep(const std::string& prefix) {
    (void)prefix;
    return 0;
  }
};

class SpoolMailer final : public Mailer {
 public:
  explicit SpoolMailer(std::filesystem::path dir);
  Attempt deliver(const Mail& mail) override { return Attempt::delivered(send(mail)); }
  // Writes the message into the spool as "<key>.eml" (replacing a file of that name: the same
  // message spooled again), or under a fresh name without a key; returns the file name.
  // Throws std::system_error.
  std::string send(const Mail& mail);
  // send() for many at once, durable together: every file is written, then one syncfs and
  // one directory fsync instead of an fsync each (what lets the spool keep up with intake).
  // Returns the file names, in order.
  std::vector<std::string> send_all(const std::vector<Mail>& mails);
  bool discard(const std::string& id) override;
  std::size_t sweep(const std::string& prefix) override;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

// The RFC 5322 text of a message (exposed for tests).
std::string format_rfc5322(const Mail& mail, const std::string& message_id, long long unix_time);

}  // namespace relay::node::mail
