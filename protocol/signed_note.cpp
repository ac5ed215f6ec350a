#include "protocol/signed_note.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "crypto/hash.hpp"
#include "crypto/sign.hpp"
#include "protocol/canonical_json.hpp"  // find_invalid_utf8

namespace relay::protocol {

namespace {

constexpr std::string_view kSignaturePrefix = "\xE2\x80\x94 ";  // U+2014 EM DASH, space
constexpr std::size_t kKeyIdBytes = 4;
constexpr std::size_t kEd25519SignatureBytes = 64;
constexpr std::size_t kCosignatureBytes = 8 + kEd25519SignatureBytes;
constexpr std::uint64_t kMaxTimestamp = std::numeric_limits<std::int64_t>::max();

// Decodes the code point starting at text[i] (text is known to be well-formed UTF-8) and
// advances i past it.
char32_t next_code_point(std::string_view text, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char lead = byte(0);
  char32_t cp = 0;
  std::size_t length = 1;
  if (lead < 0x80) {
    cp = lead;
  } else if (lead < 0xe0) {
    cp = lead & 0x1fu;
    length = 2;
  } else if (lead < 0xf0) {
    cp = lead & 0x0fu;
    length = 3;
  } else {
    cp = lead & 0x07u;
    length = 4;
  }
  for (std::size_t k = 1; k < length; ++k) cp = (cp << 6) | (byte(k) & 0x3fu);
  i += length;
  return cp;
}

// Unicode White_Space (what Go's unicode.IsSpace, used by the reference implementation,
// tests for).
bool is_unicode_space(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
         cp == 0x205f || cp == 0x3000;
}

std::array<std::uint8_t, 4> key_id_bytes(std::uint32_t key_id) {
  return {static_cast<std::uint8_t>(key_id >> 24), static_cast<std::uint8_t>(key_id >> 16),
          static_cast<std::uint8_t>(key_id >> 8), static_cast<std::uint8_t>(key_id)};
}

std::uint32_t read_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

std::uint64_t read_u64(const std::uint8_t* p) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | p[i];
  return value;
}

NoteParseResult parse_failure(NoteError error, std::string message) {
  NoteParseResult result;
  result.error = error;
  result.message = std::move(message);
  return result;
}

NoteVerifyResult verify_failure(NoteError error, std::string message) {
  NoteVerifyResult result;
  result.error = error;
  result.message = std::move(message);
  return result;
}

// Valid UTF-8 and no C0 control character other than "\n" (the note-wide rule).
bool is_note_charset(std::string_view text) {
  if (find_invalid_utf8(text)) return false;
  return std::none_of(text.begin(), text.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 && c != '\n'; });
}

bool verify_ed25519(const crypto::Ed25519PublicKey& key, std::string_view message,
                    std::span<const std::uint8_t> signature) {
  const auto sig = crypto::ed25519_signature_from(signature);
  return sig && crypto::verify(key, crypto::as_bytes(message), *sig);
}

}  // namespace

std::string_view to_string(NoteError error) {
  switch (error) {
    case NoteError::malformed:
      return "malformed";
    case NoteError::too_many_signatures:
      return "too_many_signatures";
    case NoteError::bad_signature:
      return "bad_signature";
    case NoteError::no_known_signature:
      return "no_known_signature";
  }
  return "unknown";
}

bool is_valid_key_name(std::string_view name) {
  if (name.empty() || find_invalid_utf8(name)) return false;
  for (std::size_t i = 0; i < name.size();) {
    const char32_t cp = next_code_point(name, i);
    if (cp < 0x20 || cp == U'+' || is_unicode_space(cp)) return false;
  }
  return true;
}

bool is_valid_note_text(std::string_view text) {
  return !text.empty() && text.back() == '\n' && is_note_charset(text);
}

std::uint32_t note_key_id(std::string_view name, NoteKeyType type,
                          const crypto::Ed25519PublicKey& public_key) {
  const std::uint8_t separator_and_type[2] = {'\n', static_cast<std::uint8_t>(type)};
  crypto::Sha256 hasher;
  hasher.update(crypto::as_bytes(name)).update(separator_and_type).update(public_key.bytes);
  const auto digest = hasher.finish();
  return read_u32(digest.data());
}

std::optional<NoteVerifierKey> make_verifier_key(std::string_view name, NoteKeyType type,
                                                 const crypto::Ed25519PublicKey& public_key) {
  if (!is_valid_key_name(name)) return std::nullopt;
  return NoteVerifierKey{std::string(name), type, public_key, note_key_id(name, type, public_key)};
}

