#include "protocol/envelope.hpp"

#include "crypto/box.hpp"
#include "crypto/bytes.hpp"
#include "crypto/sign.hpp"
#include "protocol/canonical_json.hpp"

namespace relay::protocol {

namespace {

nlohmann::json unsigned_object(const Envelope& e) {
  return {{"v", kEnvelopeVersion}, {"type", e.type}, {"id", e.id},    {"re", e.re},
          {"from", e.from},        {"to", e.to},     {"ts", e.ts_ms}, {"body", e.body},
          {"key", e.key}};
}

EnvelopeError bad(const std::string& field, const std::string& what) {
  return {"bad_field", field + ": " + what};
}

bool valid_name(const std::string& s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (unsigned char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

std::optional<crypto::Ed25519Signature> sig_from(const nlohmann::json& v) {
  if (!v.is_string()) return std::nullopt;
  auto bytes = crypto::from_base64(v.get<std::string>());
  if (!bytes) return std::nullopt;
  return crypto::ed25519_signature_from(*bytes);
}

}  // namespace

std::string encode_envelope(const Envelope& e, const crypto::Ed25519KeyPair& key) {
  Envelope copy = e;
  copy.key = key.public_key.fingerprint();
  auto object = unsigned_object(copy);
  auto sig = crypto::sign(key.secret_key, crypto::as_bytes(canonical_dump(object)));
  object["sig"] = crypto::to_base64(sig);
  return canonical_dump(object);
}

std::variant<Envelope, EnvelopeError> parse_envelope(std::string_view bytes) {
  auto parsed = parse_canonical(bytes);
  if (!parsed) return EnvelopeError{"not_canonical", parsed.error.message};
  const auto& o = *parsed.value;
  if (!o.is_object() || o.size() != 10)
    return bad("envelope", "must be an object with exactly v,type,id,re,from,to,ts,body,key,sig");
  Envelope e;
  auto v = o.find("v");
  if (v == o.end() || !v->is_number_integer() || v->get<std::int64_t>() != kEnvelopeVersion)
    return bad("v", "unsupported version");
  struct Field {
    const char* name;
    std::string* target;
    std::size_t max;
    bool may_be_empty;
  };
  for (auto f : {Field{"type", &e.type, 64, false}, Field{"id", &e.id, 128, false},
                 Field{"re", &e.re, 128, true}, Field{"from", &e.from, 64, false},
                 Field{"to", &e.to, 64, false}, Field{"key", &e.key, 64, false}}) {
    auto it = o.find(f.name);
    if (it == o.end() || !it->is_string()) return bad(f.name, "not a string");
    *f.target = it->get<std::string>();
    if (f.target->empty() && f.may_be_empty) continue;
    if (!valid_name(*f.target, f.max)) return bad(f.name, "empty, too long or not printable ASCII");
  }
  auto ts = o.find("ts");
  if (ts == o.end() || !ts->is_number_integer()) return bad("ts", "not an integer");
  e.ts_ms = ts->get<std::int64_t>();
  auto body = o.find("body");
  if (body == o.end() || !body->is_object()) return bad("body", "not an object");
  e.body = *body;
  auto sig = o.find("sig");
  auto s = sig == o.end() ? std::nullopt : sig_from(*sig);
  if (!s) return bad("sig", "not a base64 Ed25519 signature");
  e.sig = *s;
  return e;
}

bool verify_envelope(const Envelope& e, const crypto::Ed25519PublicKey& public_key) {
  if (e.key != public_key.fingerprint()) return false;
  return crypto::verify(public_key, crypto::as_bytes(canonical_dump(unsigned_object(e))), e.sig);
}

nlohmann::json seal_body(const nlohmann::json& payload, std::string_view from, std::string_view to,
                         std::string_view id, const crypto::Ed25519KeyPair& sender,
                         const crypto::X25519PublicKey& recipient) {
  nlohmann::json inner = {{"from", from}, {"to", to}, {"id", id}, {"payload", payload}};
  auto sig = crypto::sign(sender.secret_key, crypto::as_bytes(canonical_dump(inner)));
  inner["sig"] = crypto::to_base64(sig);
  auto plaintext = canonical_dump(inner);
  auto sealed = crypto::seal(recipient, crypto::as_bytes(plaintext));
  return {{"sealed", crypto::to_base64(sealed)}};
}

namespace {
std::optional<nlohmann::json> checked_evidence(std::string_view evidence,
                                               const crypto::Ed25519PublicKey& sender) {
  auto parsed = parse_canonical(evidence);
  if (!parsed || !parsed.value->is_object() || parsed.value->size() != 5) return std::nullopt;
  auto inner = *parsed.value;
  auto sig = inner.contains("sig") ? sig_from(inner["sig"]) : std::nullopt;
  if (!sig) return std::nullopt;
  inner.erase("sig");
  if (!crypto::verify(sender, crypto::as_bytes(canonical_dump(inner)), *sig)) return std::nullopt;
  return inner;
}
}  // namespace

std::optional<OpenedBody> open_body(const nlohmann::json& body, std::string_view from,
                                    std::string_view to, std::string_view id,
                                    const crypto::X25519KeyPair& recipient,
                                    const crypto::Ed25519PublicKey& sender) {
  if (!body.is_object() || body.size() != 1 || !body.contains("sealed") ||
      !body["sealed"].is_string())
    return std::nullopt;
  auto sealed = crypto::from_base64(body["sealed"].get<std::string>());
  if (!sealed) return std::nullopt;
  auto plain = crypto::seal_open(recipient, *sealed);
  if (!plain) return std::nullopt;
  std::string evidence(plain->begin(), plain->end());
  auto inner = checked_evidence(evidence, sender);
  if (!inner) return std::nullopt;
  if (inner->value("from", "") != from || inner->value("to", "") != to ||
      inner->value("id", "") != id)
    return std::nullopt;
  if (!inner->contains("payload") || !(*inner)["payload"].is_object()) return std::nullopt;
  return OpenedBody{(*inner)["payload"], std::move(evidence)};
}

bool verify_evidence(std::string_view evidence, const crypto::Ed25519PublicKey& sender) {
  return checked_evidence(evidence, sender).has_value();
}

std::string rotation_statement(std::string_view node, const crypto::Ed25519PublicKey& old_key,
                               const crypto::Ed25519PublicKey& new_key,
                               const crypto::X25519PublicKey& new_encryption_key) {
  return canonical_dump({{"statement", "relaynode key rotation"},
                         {"node", node},
                         {"old_key", crypto::to_base64(old_key.bytes)},
                         {"new_key", crypto::to_base64(new_key.bytes)},
                         {"new_encryption_key", crypto::to_base64(new_encryption_key.bytes)}});
}

std::string encode_identity(const IdentityDocument& d, const crypto::Ed25519KeyPair& key) {
  nlohmann::json j = {{"v", 1},
                      {"node", d.node},
                      {"region", d.region},
                      {"url", d.url},
                      {"signing_key", crypto::to_base64(key.public_key.bytes)},
                      {"encryption_key", crypto::to_base64(d.encryption_key.bytes)},
                      {"issued_ms", d.issued_ms},
                      {"rotation", nullptr}};
  if (d.previous_key && d.rotation_signature)
    j["rotation"] = {{"previous_key", crypto::to_base64(d.previous_key->bytes)},
                     {"signature", crypto::to_base64(*d.rotation_signature)}};
  j["sig"] = crypto::to_base64(crypto::sign(key.secret_key, crypto::as_bytes(canonical_dump(j))));
  return canonical_dump(j);
}

std::optional<IdentityDocument> parse_identity(std::string_view bytes) {
  auto parsed = parse_strict(bytes);
  if (!parsed || !parsed.value->is_object() || parsed.value->size() != 9) return std::nullopt;
  auto j = *parsed.value;
  try {
    if (j.at("v") != 1) return std::nullopt;
    IdentityDocument d;
    d.node = j.at("node").get<std::string>();
    d.region = j.at("region").get<std::string>();
    d.url = j.at("url").get<std::string>();
    d.issued_ms = j.at("issued_ms").get<std::int64_t>();
    auto sk = crypto::from_base64(j.at("signing_key").get<std::string>());
    auto ek = crypto::from_base64(j.at("encryption_key").get<std::string>());
    auto spk = sk ? crypto::ed25519_public_key_from(*sk) : std::nullopt;
    auto epk = ek ? crypto::x25519_public_key_from(*ek) : std::nullopt;
    if (!spk || !epk) return std::nullopt;
    d.signing_key = *spk;
    d.encryption_key = *epk;
    auto sig = sig_from(j.at("sig"));
    if (!sig) return std::nullopt;
    j.erase("sig");
    if (!crypto::verify(d.signing_key, crypto::as_bytes(canonical_dump(j)), *sig))
      return std::nullopt;
    const auto& rotation = j.at("rotation");
    if (!rotation.is_null()) {
      auto pk = crypto::from_base64(rotation.at("previous_key").get<std::string>());
      auto prev = pk ? crypto::ed25519_public_key_from(*pk) : std::nullopt;
      auto rsig = sig_from(rotation.at("signature"));
      if (!prev || !rsig) return std::nullopt;
      auto statement = rotation_statement(d.node, *prev, d.signing_key, d.encryption_key);
      if (!crypto::verify(*prev, crypto::as_bytes(statement), *rsig)) return std::nullopt;
      d.previous_key = prev;
      d.rotation_signature = rsig;
    }
    return d;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace relay::protocol
