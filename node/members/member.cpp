#include "node/members/member.hpp"

#include <chrono>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "node/common/key_encoding.hpp"
#include "node/common/text.hpp"
#include "node/storage/index_marks.hpp"
#include "protocol/canonical_json.hpp"
#include "protocol/canonical_scan.hpp"

namespace relay::node::members {

nlohmann::json Member::to_json() const {
  nlohmann::json j = {{"id", id},
                      {"name", name},
                      {"status", active ? "active" : "suspended"},
                      {"created_ms", created_ms}};
  if (!contact_email.empty()) j["contact_email"] = contact_email;
  return j;
}

std::optional<std::string> normalise_contact_email(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.size() < 5 || text.size() > 254) return std::nullopt;
  const auto at = text.find('@');
  if (at == 0 || at == std::string_view::npos || text.find('@', at + 1) != std::string_view::npos)
    return std::nullopt;
  const auto domain = text.substr(at + 1);
  const auto dot = domain.find('.');
  if (dot == 0 || dot == std::string_view::npos || domain.back() == '.') return std::nullopt;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f ||
        std::string_view("<>,;:\"()[]\\").find(c) != std::string_view::npos)
      return std::nullopt;
  }
  std::string out(text.substr(0, at + 1));
  for (char c : domain) out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

namespace {
// member_names is keyed by the SHA-256 (hex) of the name: a 200-character name is up to 800
// bytes of UTF-8, more than LMDB's 511-byte key limit.
std::string name_key(const std::string& name) {
  return crypto::to_hex(crypto::sha256(crypto::as_bytes(name)));
}

Member from_record(std::string_view text) {
  auto j = protocol::parse_json(text);
  Member m;
  m.id = j.at("id");
  m.name = j.at("name");
  m.active = j.at("active");
  m.created_ms = j.at("created_ms");
  m.link_token = j.at("link_token");
  m.contact_email = j.value("contact_email", "");  // records from before contact emails
  return m;
}
}  // namespace

Registry::Registry(storage::Environment& env, ledger::Ledger& ledger, const identity::KeyRing& keys)
    : ledger_(ledger),
      keys_(keys),
      members_(env.database("members")),
      keys_db_(env.database("member_keys")),
      names_(env.database("member_names")),
      links_(env.database("member_links")),
      by_time_(env.database("members_by_time")),
      index_marks_(env.database(storage::kIndexMarks)) {}

namespace {
std::string time_key(const Member& m) {
  return common::be64(static_cast<std::uint64_t>(m.created_ms)) + m.id;
}
}  // namespace

std::string Registry::stored_key_digest(const storage::Txn& txn, const std::string& id) const {
  auto v = txn.get(members_, id);
  return v ? protocol::parse_json(*v).value("key_digest", "") : std::string();
}

void Registry::store(storage::WriteTxn& txn, const Member& m,
                     std::optional<std::string> key_digest) {
  if (!key_digest) key_digest = stored_key_digest(txn, m.id);
  nlohmann::json j = {{"id", m.id},
                      {"name", m.name},
                      {"active", m.active},
                      {"created_ms", m.created_ms},
                      {"link_token", m.link_token}};
  if (!m.contact_email.empty()) j["contact_email"] = m.contact_email;
  if (!key_digest->empty()) j["key_digest"] = *key_digest;
  txn.put(members_, m.id, protocol::compact_dump(j));
  txn.put(by_time_, time_key(m), "");  // the same key at every change: created_ms never does
}

common::Result<Admitted, AdmitError> Registry::admit(storage::WriteTxn& txn,
                                                     const std::string& raw_name,
                                                     const std::string& contact_email) {
  auto name = common::clean_text(raw_name, 200);
  if (!name) {
    return common::fail(AdmitError::bad_name);
  }
  if (txn.contains(names_, name_key(*name))) {
    return common::fail(AdmitError::duplicate_name);
  }
  Admitted a;
  a.member.id = "m_" + crypto::random_token(9);
  a.member.name = *name;
  a.member.created_ms = ledger_.clock().now_ms();
  a.member.link_token = crypto::random_token(18);
  a.member.contact_email = contact_email;
  std::string digest;
  a.api_key = new_api_key(txn, a.member.id, digest);
  txn.put(names_, name_key(*name), a.member.id);
  txn.put(links_, a.member.link_token, a.member.id);
  store(txn, a.member, digest);
  ledger_.append(txn, protocol::member_admitted(a.member.id, a.member.name));
  return a;
}