std::string make_vkey(const NoteVerifierKey& key) {
  crypto::Bytes material;
  material.reserve(33);
  material.push_back(static_cast<std::uint8_t>(key.type));
  material.insert(material.end(), key.public_key.bytes.begin(), key.public_key.bytes.end());
  return key.name + "+" + crypto::to_hex(key_id_bytes(key.key_id)) + "+" +
         crypto::to_base64(material);
}

std::optional<NoteVerifierKey> parse_vkey(std::string_view vkey) {
  // The name and the hex key ID contain no "+"; the base64 may.
  const auto first_plus = vkey.find('+');
  if (first_plus == std::string_view::npos) return std::nullopt;
  const std::string_view name = vkey.substr(0, first_plus);
  const std::string_view rest = vkey.substr(first_plus + 1);
  const auto second_plus = rest.find('+');
  if (second_plus == std::string_view::npos) return std::nullopt;
  const std::string_view hex = rest.substr(0, second_plus);
  const std::string_view material64 = rest.substr(second_plus + 1);

  if (!is_valid_key_name(name)) return std::nullopt;
  if (hex.size() != 8 || !std::all_of(hex.begin(), hex.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      })) {
    return std::nullopt;
  }
  const auto id_bytes = crypto::from_hex(hex);
  const auto material = crypto::from_base64(material64);
  if (!id_bytes || id_bytes->size() != kKeyIdBytes || !material || material->size() != 33) {
    return std::nullopt;
  }
  const std::uint8_t type_byte = (*material)[0];
  if (type_byte != static_cast<std::uint8_t>(NoteKeyType::ed25519) &&
      type_byte != static_cast<std::uint8_t>(NoteKeyType::cosignature_v1)) {
    return std::nullopt;
  }
  const auto public_key = crypto::ed25519_public_key_from(crypto::ByteView(*material).subspan(1));
  if (!public_key) return std::nullopt;
  auto key = make_verifier_key(name, static_cast<NoteKeyType>(type_byte), *public_key);
  if (!key || key->key_id != read_u32(id_bytes->data())) return std::nullopt;
  return key;
}

NoteParseResult parse_note(std::string_view note) {
  if (find_invalid_utf8(note)) return parse_failure(NoteError::malformed, "note is not UTF-8");
  if (!is_note_charset(note)) {
    return parse_failure(NoteError::malformed, "note contains a control character");
  }
  // The text ends at the last blank line; the signature block after it is non-empty and
  // newline-terminated.
  const auto split = note.rfind("\n\n");
  if (split == std::string_view::npos) {
    return parse_failure(NoteError::malformed, "note has no blank line before its signatures");
  }
  Note parsed;
  parsed.text = std::string(note.substr(0, split + 1));
  std::string_view block = note.substr(split + 2);
  if (block.empty() || block.back() != '\n') {
    return parse_failure(NoteError::malformed, "note has no newline-terminated signature lines");
  }
  while (!block.empty()) {
    const auto end = block.find('\n');
    std::string_view line = block.substr(0, end);
    block.remove_prefix(end + 1);
    if (parsed.signatures.size() == kMaxNoteSignatures) {
      return parse_failure(
          NoteError::too_many_signatures,
          "note has more than " + std::to_string(kMaxNoteSignatures) + " signatures");
    }
    if (!line.starts_with(kSignaturePrefix)) {
      return parse_failure(NoteError::malformed, "signature line does not start with \"— \"");
    }
    line.remove_prefix(kSignaturePrefix.size());
    const auto space = line.find(' ');
    if (space == std::string_view::npos) {
      return parse_failure(NoteError::malformed, "signature line has no signature");
    }
    const std::string_view name = line.substr(0, space);
    const auto raw = crypto::from_base64(line.substr(space + 1));
    if (!is_valid_key_name(name)) {
      return parse_failure(NoteError::malformed, "signature line has an invalid key name");
    }
    if (!raw || raw->size() < kKeyIdBytes + 1) {
      return parse_failure(NoteError::malformed, "signature line has an invalid signature");
    }
    parsed.signatures.push_back(NoteSignature{
        std::string(name), read_u32(raw->data()),
        crypto::Bytes(raw->begin() + static_cast<std::ptrdiff_t>(kKeyIdBytes), raw->end())});
  }
  NoteParseResult result;
  result.note = std::move(parsed);
  return result;
}

std::string format_signature_line(const NoteSignature& signature) {
  crypto::Bytes raw;
  raw.reserve(kKeyIdBytes + signature.signature.size());
  const auto id = key_id_bytes(signature.key_id);
  raw.insert(raw.end(), id.begin(), id.end());
  raw.insert(raw.end(), signature.signature.begin(), signature.signature.end());
  std::string line(kSignaturePrefix);
  line += signature.name;
  line += ' ';
  line += crypto::to_base64(raw);
  line += '\n';
  return line;
}

