#pragma once
// A queued mail's stored form (the mail_queue database, candidate_store.hpp): whose it is, how
// many delivery attempts started, when the next is due, and the mail sealed under the
// candidate's key (vault.hpp).
//
// Stored as bytes, not JSON: the sealed mail is most of the entry, and carrying it as base64
// inside JSON cost more to write and read (the dispatcher reads every entry, erasure scans
// them) than sealing and opening it (issue 19's intake profile).
//   0x01 | u8 length | candidate id | be64 attempts | be64 next_try_ms | sealed bytes
// Entries written before this form are JSON ({"candidate", "mail": base64, "attempts",
// "next_try_ms"}); decode reads both, so a queue left by an older version is still sent.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/bytes.hpp"
#include "node/mail/mailer.hpp"

namespace relay::node::candidates {

struct MailEntry {
  std::string candidate;
  std::uint32_t attempts = 0;    // delivery attempts started
  std::int64_t next_try_ms = 0;  // 0: due at once
  crypto::Bytes sealed;
};

// Throws std::invalid_argument for a candidate id longer than 255 bytes (ids are 25).
std::string encode_mail_entry(const MailEntry& entry);
// nullopt if `stored` is neither form.
std::optional<MailEntry> decode_mail_entry(std::string_view stored);

// The sealed mail's plaintext (from, to, subject, body; not its key):
//   0x02 | for each field: be32 length | bytes
// Parsing the JSON form ({"body", "from", "subject", "to"}) cost the dispatcher more than
// opening the seal (57k instructions a mail, issue 19's intake profile). Mails sealed before
// this form are JSON: decode reads both. The text is personal data: the caller wipes it.
std::string encode_mail_text(const mail::Mail& mail);
// nullopt if `plain` is neither form, or the JSON form lacks a field.
std::optional<mail::Mail> decode_mail_text(std::string_view plain);

}  // namespace relay::node::candidates
