#include "protocol/checkpoint.hpp"

#include <algorithm>
#include <stdexcept>

#include "crypto/bytes.hpp"

namespace relay::protocol {

namespace {

// A line that fits in a note: non-empty, and valid note text once "\n" is appended (so no
// control character at all, and valid UTF-8).
bool is_valid_line(std::string_view line) {
  if (line.empty()) return false;
  std::string with_newline(line);
  with_newline += '\n';
  return is_valid_note_text(with_newline) && line.find('\n') == std::string_view::npos;
}

std::optional<std::uint64_t> parse_decimal(std::string_view digits) {
  if (digits.empty() || digits.size() > 20) return std::nullopt;
  if (digits.size() > 1 && digits.front() == '0') return std::nullopt;  // no leading zeros
  std::uint64_t value = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

CheckpointParseResult parse_failure(std::string error) {
  CheckpointParseResult result;
  result.error = std::move(error);
  return result;
}

CheckpointOpenResult open_failure(std::string error) {
  CheckpointOpenResult result;
  result.error = std::move(error);
  return result;
}

}  // namespace

std::string format_checkpoint(const Checkpoint& checkpoint) {
  if (!is_valid_line(checkpoint.origin)) {
    throw std::invalid_argument("format_checkpoint: origin must be a non-empty single line");
  }
  std::string text = checkpoint.origin;
  text += '\n';
  text += std::to_string(checkpoint.size);
  text += '\n';
  text += crypto::to_base64(checkpoint.root);
  text += '\n';
  for (const auto& extension : checkpoint.extensions) {
    if (!is_valid_line(extension)) {
      throw std::invalid_argument("format_checkpoint: extension lines must be non-empty lines");
    }
    text += extension;
    text += '\n';
  }
  return text;
}

CheckpointParseResult parse_checkpoint(std::string_view text) {
  if (!is_valid_note_text(text)) {
    return parse_failure("checkpoint text must be UTF-8 lines without control characters");
  }
  std::vector<std::string_view> lines;
  for (std::string_view rest = text; !rest.empty();) {
    const auto end = rest.find('\n');  // always found: text ends in "\n"
    lines.push_back(rest.substr(0, end));
    rest.remove_prefix(end + 1);
  }
  if (lines.size() < 3) return parse_failure("checkpoint has fewer than three lines");
  Checkpoint checkpoint;
  if (lines[0].empty()) return parse_failure("checkpoint origin is empty");
  checkpoint.origin = std::string(lines[0]);
  const auto size = parse_decimal(lines[1]);
  if (!size) return parse_failure("checkpoint size is not a canonical decimal uint64");
  checkpoint.size = *size;
  const auto root = crypto::from_base64(lines[2]);
  if (!root || root->size() != checkpoint.root.size()) {
    return parse_failure("checkpoint root is not base64 of 32 bytes");
  }
  std::copy(root->begin(), root->end(), checkpoint.root.begin());
  for (std::size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return parse_failure("checkpoint has an empty extension line");
    checkpoint.extensions.emplace_back(lines[i]);
  }
  CheckpointParseResult result;
  result.checkpoint = std::move(checkpoint);
  return result;
}

std::optional<std::string> sign_checkpoint(const Checkpoint& checkpoint, std::string_view name,
                                           const crypto::Ed25519SecretKey& secret_key,
                                           std::uint32_t key_id) {
  return sign_note(format_checkpoint(checkpoint), name, secret_key, key_id);
}

CheckpointOpenResult open_checkpoint(std::string_view note, std::string_view expected_origin,
                                     const NoteVerifierKey& log_key,
                                     std::span<const NoteVerifierKey> witnesses) {
  if (log_key.type != NoteKeyType::ed25519) {
    return open_failure("the log key must be an Ed25519 note key (type 0x01)");
  }
  std::vector<NoteVerifierKey> keys;
  keys.reserve(witnesses.size() + 1);
  keys.push_back(log_key);
  keys.insert(keys.end(), witnesses.begin(), witnesses.end());

  NoteVerifyResult verified = verify_note(note, keys);
  if (!verified) {
    return open_failure("checkpoint note: " + std::string(to_string(verified.error)) + ": " +
                        verified.message);
  }
  auto by_log = std::find_if(verified.verified.begin(), verified.verified.end(),
                             [&](const VerifiedSignature& v) {
                               return v.name == log_key.name && v.key_id == log_key.key_id;
                             });
  if (by_log == verified.verified.end()) {
    return open_failure("checkpoint is not signed by the log key " + log_key.name);
  }
  std::rotate(verified.verified.begin(), by_log, by_log + 1);  // log key first

  CheckpointParseResult parsed = parse_checkpoint(verified.note->text);
  if (!parsed) return open_failure(parsed.error);
  if (parsed.checkpoint->origin != expected_origin) {
    return open_failure("checkpoint origin does not match the expected origin");
  }
  CheckpointOpenResult result;
  result.opened = OpenedCheckpoint{std::move(*parsed.checkpoint), std::move(*verified.note),
                                   std::move(verified.verified)};
  return result;
}

}  // namespace relay::protocol
