#include "audit/key_document.hpp"

#include "crypto/bytes.hpp"
#include "protocol/canonical_json.hpp"

namespace relay::audit {

namespace {

std::optional<std::string> string_field(const nlohmann::json& object, const char* name,
                                        std::vector<std::string>& problems) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) {
    problems.push_back(std::string(name) + " is missing or not a string");
    return std::nullopt;
  }
  return it->get<std::string>();
}

}  // namespace

KeyDocumentResult parse_key_document(std::string_view text, bool exact_file) {
  KeyDocumentResult result;
  auto& problems = result.problems;
  protocol::JsonParseResult parsed;
  if (exact_file) {
    if (text.empty() || text.back() != '\n') {
      problems.push_back("does not end in a newline");
      return result;
    }
    parsed = protocol::parse_canonical(text.substr(0, text.size() - 1));
  } else {
    parsed = protocol::parse_strict(text);
  }
  if (!parsed) {
    problems.push_back(std::string(exact_file ? "not canonical JSON: " : "not JSON: ") +
                       parsed.error.message);
    return result;
  }
  const auto& o = *parsed.value;
  if (!o.is_object()) {
    problems.push_back("not a JSON object");
    return result;
  }
  for (const auto& [name, value] : o.items()) {
    if (name != "origin" && name != "vkey" && name != "public_key" && name != "fingerprint")
      problems.push_back("unexpected field \"" + name + "\"");
  }
  auto origin = string_field(o, "origin", problems);
  auto vkey_text = string_field(o, "vkey", problems);
  auto public_key_text = string_field(o, "public_key", problems);
  auto fingerprint = string_field(o, "fingerprint", problems);
  if (!origin || !vkey_text || !public_key_text || !fingerprint) return result;

  KeyDocument key;
  key.origin = *origin;
  key.vkey_text = *vkey_text;
  key.fingerprint = *fingerprint;
  auto key_bytes = crypto::from_base64(*public_key_text);
  auto public_key = key_bytes ? crypto::ed25519_public_key_from(*key_bytes) : std::nullopt;
  if (!public_key)
    problems.push_back("public_key is not base64 of a 32-byte Ed25519 key");
  else
    key.public_key = *public_key;
  auto vkey = protocol::parse_vkey(*vkey_text);
  if (!vkey) {
    problems.push_back("vkey is not a valid note verifier key");
  } else {
    key.vkey = *vkey;
    if (vkey->type != protocol::NoteKeyType::ed25519)
      problems.push_back("vkey is not an Ed25519 (type 0x01) key");
    if (vkey->name != *origin)
      problems.push_back("vkey is named \"" + vkey->name + "\", origin is \"" + *origin + "\"");
    if (public_key && !(vkey->public_key == *public_key))
      problems.push_back("vkey and public_key are different keys");
  }
  if (public_key && public_key->fingerprint() != *fingerprint)
    problems.push_back("fingerprint is not the SHA-256 of public_key");
  if (problems.empty()) result.key = std::move(key);
  return result;
}

std::optional<std::string> format_key_document(std::string_view origin,
                                               const crypto::Ed25519PublicKey& public_key) {
  auto vkey = protocol::make_verifier_key(origin, protocol::NoteKeyType::ed25519, public_key);
  if (!vkey) return std::nullopt;
  nlohmann::json document = {{"origin", origin},
                             {"vkey", protocol::make_vkey(*vkey)},
                             {"public_key", crypto::to_base64(public_key.bytes)},
                             {"fingerprint", public_key.fingerprint()}};
  return protocol::canonical_dump(document) + "\n";
}

}  // namespace relay::audit
