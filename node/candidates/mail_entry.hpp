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

namespace relay::node::candidates {

struct MailEntry {
  std::string candidate;
  std::uint32_t attempts = 0;    // delivery attempts started
  std::int64_t next_try_ms = 0;  // 0: due at once
  crypto::Bytes sealed;
};

// Throws std::invalid_argument for a candidate id longer than 255 bytes (ids are 14).
std::string encode_mail_entry(const MailEntry& entry);
// nullopt if `stored` is neither form.
std::optional<MailEntry> decode_mail_entry(std::string_view stored);

}  // namespace relay::node::candidates