std::string Registry::new_api_key(storage::WriteTxn& txn, const std::string& id,
                                  std::string& digest) {
  auto key = "rk_" + crypto::random_token(32);
  auto keys = keys_.current();
  digest = identity::token_digest(keys->token_key, key);
  txn.put(keys_db_, digest, id);
  return key;
}

std::optional<std::string> Registry::replace_api_key(storage::WriteTxn& txn,
                                                     const std::string& id) {
  auto m = find(txn, id);
  if (!m) return std::nullopt;
  if (auto old = stored_key_digest(txn, id); !old.empty()) txn.del(keys_db_, old);
  std::string digest;
  auto key = new_api_key(txn, id, digest);
  store(txn, *m, digest);
  return key;
}

StatusChange Registry::set_active(storage::WriteTxn& txn, const std::string& id, bool active) {
  auto m = find(txn, id);
  if (!m) return StatusChange::not_found;
  if (m->active == active) return StatusChange::unchanged;
  m->active = active;
  store(txn, *m);
  ledger_.append(txn, active ? protocol::member_reinstated(id) : protocol::member_suspended(id));
  return StatusChange::changed;
}

StatusChange Registry::set_contact_email(storage::WriteTxn& txn, const std::string& id,
                                         const std::string& contact_email) {
  auto m = find(txn, id);
  if (!m) return StatusChange::not_found;
  if (m->contact_email == contact_email) return StatusChange::unchanged;
  m->contact_email = contact_email;
  store(txn, *m);
  return StatusChange::changed;
}

std::optional<Member> Registry::find(const storage::Txn& txn, const std::string& id) const {
  if (auto m = shared(txn, id)) return *m;
  return std::nullopt;
}

std::shared_ptr<const Member> Registry::shared(const storage::Txn& txn, std::string_view id) const {
  if (id.empty() || id.size() > 64) return nullptr;
  auto v = txn.view(members_, id);
  if (!v) return nullptr;
  const std::string key(id);
  if (auto cached = parsed_.find(key, *v)) return cached;
  return parsed_.put(key, std::string(*v), from_record(*v));
}

std::vector<Member> Registry::list(const storage::Txn& txn) const {
  std::vector<Member> out;
  txn.for_each_prefix(members_, "", [&](std::string_view, std::string_view value) {
    out.push_back(from_record(std::string(value)));
  });
  return out;
}

std::optional<storage::RecordPage<Member>> Registry::page(const storage::Txn& txn,
                                                          std::size_t limit,
                                                          const std::string& after,
                                                          bool newest_first) const {
  std::string last_key;  // of the member shown last
  if (!after.empty()) {
    auto last = find(txn, after);
    if (!last) return std::nullopt;
    last_key = time_key(*last);
  }
  return storage::timed_records(txn, by_time_, "", last_key, limit, newest_first,
                                [&](const std::string& id) { return find(txn, id); });
}

std::size_t Registry::index_existing(storage::WriteTxn& txn) {
  std::size_t n = 0;
  storage::build_index_once(txn, index_marks_, "members_by_time", [&] {
    const auto members = list(txn);
    for (const auto& m : members) txn.put(by_time_, time_key(m), "");
    n = members.size();
  });
  // Keys issued before members kept their digest: one walk of member_keys (a key per member).
  storage::build_index_once(txn, index_marks_, "member_key_digests", [&] {
    std::vector<std::pair<std::string, std::string>> owned;  // digest, member id
    txn.for_each_prefix(keys_db_, "", [&](std::string_view digest, std::string_view id) {
      owned.emplace_back(digest, id);
    });
    for (const auto& [digest, id] : owned) {
      auto m = find(txn, id);
      if (!m || stored_key_digest(txn, id) == digest) continue;
      store(txn, *m, digest);
      ++n;
    }
  });
  return n;
}

std::shared_ptr<const Member> Registry::authenticate(const storage::Txn& txn,
                                                     std::string_view api_key) const {
  if (api_key.size() < 10 || api_key.size() > 128) return nullptr;
  auto keys = keys_.current();
  auto id = txn.view(keys_db_, identity::token_digest(keys->token_key, api_key));
  if (!id) return nullptr;
  return shared(txn, *id);
}

// The member behind a relay link, read in place: the id is not copied out of the map.
std::optional<Member> Registry::by_link_token(const storage::Txn& txn,
                                              std::string_view token) const {
  if (token.empty() || token.size() > 128) return std::nullopt;
  auto id = txn.view(links_, token);
  if (!id) return std::nullopt;
  if (auto m = shared(txn, *id)) return *m;
  return std::nullopt;
}

}  // namespace relay::node::members
