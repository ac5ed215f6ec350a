#include "protocol/ledger_entry.hpp"

#include <cassert>

#include "crypto/bytes.hpp"
#include "crypto/sign.hpp"
#include "protocol/canonical_json.hpp"

namespace relay::protocol {

namespace {
nlohmann::json unsigned_object(int version, std::uint64_t index, std::int64_t time_ms,
                               std::string_view node, std::string_view kind,
                               const nlohmann::json& data, std::string_view key) {
  return nlohmann::json{{"v", version}, {"index", index}, {"time", time_ms}, {"node", node},
                        {"kind", kind}, {"data", data},   {"key", key}};
}

EntryError bad(std::string field, std::string what) {
  return EntryError{"bad_field", field + ": " + what};
}

// A string member's value as canonical_dump writes it, refusing what it refuses.
void append_string(std::string& out, std::string_view name, std::string_view text) {
  if (!is_valid_utf8(text))
    throw std::invalid_argument("ledger entry " + std::string(name) + " is not valid UTF-8");
  append_json_string(out, text);
}

}  // namespace

std::string encode_entry(std::uint64_t index, std::int64_t time_ms, std::string_view node,
                         std::string_view kind, const nlohmann::json& data,
                         const crypto::Ed25519KeyPair& key, int version) {
  if (!data.is_object()) throw std::invalid_argument("ledger entry data must be an object");
  if (version < kOldestLedgerEntryVersion || version > kLedgerEntryVersion)
    throw std::invalid_argument("unsupported ledger entry version");
  // The canonical bytes written out, keys in byte order: data, index, key, kind, node, [sig,]
  // time, v. The signed bytes are the same text without "sig", so data is dumped once; building
  // the object and dumping it twice was a twentieth of a confirmation's instructions
  // (callgrind). tests/protocol/ledger_entry_test.cpp holds it to canonical_dump's bytes.
  std::string entry = "{\"data\":";
  entry += canonical_dump(data);
  entry += ",\"index\":";
  entry += std::to_string(index);
  entry += ",\"key\":";
  append_string(entry, "key", key.public_key.fingerprint());
  entry += ",\"kind\":";
  append_string(entry, "kind", kind);
  entry += ",\"node\":";
  append_string(entry, "node", node);
  const std::string tail =
      ",\"time\":" + std::to_string(time_ms) + ",\"v\":" + std::to_string(version) + "}";
  const std::size_t head = entry.size();
  entry += tail;
  auto sig = crypto::sign(key.secret_key, crypto::as_bytes(entry));
  entry.resize(head);
  entry += ",\"sig\":\"";
  entry += crypto::to_base64(sig);
  entry += '"';
  entry += tail;
  return entry;
}

std::variant<LedgerEntry, EntryError> parse_entry(std::string_view bytes) {
  auto parsed = parse_canonical(bytes);
  if (!parsed) return EntryError{"not_canonical", parsed.error.message};
  // Mutable: the strings and data are moved out rather than copied.
  auto& o = *parsed.value;
  if (!o.is_object()) return bad("entry", "not an object");
  if (o.size() != 8)
    return bad("entry", "must have exactly the fields v,index,time,node,kind,data,key,sig");
  LedgerEntry e;
  auto v = o.find("v");
  if (v == o.end() || !v->is_number_integer() ||
      v->get<std::int64_t>() < kOldestLedgerEntryVersion ||
      v->get<std::int64_t>() > kLedgerEntryVersion)
    return bad("v", "unsupported version");
  e.version = static_cast<int>(v->get<std::int64_t>());
  auto index = o.find("index");
  if (index == o.end() || !index->is_number_unsigned())
    return bad("index", "not an unsigned integer");
  e.index = index->get<std::uint64_t>();
  auto time = o.find("time");
  if (time == o.end() || !time->is_number_integer()) return bad("time", "not an integer");
  e.time_ms = time->get<std::int64_t>();
  for (auto [name, target] : {std::pair{"node", &e.node}, {"kind", &e.kind}, {"key", &e.key}}) {
    auto it = o.find(name);
    if (it == o.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
      return bad(name, "not a non-empty string");
    *target = std::move(it->get_ref<std::string&>());
  }
  auto data = o.find("data");
  if (data == o.end() || !data->is_object()) return bad("data", "not an object");
  e.data = std::move(*data);
  auto sig = o.find("sig");
  if (sig == o.end() || !sig->is_string()) return bad("sig", "not a string");
  auto sig_bytes = crypto::from_base64(sig->get<std::string>());
  auto sig_value = sig_bytes ? crypto::ed25519_signature_from(*sig_bytes) : std::nullopt;
  if (!sig_value)
    return EntryError{"bad_signature_encoding", "sig: not a base64 Ed25519 signature"};
  e.sig = *sig_value;
  return e;
}

std::string signed_bytes(const LedgerEntry& entry) {
  return canonical_dump(unsigned_object(entry.version, entry.index, entry.time_ms, entry.node,
                                        entry.kind, entry.data, entry.key));
}

std::string signed_bytes_of(std::string_view bytes) {
  static constexpr std::string_view kSig = ",\"sig\":\"";
  const auto begin = bytes.rfind(kSig);
  const auto close = begin == bytes.npos ? bytes.npos : bytes.find('"', begin + kSig.size());
  assert(close != bytes.npos);
  std::string out;
  out.reserve(bytes.size());
  out.append(bytes.substr(0, begin)).append(bytes.substr(close + 1));
  return out;
}

bool verify_entry(const LedgerEntry& entry, const crypto::Ed25519PublicKey& public_key) {
  if (entry.key != public_key.fingerprint()) return false;
  return crypto::verify(public_key, crypto::as_bytes(signed_bytes(entry)), entry.sig);
}

}  // namespace relay::protocol
