#pragma once
// Outgoing mail: to candidates (verification and management links) and to members' contact
// addresses (reminders of due outcomes), through the Mailer interface; SpoolMailer, the default,
// writes each message as an RFC 5322 file (UTF-8 body, RFC 2047 encoded subject) into a spool
// directory, atomically and fsync'd, for a local MTA or a person to pick up. SMTP delivery comes
// later.
#include <filesystem>
#include <string>

namespace relay::node::mail {

struct Mail {
  std::string from;
  std::string to;
  std::string subject;  // UTF-8
  std::string body;     // UTF-8 plain text
};

class Mailer {
 public:
  virtual ~Mailer() = default;
  // Returns an identifier of the queued message (the spool file name). Throws
  // std::system_error if it cannot be queued: the caller's transaction must then fail.
  virtual std::string send(const Mail& mail) = 0;
  // Removes a queued message that has not been picked up (erasure); false if gone already.
  virtual bool discard(const std::string& id) = 0;
};

class SpoolMailer final : public Mailer {
 public:
  explicit SpoolMailer(std::filesystem::path dir);
  std::string send(const Mail& mail) override;
  bool discard(const std::string& id) override;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

// The RFC 5322 text of a message (exposed for tests).
std::string format_rfc5322(const Mail& mail, const std::string& message_id, long long unix_time);

}  // namespace relay::node::mail
