#include "node/candidates/candidate_store.hpp"

#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "node/candidates/vault.hpp"
#include "node/common/key_encoding.hpp"
#include "node/ledger/ledger.hpp"

namespace relay::node::candidates {

std::string_view to_string(Status s) {
  switch (s) {
    case Status::pending:
      return "pending";
    case Status::active:
      return "active";
    case Status::erased:
      return "erased";
  }
  return "unknown";
}

namespace {
Status status_from(const std::string& s) {
  if (s == "active") return Status::active;
  if (s == "erased") return Status::erased;
  return Status::pending;
}

CandidateRecord from_json(nlohmann::json j) {
  CandidateRecord r;
  r.id = j.at("id");
  r.pseudonym = j.at("pseudonym");
  r.status = status_from(j.at("status"));
  r.created_ms = j.at("created_ms");
  r.verified_ms = j.value("verified_ms", std::int64_t{0});
  r.consent = Consent::from_json(j.at("consent"));
  r.origin = j.value("origin", std::string("local"));
  r.record = std::move(j);
  return r;
}
}  // namespace

Store::Store(storage::Environment& env, const identity::KeyRing& keys, const common::Clock& clock)
    : keys_(keys),
      clock_(clock),
      candidates_(env.database("candidates")),
      pseudonyms_(env.database("candidate_pseudonyms")),
      tokens_(env.database("candidate_tokens")),
      mail_(env.database("mail_queue")) {}

std::string Store::pseudonym_of(const std::string& normalised_email) const {
  auto keys = keys_.current();
  return crypto::to_hex(
      crypto::blake2b_keyed(keys->pseudonym_key, crypto::as_bytes(normalised_email)));
}

CandidateRecord Store::create(storage::WriteTxn& txn, const Registration& registration,
                              const std::string& pseudonym) {
  CandidateRecord r;
  r.id = "c_" + crypto::random_token(12);
  r.pseudonym = pseudonym;
  r.status = Status::pending;
  r.created_ms = clock_.now_ms();
  r.consent = registration.consent;
  auto keys = keys_.current();
  auto key = new_candidate_key();
  r.record = {
      {"id", r.id}, {"tokens", nlohmann::json::array()}, {"spool", nlohmann::json::array()}};
  r.record["key"] = wrap_key(keys->data_key, key, r.id);
  nlohmann::json data = {{"personal", registration.personal.to_json()},
                         {"profile", registration.profile.to_json()}};
  r.record["data"] = seal_json(key, data, r.id, "data");
  save(txn, r);
  txn.put(pseudonyms_, pseudonym, r.id);
  return r;
}

void Store::save(storage::WriteTxn& txn, const CandidateRecord& r) {
  auto j = r.record;
  j["id"] = r.id;
  j["pseudonym"] = r.pseudonym;
  j["status"] = to_string(r.status);
  j["created_ms"] = r.created_ms;
  j["verified_ms"] = r.verified_ms;
  j["consent"] = r.consent.to_json();
  j["origin"] = r.origin;
  txn.put(candidates_, r.id, j.dump());
}

void Store::for_each(const storage::Txn& txn,
                     const std::function<bool(const CandidateRecord&)>& fn) const {
  txn.for_each_prefix(candidates_, "", [&](std::string_view, std::string_view value) {
    return fn(from_json(nlohmann::json::parse(value)));
  });
}

CandidateRecord Store::create_received(storage::WriteTxn& txn, const std::string& origin,
                                       const Opened& data, const std::string& evidence,
                                       const Consent& consent, const nlohmann::json& extra) {
  CandidateRecord r;
  r.id = "c_" + crypto::random_token(12);
  r.pseudonym = pseudonym_of("received/" + r.id);  // stands for nobody: never looked up
  r.status = Status::active;
  r.created_ms = r.verified_ms = clock_.now_ms();
  r.consent = consent;
  r.origin = origin;
  auto keys = keys_.current();
  auto key = new_candidate_key();
  r.record = extra;
  r.record["tokens"] = nlohmann::json::array();
  r.record["spool"] = nlohmann::json::array();
  r.record["key"] = wrap_key(keys->data_key, key, r.id);
  nlohmann::json sealed = {{"personal", data.personal.to_json()},
                           {"profile", data.profile.to_json()}};
  r.record["data"] = seal_json(key, sealed, r.id, "data");
  r.record["evidence"] = seal_json(key, evidence, r.id, "evidence");
  save(txn, r);
  return r;
}

std::optional<std::string> Store::open_evidence(const CandidateRecord& r) const {
  if (r.status == Status::erased || !r.record.contains("key") || !r.record.contains("evidence"))
    return std::nullopt;
  auto keys = keys_.current();
  auto key = unwrap_key(keys->data_key, r.record.at("key"), r.id);
  if (!key) return std::nullopt;
  auto evidence = open_json(*key, r.record.at("evidence"), r.id, "evidence");
  if (!evidence || !evidence->is_string()) return std::nullopt;
  return evidence->get<std::string>();
}

std::optional<CandidateRecord> Store::find(const storage::Txn& txn, const std::string& id) const {
  if (id.empty() || id.size() > 64) return std::nullopt;
  auto v = txn.get(candidates_, id);
  if (!v) return std::nullopt;
  return from_json(nlohmann::json::parse(*v));
}

std::optional<CandidateRecord> Store::find_by_pseudonym(const storage::Txn& txn,
                                                        const std::string& pseudonym) const {
  auto id = txn.get(pseudonyms_, pseudonym);
  if (!id) return std::nullopt;
  return find(txn, *id);
}

std::optional<Opened> Store::open(const CandidateRecord& r) const {
  if (r.status == Status::erased || !r.record.contains("key")) return std::nullopt;
  auto keys = keys_.current();
  auto key = unwrap_key(keys->data_key, r.record.at("key"), r.id);
  if (!key) return std::nullopt;
  auto data = open_json(*key, r.record.at("data"), r.id, "data");
  if (!data) return std::nullopt;
  return Opened{PersonalData::from_json(data->at("personal")),
                Profile::from_json(data->at("profile"))};
}

std::string Store::issue_token(storage::WriteTxn& txn, const std::string& candidate_id,
                               const std::string& kind, const nlohmann::json& extra) {
  auto token = crypto::random_token(24);
  auto keys = keys_.current();
  auto digest = identity::token_digest(keys->token_key, token);
  nlohmann::json info = {{"candidate", candidate_id}, {"kind", kind}, {"extra", extra}};
  txn.put(tokens_, digest, info.dump());
  if (auto r = find(txn, candidate_id)) {
    r->record["tokens"].push_back(digest);
    save(txn, *r);
  }
  return token;
}

std::optional<Store::TokenInfo> Store::lookup_token(const storage::Txn& txn, std::string_view token,
                                                    const std::string& kind) const {
  if (token.size() < 16 || token.size() > 128) return std::nullopt;
  auto keys = keys_.current();
  auto digest = identity::token_digest(keys->token_key, token);
  auto v = txn.get(tokens_, digest);
  if (!v) return std::nullopt;
  auto j = nlohmann::json::parse(*v);
  if (j.at("kind") != kind) return std::nullopt;
  return TokenInfo{digest, j.at("candidate"), j.at("kind"), j.at("extra")};
}

void Store::revoke_token(storage::WriteTxn& txn, const std::string& digest) {
  txn.del(tokens_, digest);
}

void Store::bind_token(storage::WriteTxn& txn, std::string_view token,
                       const std::string& candidate_id, const std::string& kind) {
  auto keys = keys_.current();
  nlohmann::json info = {
      {"candidate", candidate_id}, {"kind", kind}, {"extra", nlohmann::json::object()}};
  txn.put(tokens_, identity::token_digest(keys->token_key, token), info.dump());
}

void Store::queue_mail(storage::WriteTxn& txn, const CandidateRecord& r, const mail::Mail& m) {
  auto keys = keys_.current();
  auto key = unwrap_key(keys->data_key, r.record.at("key"), r.id);
  if (!key) throw std::runtime_error("candidate key cannot be unwrapped");
  nlohmann::json mail = {{"from", m.from}, {"to", m.to}, {"subject", m.subject}, {"body", m.body}};
  // Sequence: current time in microseconds plus a random suffix keeps keys ordered and unique.
  auto seq = common::be64(static_cast<std::uint64_t>(clock_.now_ms())) + crypto::random_token(6);
  nlohmann::json entry = {{"candidate", r.id}, {"mail", seal_json(*key, mail, r.id, "mail")}};
  txn.put(mail_, seq, entry.dump());
}

std::vector<QueuedMail> Store::queued_mail(const storage::Txn& txn, std::size_t limit) const {
  std::vector<QueuedMail> out;
  std::vector<std::pair<std::string, nlohmann::json>> raw;
  txn.for_each_prefix(mail_, "", [&](std::string_view key, std::string_view value) {
    raw.emplace_back(std::string(key), nlohmann::json::parse(value));
    return raw.size() < limit;
  });
  auto keys = keys_.current();
  for (auto& [seq, entry] : raw) {
    std::string candidate_id = entry.at("candidate");
    QueuedMail q{seq, candidate_id, {}};
    auto r = find(txn, candidate_id);
    std::optional<crypto::AeadKey> key;
    if (r && r->record.contains("key"))
      key = unwrap_key(keys->data_key, r->record.at("key"), r->id);
    std::optional<nlohmann::json> mail;
    if (key) mail = open_json(*key, entry.at("mail"), candidate_id, "mail");
    if (mail)
      q.mail = mail::Mail{mail->at("from"), mail->at("to"), mail->at("subject"), mail->at("body")};
    out.push_back(std::move(q));  // an empty q.mail.to means unreadable: drop it
  }
  return out;
}

bool Store::mail_spooled(storage::WriteTxn& txn, const std::string& seq,
                         const std::string& candidate_id, const std::string& spool_id) {
  txn.del(mail_, seq);
  auto r = find(txn, candidate_id);
  if (!r || r->status == Status::erased) return false;
  r->record["spool"].push_back(spool_id);
  save(txn, *r);
  return true;
}

void Store::drop_mail(storage::WriteTxn& txn, const std::string& seq) {
  txn.del(mail_, seq);
}

std::vector<std::string> Store::erase(storage::WriteTxn& txn, CandidateRecord& r) {
  std::vector<std::string> spool;
  for (const auto& s : r.record.value("spool", nlohmann::json::array())) spool.push_back(s);
  for (const auto& digest : r.record.value("tokens", nlohmann::json::array()))
    txn.del(tokens_, digest.get<std::string>());
  std::vector<std::string> queued;
  txn.for_each_prefix(mail_, "", [&](std::string_view key, std::string_view value) {
    if (nlohmann::json::parse(value).at("candidate") == r.id) queued.emplace_back(key);
  });
  for (const auto& k : queued) txn.del(mail_, k);
  if (auto live = txn.get(pseudonyms_, r.pseudonym); live && *live == r.id)
    txn.del(pseudonyms_, r.pseudonym);
  nlohmann::json tombstone = {{"id", r.id}, {"erased_ms", clock_.now_ms()}};
  for (const char* keep : {"handoffs", "disclosures", "erasure"})
    if (r.record.contains(keep)) tombstone[keep] = r.record[keep];
  r.record = std::move(tombstone);
  r.status = Status::erased;
  r.consent = Consent{false, false, false, r.consent.version, clock_.now_ms()};
  save(txn, r);
  return spool;
}

}  // namespace relay::node::candidates
