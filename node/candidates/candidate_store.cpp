#include "node/candidates/candidate_store.hpp"

#include <algorithm>

#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "node/candidates/vault.hpp"
#include "node/common/key_encoding.hpp"
#include "node/ledger/ledger.hpp"

namespace relay::node::candidates {

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
  r.wrapped_key_ = wrap_key(keys->data_key, key, r.id);
  nlohmann::json data = {{"personal", registration.personal.to_json()},
                         {"profile", registration.profile.to_json()}};
  r.sealed_data_ = seal_json(key, data, r.id, "data");
  save(txn, r);
  txn.put(pseudonyms_, pseudonym, r.id);
  return r;
}

void Store::save(storage::WriteTxn& txn, const CandidateRecord& r) {
  txn.put(candidates_, r.id, to_stored(r).dump());
}

void Store::for_each(const storage::Txn& txn,
                     const std::function<bool(const CandidateRecord&)>& fn) const {
  txn.for_each_prefix(candidates_, "", [&](std::string_view, std::string_view value) {
    return fn(from_stored(nlohmann::json::parse(value)));
  });
}

CandidateRecord Store::create_received(storage::WriteTxn& txn, const std::string& origin,
                                       const Opened& data, const std::string& evidence,
                                       const Consent& consent, const Received& received) {
  CandidateRecord r;
  r.id = "c_" + crypto::random_token(12);
  r.pseudonym = pseudonym_of("received/" + r.id);  // stands for nobody: never looked up
  r.status = Status::active;
  r.created_ms = r.verified_ms = clock_.now_ms();
  r.consent = consent;
  r.origin = origin;
  auto keys = keys_.current();
  auto key = new_candidate_key();
  r.received_ = received;
  r.wrapped_key_ = wrap_key(keys->data_key, key, r.id);
  nlohmann::json sealed = {{"personal", data.personal.to_json()},
                           {"profile", data.profile.to_json()}};
  r.sealed_data_ = seal_json(key, sealed, r.id, "data");
  r.sealed_evidence_ = seal_json(key, evidence, r.id, "evidence");
  save(txn, r);
  return r;
}

std::optional<std::string> Store::open_evidence(const CandidateRecord& r) const {
  if (r.status == Status::erased || r.wrapped_key_.empty() || r.sealed_evidence_.empty())
    return std::nullopt;
  auto keys = keys_.current();
  auto key = unwrap_key(keys->data_key, r.wrapped_key_, r.id);
  if (!key) return std::nullopt;
  auto evidence = open_json(*key, r.sealed_evidence_, r.id, "evidence");
  if (!evidence || !evidence->is_string()) return std::nullopt;
  return evidence->get<std::string>();
}

std::optional<CandidateRecord> Store::find_received(const storage::Txn& txn,
                                                    const std::string& handoff) const {
  std::optional<CandidateRecord> found;
  for_each(txn, [&](const CandidateRecord& r) {
    if (r.received_ && r.received_->handoff == handoff) found = r;
    return !found;
  });
  return found;
}

std::optional<CandidateRecord> Store::find(const storage::Txn& txn, const std::string& id) const {
  if (id.empty() || id.size() > 64) return std::nullopt;
  auto v = txn.get(candidates_, id);
  if (!v) return std::nullopt;
  return from_stored(nlohmann::json::parse(*v));
}

std::optional<CandidateRecord> Store::find_by_pseudonym(const storage::Txn& txn,
                                                        const std::string& pseudonym) const {
  auto id = txn.get(pseudonyms_, pseudonym);
  if (!id) return std::nullopt;
  return find(txn, *id);
}

std::optional<Opened> Store::open(const CandidateRecord& r) const {
  if (r.status == Status::erased || r.wrapped_key_.empty()) return std::nullopt;
  auto keys = keys_.current();
  auto key = unwrap_key(keys->data_key, r.wrapped_key_, r.id);
  if (!key) return std::nullopt;
  auto data = open_json(*key, r.sealed_data_, r.id, "data");
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
    r->tokens_.push_back(digest);
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
                       const std::string& candidate_id, const std::string& kind,
                       const nlohmann::json& extra) {
  auto keys = keys_.current();
  nlohmann::json info = {{"candidate", candidate_id}, {"kind", kind}, {"extra", extra}};
  auto digest = identity::token_digest(keys->token_key, token);
  txn.put(tokens_, digest, info.dump());
  // Listed on a live record, so that erasure removes the binding too.
  if (auto r = find(txn, candidate_id);
      r && r->status != Status::erased &&
      std::find(r->tokens_.begin(), r->tokens_.end(), digest) == r->tokens_.end()) {
    r->tokens_.push_back(digest);
    save(txn, *r);
  }
}

std::string Store::stable_token(const std::string& candidate_id, std::string_view purpose) const {
  auto keys = keys_.current();
  std::string input = "relaynode stable token\n" + candidate_id + "\n" + std::string(purpose);
  auto mac = crypto::blake2b_keyed(keys->token_key, crypto::as_bytes(input));
  return crypto::to_base64url(mac);
}