std::string format_note(const Note& note) {
  std::string out = note.text;
  out += '\n';
  for (const auto& signature : note.signatures) out += format_signature_line(signature);
  return out;
}

std::optional<NoteSignature> sign_note_text(std::string_view text, std::string_view name,
                                            const crypto::Ed25519SecretKey& secret_key,
                                            std::uint32_t key_id) {
  if (!is_valid_note_text(text) || !is_valid_key_name(name)) return std::nullopt;
  const auto sig = crypto::sign(secret_key, crypto::as_bytes(text));
  return NoteSignature{std::string(name), key_id, crypto::Bytes(sig.begin(), sig.end())};
}

std::optional<std::string> sign_note(std::string_view text, std::string_view name,
                                     const crypto::Ed25519SecretKey& secret_key,
                                     std::uint32_t key_id) {
  auto signature = sign_note_text(text, name, secret_key, key_id);
  if (!signature) return std::nullopt;
  return format_note(Note{std::string(text), {std::move(*signature)}});
}

std::string cosignature_message(std::string_view checkpoint_text, std::uint64_t timestamp) {
  std::string message = "cosignature/v1\ntime ";
  message += std::to_string(timestamp);
  message += '\n';
  message += checkpoint_text;
  return message;
}

std::optional<NoteSignature> cosign(std::string_view checkpoint_text, std::string_view witness_name,
                                    const crypto::Ed25519SecretKey& secret_key,
                                    std::uint32_t key_id, std::uint64_t timestamp) {
  if (!is_valid_note_text(checkpoint_text) || !is_valid_key_name(witness_name) ||
      timestamp > kMaxTimestamp) {
    return std::nullopt;
  }
  const std::string message = cosignature_message(checkpoint_text, timestamp);
  const auto sig = crypto::sign(secret_key, crypto::as_bytes(message));
  NoteSignature out{std::string(witness_name), key_id, {}};
  out.signature.reserve(kCosignatureBytes);
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.signature.push_back(static_cast<std::uint8_t>(timestamp >> shift));
  }
  out.signature.insert(out.signature.end(), sig.begin(), sig.end());
  return out;
}

std::optional<std::uint64_t> verify_cosignature(std::string_view checkpoint_text,
                                                const NoteSignature& signature,
                                                const NoteVerifierKey& witness) {
  if (witness.type != NoteKeyType::cosignature_v1 || signature.name != witness.name ||
      signature.key_id != witness.key_id || signature.signature.size() != kCosignatureBytes) {
    return std::nullopt;
  }
  const std::uint64_t timestamp = read_u64(signature.signature.data());
  if (timestamp > kMaxTimestamp) return std::nullopt;
  const std::string message = cosignature_message(checkpoint_text, timestamp);
  if (!verify_ed25519(witness.public_key, message,
                      crypto::ByteView(signature.signature).subspan(8))) {
    return std::nullopt;
  }
  return timestamp;
}

NoteVerifyResult verify_note(std::string_view note, std::span<const NoteVerifierKey> known_keys) {
  NoteParseResult parsed = parse_note(note);
  if (!parsed) return verify_failure(parsed.error, parsed.message);
  const Note& body = *parsed.note;

  std::vector<VerifiedSignature> verified;
  for (const auto& signature : body.signatures) {
    // A key is known only if both name and key ID match; anything else is ignored.
    const auto key = std::find_if(known_keys.begin(), known_keys.end(), [&](const auto& k) {
      return k.name == signature.name && k.key_id == signature.key_id;
    });
    if (key == known_keys.end()) continue;

    std::optional<std::uint64_t> timestamp;
    bool ok = false;
    if (key->type == NoteKeyType::ed25519) {
      ok = verify_ed25519(key->public_key, body.text, signature.signature);
    } else {
      timestamp = verify_cosignature(body.text, signature, *key);
      ok = timestamp.has_value();
    }
    if (!ok) {
      return verify_failure(NoteError::bad_signature,
                            "signature by known key " + signature.name + " does not verify");
    }
    // Every line from a known key is checked; each key is reported once.
    const bool seen = std::any_of(verified.begin(), verified.end(), [&](const auto& v) {
      return v.name == key->name && v.key_id == key->key_id;
    });
    if (!seen) verified.push_back(VerifiedSignature{key->name, key->key_id, key->type, timestamp});
  }
  if (verified.empty()) {
    return verify_failure(NoteError::no_known_signature, "note has no signature by a known key");
  }
  NoteVerifyResult result;
  result.note = std::move(*parsed.note);
  result.verified = std::move(verified);
  return result;
}

}  // namespace relay::protocol