void Store::update_data(storage::WriteTxn& txn, CandidateRecord& r, const PersonalData& personal,
                        const Profile& profile) {
  auto keys = keys_.current();
  auto key = unwrap_key(keys->data_key, r.wrapped_key_, r.id);
  if (!key) throw std::runtime_error("candidate key cannot be unwrapped");
  nlohmann::json data = {{"personal", personal.to_json()}, {"profile", profile.to_json()}};
  r.sealed_data_ = seal_json(*key, data, r.id, "data");
  save(txn, r);
}

void Store::queue_mail(storage::WriteTxn& txn, const CandidateRecord& r, const mail::Mail& m) {
  auto keys = keys_.current();
  auto key = unwrap_key(keys->data_key, r.wrapped_key_, r.id);
  if (!key) throw std::runtime_error("candidate key cannot be unwrapped");
  nlohmann::json mail = {{"from", m.from}, {"to", m.to}, {"subject", m.subject}, {"body", m.body}};
  // Sequence: current time in microseconds plus a random suffix keeps keys ordered and unique.
  auto seq = common::be64(static_cast<std::uint64_t>(clock_.now_ms())) + crypto::random_token(6);
  nlohmann::json entry = {{"candidate", r.id}, {"mail", seal_json(*key, mail, r.id, "mail")}};
  txn.put(mail_, seq, entry.dump());
}

std::vector<QueuedMail> Store::queued_mail(const storage::Txn& txn, std::size_t limit,
                                           std::optional<std::int64_t> due_at_ms) const {
  std::vector<QueuedMail> out;
  std::vector<std::pair<std::string, nlohmann::json>> raw;
  txn.for_each_prefix(mail_, "", [&](std::string_view key, std::string_view value) {
    auto entry = nlohmann::json::parse(value);
    if (due_at_ms && entry.value("next_try_ms", std::int64_t{0}) > *due_at_ms) return true;
    raw.emplace_back(std::string(key), std::move(entry));
    return raw.size() < limit;
  });
  auto keys = keys_.current();
  for (auto& [seq, entry] : raw) {
    std::string candidate_id = entry.at("candidate");
    QueuedMail q{seq,
                 candidate_id,
                 {},
                 entry.value("attempts", std::uint32_t{0}),
                 static_cast<std::int64_t>(common::from_be64(std::string_view(seq).substr(0, 8)))};
    auto r = find(txn, candidate_id);
    std::optional<crypto::AeadKey> key;
    if (r && !r->wrapped_key_.empty()) key = unwrap_key(keys->data_key, r->wrapped_key_, r->id);
    std::optional<nlohmann::json> mail;
    if (key) mail = open_json(*key, entry.at("mail"), candidate_id, "mail");
    if (mail)
      q.mail = mail::Mail{mail->at("from"), mail->at("to"), mail->at("subject"), mail->at("body")};
    out.push_back(std::move(q));  // an empty q.mail.to means unreadable: drop it
  }
  return out;
}

std::size_t Store::queued_mail_count(const storage::Txn& txn) const {
  return txn.count(mail_);
}

bool Store::mail_spooled(storage::WriteTxn& txn, const std::string& seq,
                         const std::string& candidate_id, const std::string& spool_id) {
  txn.del(mail_, seq);
  auto r = find(txn, candidate_id);
  if (!r || r->status == Status::erased) return false;
  if (spool_id.empty()) return true;  // handed to an SMTP server: nothing left to remove
  r->spool_.push_back(spool_id);
  save(txn, *r);
  return true;
}

bool Store::mail_attempt(storage::WriteTxn& txn, const std::string& seq, std::int64_t next_try_ms) {
  auto value = txn.get(mail_, seq);
  if (!value) return false;
  auto entry = nlohmann::json::parse(*value);
  entry["attempts"] = entry.value("attempts", std::uint32_t{0}) + 1;
  entry["next_try_ms"] = next_try_ms;
  txn.put(mail_, seq, entry.dump());
  return true;
}

bool Store::drop_mail(storage::WriteTxn& txn, const std::string& seq) {
  return txn.del(mail_, seq);
}

std::vector<std::string> Store::erase(storage::WriteTxn& txn, CandidateRecord& r) {
  auto spool = std::move(r.spool_);
  for (const auto& digest : r.tokens_) txn.del(tokens_, digest);
  std::vector<std::string> queued;
  txn.for_each_prefix(mail_, "", [&](std::string_view key, std::string_view value) {
    if (nlohmann::json::parse(value).at("candidate") == r.id) queued.emplace_back(key);
  });
  for (const auto& k : queued) txn.del(mail_, k);
  if (auto live = txn.get(pseudonyms_, r.pseudonym); live && *live == r.id)
    txn.del(pseudonyms_, r.pseudonym);
  // The tombstone keeps who received the data and the erasure requests to them.
  r.wrapped_key_.clear();
  r.sealed_data_.clear();
  r.sealed_evidence_.clear();
  r.tokens_.clear();
  r.spool_.clear();
  r.received_.reset();
  r.erased_ms_ = clock_.now_ms();
  r.status = Status::erased;
  r.consent = Consent{false, false, false, r.consent.version, clock_.now_ms()};
  save(txn, r);
  return spool;
}

}  // namespace relay::node::candidates
