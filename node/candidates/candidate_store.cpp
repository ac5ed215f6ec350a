#include "node/candidates/candidate_store.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "crypto/secret.hpp"
#include "node/candidates/mail_entry.hpp"
#include "node/candidates/vault.hpp"
#include "node/common/key_encoding.hpp"
#include "node/common/public_links.hpp"
#include "node/ledger/ledger.hpp"
#include "node/storage/index_marks.hpp"
#include "protocol/canonical_json.hpp"
#include "protocol/canonical_scan.hpp"
#include "protocol/json_writer.hpp"

namespace relay::node::candidates {

Store::Store(storage::Environment& env, const identity::KeyRing& keys, const common::Clock& clock)
    : Store(env, keys, clock, env.path().parent_path() / "candidate_keys") {}

Store::Store(storage::Environment& env, const identity::KeyRing& keys, const common::Clock& clock,
             const std::filesystem::path& key_file)
    : keys_(keys),
      clock_(clock),
      slots_env_(env),
      slots_(key_file, env),
      candidates_(env.database("candidates")),
      pseudonyms_(env.database(kPseudonyms)),
      tokens_(env.database("candidate_tokens")),
      queue_(env),
      awaiting_receipt_(env.database("candidates_awaiting_receipt")),
      pending_(env.database("candidates_pending")),
      spool_(env.database("candidate_spool")),
      index_marks_(env.database(storage::kIndexMarks)) {}

std::string Store::pseudonym_of(const std::string& normalised_email) const {
  auto keys = keys_.current();
  return crypto::to_hex_public(
      crypto::blake2b_keyed(keys->pseudonym_key, crypto::as_bytes(normalised_email)));
}

namespace {

// A record's sealed data, written as text (sealed_data_text), not through a JSON tree.
std::string seal_data(const crypto::AeadKey& key, const PersonalData& personal,
                      const Profile& profile, const std::string& candidate_id) {
  return seal_text(key, sealed_data_text(personal, profile), candidate_id, "data");
}

// candidate_spool's key: the id, then 0x00 (no id contains it), then the spool file id.
std::string spool_key(std::string_view candidate_id, std::string_view spool_id) {
  std::string key;
  key.reserve(candidate_id.size() + 1 + spool_id.size());
  key.append(candidate_id).push_back('\0');
  key.append(spool_id);
  return key;
}

// "c_", the creation time (11 hex digits of ms), then 72 random bits. New records land at the
// end of the candidates database, not on a random page: a commit of a burst of registrations
// writes a few pages of it, not one per record (about a quarter of the bytes a registration
// made the node write). Candidate ids stay on this node; referral ids, which the ledger
// shows, stay random.
std::string new_candidate_id(std::int64_t now_ms) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "c_";
  for (int shift = 40; shift >= 0; shift -= 4)
    id += kHex[(static_cast<std::uint64_t>(now_ms) >> shift) & 0xf];
  return id + crypto::random_token(9);
}

// The creation time new_candidate_id put in id, or nullopt for an id made before ids carried
// it ("c_" and 16 random characters).
std::optional<std::int64_t> created_ms_of(std::string_view id) {
  if (id.size() != 25 || !id.starts_with("c_")) return std::nullopt;
  std::int64_t ms = 0;
  for (char c : id.substr(2, 11)) {
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return std::nullopt;
    ms = ms * 16 + digit;
  }
  return ms;
}

}  // namespace

CandidateRecord Store::create(storage::WriteTxn& txn, const Registration& registration,
                              const std::string& pseudonym) {
  auto r = create_unsaved(txn, registration, pseudonym);
  save(txn, r);
  return r;
}

CandidateRecord Store::create_unsaved(storage::WriteTxn& txn, const Registration& registration,
                                      const std::string& pseudonym) {
  CandidateRecord r;
  // One reading of the clock: the id's time is the record's created_ms (pending() relies on
  // it).
  const auto now = clock_.now_ms();
  r.id = new_candidate_id(now);
  r.pseudonym = pseudonym;
  r.status = Status::pending;
  r.created_ms = now;
  r.consent = registration.consent;
  auto slot = slots_.allocate(txn, r.id);
  r.key_slot_ = slot.index;
  const auto& key = slot.key;
  r.sealed_data_ = seal_data(key, registration.personal, registration.profile, r.id);
  txn.put(pseudonyms_, pseudonym, r.id);
  return r;
}

namespace {
bool awaits_receipt(const CandidateRecord& r) {
  return std::any_of(r.erasure_requests().begin(), r.erasure_requests().end(),
                     [](const auto& q) { return q.confirmed_ms == 0 && !q.overdue; });
}
}  // namespace

void Store::save(storage::WriteTxn& txn, const CandidateRecord& r, const Profile* opened) {
  auto stored = stored_text(r);
  txn.put(candidates_, r.id, stored);
  parsed_.put(r.id, std::move(stored), r);
  if (awaits_receipt(r))
    txn.put(awaiting_receipt_, r.id, "");
  else
    txn.del(awaiting_receipt_, r.id);
  if (r.status == Status::pending)
    txn.put(pending_, r.id, "");
  else
    txn.del(pending_, r.id);
  if (saved_) saved_(r, opened);
}

std::vector<CandidateRecord> Store::pending(const storage::Txn& txn,
                                            std::int64_t created_before_ms) const {
  std::vector<CandidateRecord> out;
  txn.for_each_prefix(pending_, "", [&](std::string_view id, std::string_view) {
    if (auto created = created_ms_of(id); created && *created >= created_before_ms) return;
    if (auto r = find(txn, std::string(id))) out.push_back(std::move(*r));
  });
  return out;
}

std::vector<CandidateRecord> Store::awaiting_receipt(const storage::Txn& txn) const {
  std::vector<CandidateRecord> out;
  txn.for_each_prefix(awaiting_receipt_, "", [&](std::string_view id, std::string_view) {
    if (auto r = find(txn, std::string(id))) out.push_back(std::move(*r));
  });
  return out;
}

std::size_t Store::index_existing(storage::WriteTxn& txn) {
  std::size_t n = 0;
  auto build = [&](std::string_view index, storage::Database db,
                   bool (*belongs)(const CandidateRecord&)) {
    storage::build_index_once(txn, index_marks_, index, [&] {
      std::vector<std::string> ids;
      for_each(txn, [&](const CandidateRecord& r) {
        if (belongs(r)) ids.push_back(r.id);
        return true;
      });
      for (const auto& id : ids) txn.put(db, id, "");
      n += ids.size();
    });
  };
  build("candidates_awaiting_receipt", awaiting_receipt_, awaits_receipt);
  build("candidates_pending", pending_,
        [](const CandidateRecord& r) { return r.status == Status::pending; });
  return n + queue_.index_existing(txn, index_marks_);
}

std::size_t Store::count(const storage::Txn& txn) const {
  return txn.count(candidates_);
}

void Store::for_each(const storage::Txn& txn, const std::function<bool(const CandidateRecord&)>& fn,
                     std::string_view from) const {
  txn.for_each_range(candidates_, from, {}, [&](std::string_view, std::string_view value) {
    return fn(from_stored(protocol::parse_json(value)));
  });
}

CandidateRecord Store::create_received(storage::WriteTxn& txn, const std::string& origin,
                                       const Opened& data, const std::string& evidence,
                                       const Consent& consent, const Received& received) {
  CandidateRecord r;
  const auto now = clock_.now_ms();  // the id's time is created_ms, as in create_unsaved
  r.id = new_candidate_id(now);
  r.pseudonym = pseudonym_of("received/" + r.id);  // stands for nobody: never looked up
  r.status = Status::active;
  r.created_ms = r.verified_ms = now;
  r.consent = consent;
  r.origin = origin;
  auto slot = slots_.allocate(txn, r.id);
  const auto& key = slot.key;
  r.received_ = received;
  r.key_slot_ = slot.index;
  r.sealed_data_ = seal_data(key, data.personal, data.profile, r.id);
  r.sealed_evidence_ = seal_json(key, evidence, r.id, "evidence");
  save(txn, r);
  return r;
}

std::optional<std::string> Store::open_evidence(const CandidateRecord& r) const {
  if (r.sealed_evidence_.empty()) return std::nullopt;
  auto key = key_of(r);
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
  if (auto cached = parsed_.get(id, *v)) return cached;
  auto r = from_stored(protocol::parse_json(*v));
  parsed_.put(id, std::move(*v), r);
  return r;
}

std::optional<CandidateRecord> Store::find_by_pseudonym(const storage::Txn& txn,
                                                        const std::string& pseudonym) const {
  auto id = txn.get(pseudonyms_, pseudonym);
  if (!id) return std::nullopt;
  return find(txn, *id);
}

std::optional<Opened> Store::open(const CandidateRecord& r) const {
  auto key = key_of(r);
  if (!key) return std::nullopt;
  return open_with(*key, r);
}

std::optional<Opened> Store::open_with(const crypto::AeadKey& key, const CandidateRecord& r) {
  auto data = open_json(key, r.sealed_data_, r.id, "data");
  if (!data) return std::nullopt;
  return Opened{PersonalData::from_json(data->at("personal")),
                Profile::from_json(data->at("profile"))};
}

std::optional<Opened> Store::open_and_mail(
    storage::WriteTxn& txn, const CandidateRecord& r,
    const std::function<std::optional<mail::Mail>(const Opened&)>& compose) {
  auto key = key_of(r);
  if (!key) return std::nullopt;
  auto opened = open_with(*key, r);
  if (!opened) return std::nullopt;
  if (auto m = compose(*opened)) queue_with(txn, *key, r, *m);
  return opened;
}

std::optional<Opened> Store::mail_management_link(
    storage::WriteTxn& txn, const CandidateRecord& r, const std::string& public_url,
    const std::string& from, const std::function<MailText(Lang, const std::string&)>& text) {
  auto made = text(lang_named(r.lang), public_url + common::management_path(management_link(r)));
  return open_and_mail(txn, r, [&](const Opened& opened) {
    return std::optional(mail::Mail{from, opened.personal.email, made.subject, made.body});
  });
}

std::string Store::put_token(storage::WriteTxn& txn, std::string_view token,
                             const std::string& candidate_id, const std::string& kind,
                             const nlohmann::json& extra) {
  auto keys = keys_.current();
  auto digest = identity::token_digest(keys->token_key, token);
  // The bytes compact_dump gives the tree {candidate, kind, extra} (keys in byte order),
  // written without building it: a registration and a confirmation put two tokens each.
  std::string info;
  info.reserve(80 + candidate_id.size() + kind.size());
  protocol::JsonWriter w(info);
  w.begin_object().field("candidate", candidate_id).key("extra").raw(protocol::compact_dump(extra));
  w.field("kind", kind).end_object();
  txn.put(tokens_, digest, info);
  return digest;
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

void Store::bind_token(storage::WriteTxn& txn, std::string_view token,
                       const std::string& candidate_id, const std::string& kind,
                       const nlohmann::json& extra) {
  if (auto r = find(txn, candidate_id)) {
    if (bind_token_to(txn, token, *r, kind, extra)) save(txn, *r);
  } else {
    put_token(txn, token, candidate_id, kind, extra);
  }
}

bool Store::bind_token_to(storage::WriteTxn& txn, std::string_view token, CandidateRecord& r,
                          const std::string& kind, const nlohmann::json& extra) {
  auto digest = put_token(txn, token, r.id, kind, extra);
  // Listed on a live record, so that erasure removes the binding too.
  if (r.status == Status::erased ||
      std::find(r.tokens_.begin(), r.tokens_.end(), digest) != r.tokens_.end())
    return false;
  r.tokens_.push_back(std::move(digest));
  return true;
}

std::string Store::stable_token(const std::string& candidate_id, std::string_view purpose) const {
  auto keys = keys_.current();
  std::string input = "relaynode stable token\n" + candidate_id + "\n" + std::string(purpose);
  auto mac = crypto::blake2b_keyed(keys->token_key, crypto::as_bytes(input));
  return crypto::to_base64url(mac);
}

std::string Store::record_link(const std::string& candidate_id, std::string_view purpose) const {
  return candidate_id + "." + stable_token(candidate_id, purpose);
}

namespace {
// Generation 0 keeps the purpose links had before they could be replaced.
std::string manage_purpose(const CandidateRecord& r) {
  return r.link_generation == 0 ? "manage" : "manage/" + std::to_string(r.link_generation);
}
std::string confirmation_purpose(const std::string& referral_id) {
  return "verify/" + referral_id;
}
}  // namespace

std::string Store::management_link(const CandidateRecord& record) const {
  return record_link(record.id, manage_purpose(record));
}

std::string Store::confirmation_link(const std::string& candidate_id,
                                     const std::string& referral_id) const {
  return record_link(candidate_id, confirmation_purpose(referral_id));
}

bool Store::is_confirmation_link(std::string_view token, const std::string& candidate_id,
                                 const std::string& referral_id) const {
  return is_record_link(token, candidate_id, confirmation_purpose(referral_id));
}

void Store::replace_management_link(storage::WriteTxn& txn, CandidateRecord& r) {
  ++r.link_generation;
  std::erase_if(r.tokens_, [&](const std::string& digest) {
    auto v = txn.get(tokens_, digest);
    if (!v || nlohmann::json::parse(*v).value("kind", "") != "manage") return false;
    txn.del(tokens_, digest);
    return true;
  });
}

std::optional<CandidateRecord> Store::find_managed(const storage::Txn& txn,
                                                   std::string_view token) const {
  if (auto id = record_link_id(token)) {
    auto record = find(txn, *id);
    if (!record || !is_record_link(token, record->id, manage_purpose(*record))) return std::nullopt;
    return record;
  }
  auto info = lookup_token(txn, token, "manage");
  if (!info) info = lookup_token(txn, token, "erased");
  if (!info) return std::nullopt;
  return find(txn, info->candidate_id);
}

std::optional<std::string> Store::record_link_id(std::string_view token) {
  // Neither an id nor a base64url MAC holds a '.'; the tokens issued before are base64url.
  auto dot = token.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  return std::string(token.substr(0, dot));
}

bool Store::is_record_link(std::string_view token, const std::string& candidate_id,
                           std::string_view purpose) const {
  auto expected = record_link(candidate_id, purpose);
  return token.size() == expected.size() &&
         crypto::constant_time_equal(token.data(), expected.data(), expected.size());
}

void Store::update_data(storage::WriteTxn& txn, CandidateRecord& r, const PersonalData& personal,
                        const Profile& profile) {
  auto key = key_of(r);
  if (!key) throw std::runtime_error("candidate key cannot be unwrapped");
  r.sealed_data_ = seal_data(*key, personal, profile, r.id);
  save(txn, r, &profile);
}

void Store::queue_mail(storage::WriteTxn& txn, const CandidateRecord& r, const mail::Mail& m) {
  auto key = key_of(r);
  if (!key) throw std::runtime_error("candidate key cannot be unwrapped");
  queue_with(txn, *key, r, m);
}

void Store::queue_with(storage::WriteTxn& txn, const crypto::AeadKey& key, const CandidateRecord& r,
                       const mail::Mail& m) {
  auto text = encode_mail_text(m);
  auto sealed = seal_bytes(key, crypto::as_bytes(text), r.id, "mail");
  crypto::secure_zero(text.data(), text.size());
  // Sequence: the time in milliseconds (when the mail falls due, MailQueue) plus a random suffix
  // keeps keys ordered and unique.
  auto seq = common::be64(static_cast<std::uint64_t>(clock_.now_ms())) + crypto::random_token(6);
  queue_.add(txn, seq, {r.id, 0, 0, std::move(sealed)});
}

std::vector<QueuedMail> Store::queued_mail(const storage::Txn& txn, std::size_t limit,
                                           std::optional<std::int64_t> due_at_ms) const {
  std::vector<QueuedMail> out;
  std::vector<std::pair<std::string, MailEntry>> raw;  // no candidate: unreadable, dropped
  if (due_at_ms) {
    raw = queue_.due(txn, limit, *due_at_ms);
  } else if (limit > 0) {
    queue_.for_each(txn, [&](std::string_view seq, MailEntry entry) {
      raw.emplace_back(std::string(seq), std::move(entry));
      return raw.size() < limit;
    });
  }
  for (auto& [seq, entry] : raw) {
    const auto& candidate_id = entry.candidate;
    QueuedMail q{
        seq, candidate_id, {}, entry.attempts, MailQueue::queued_ms(seq), entry.next_try_ms};
    auto r = find(txn, candidate_id);
    std::optional<crypto::AeadKey> key;
    if (r) key = key_of(*r);
    std::optional<crypto::Bytes> plain;
    if (key) plain = open_bytes(*key, entry.sealed, candidate_id, "mail");
    if (plain) {
      if (auto mail = decode_mail_text(
              std::string_view(reinterpret_cast<const char*>(plain->data()), plain->size()))) {
        q.mail = std::move(*mail);
        q.mail.key = candidate_id + "-" + crypto::to_hex(crypto::as_bytes(seq));
      }
      crypto::secure_zero(plain->data(), plain->size());
    }
    out.push_back(std::move(q));  // an empty q.mail.to means unreadable: drop it
  }
  return out;
}

std::size_t Store::queued_mail_count(const storage::Txn& txn) const {
  return queue_.size(txn);
}

bool Store::mail_spooled(storage::WriteTxn& txn, const std::string& seq,
                         const std::string& candidate_id, const std::string& spool_id) {
  // Erasure deletes the candidate's queued mail in its own txn: a mail still queued here
  // belongs to a candidate who is not erased.
  if (!queue_.remove(txn, seq)) return false;
  if (spool_id.empty()) return true;  // handed to an SMTP server: nothing left to remove
  txn.put(spool_, spool_key(candidate_id, spool_id), "");
  return true;
}

bool Store::mail_attempt(storage::WriteTxn& txn, const std::string& seq, std::int64_t next_try_ms) {
  auto entry = queue_.find(txn, seq);
  if (!entry) return false;  // gone, or unreadable: the dispatcher drops it
  ++entry->attempts;
  entry->next_try_ms = next_try_ms;
  return queue_.replace(txn, seq, *entry);
}

bool Store::mail_untried(storage::WriteTxn& txn, const QueuedMail& q) {
  auto entry = queue_.find(txn, q.seq);
  if (!entry) return false;
  entry->attempts = q.attempts;
  entry->next_try_ms = q.next_try_ms;
  return queue_.replace(txn, q.seq, *entry);
}

bool Store::drop_mail(storage::WriteTxn& txn, const std::string& seq) {
  return queue_.remove(txn, seq);
}

std::vector<std::string> Store::erase(storage::WriteTxn& txn, CandidateRecord& r) {
  auto spool = std::move(r.spool_);  // spooled by an older version
  const auto prefix = spool_key(r.id, "");
  std::vector<std::string> spooled;
  txn.for_each_prefix(spool_, prefix,
                      [&](std::string_view key, std::string_view) { spooled.emplace_back(key); });
  for (const auto& key : spooled) {
    txn.del(spool_, key);
    spool.push_back(key.substr(prefix.size()));
  }
  for (const auto& digest : r.tokens_) txn.del(tokens_, digest);
  queue_.remove_candidate(txn, r.id);
  if (auto live = txn.get(pseudonyms_, r.pseudonym); live && *live == r.id)
    txn.del(pseudonyms_, r.pseudonym);
  // The key's slot is zeroed after the commit, before the erasure is acknowledged
  // (key_slots.hpp): every copy of what was sealed under it, anywhere, is then unreadable.
  if (r.key_slot_) slots_.release(txn, *r.key_slot_, /*journal=*/true);
  r.key_slot_.reset();
  // The tombstone keeps who received the data and the erasure requests to them.
  r.wrapped_key_.clear();
  r.sealed_data_.clear();
  r.sealed_evidence_.clear();
  r.tokens_.clear();
  r.intake.reset();
  r.spool_.clear();
  r.received_.reset();
  r.erased_ms_ = clock_.now_ms();
  r.status = Status::erased;
  r.consent = Consent{false, false, false, r.consent.version, clock_.now_ms()};
  save(txn, r);
  return spool;
}

std::optional<crypto::AeadKey> Store::key_of(const CandidateRecord& r) const {
  if (r.status == Status::erased) return std::nullopt;
  if (r.key_slot_) return slots_.read(*r.key_slot_, r.id);
  if (r.wrapped_key_.empty() || !legacy_keys_) return std::nullopt;
  auto keys = keys_.current();
  return unwrap_key(keys->data_key, r.wrapped_key_, r.id);  // not migrated yet
}

std::optional<std::string> Store::seal_for(const CandidateRecord& r, const nlohmann::json& value,
                                           const std::string& purpose) const {
  auto key = key_of(r);
  if (!key) return std::nullopt;
  return seal_json(*key, value, r.id, purpose);
}

std::optional<nlohmann::json> Store::open_for(const CandidateRecord& r, const std::string& sealed,
                                              const std::string& purpose) const {
  auto key = key_of(r);
  if (!key) return std::nullopt;
  return open_json(*key, sealed, r.id, purpose);
}

std::size_t Store::migrate(storage::WriteTxn& txn) {
  // Once per data directory (a restored older backup has no mark, and migrates): every record
  // written since has its key in a slot, so later starts need not read every record.
  if (slots_.mark(txn, "keys_in_slots")) return 0;
  slots_.set_mark(txn, "keys_in_slots", true);
  std::vector<CandidateRecord> legacy;
  txn.for_each_prefix(candidates_, "", [&](std::string_view, std::string_view value) {
    auto r = from_stored(protocol::parse_json(value));
    if (r.status != Status::erased && !r.key_slot_ && !r.wrapped_key_.empty())
      legacy.push_back(std::move(r));
  });
  if (legacy.empty()) return 0;
  // Queued mail, by candidate: resealed under the new key too.
  std::vector<std::pair<std::string, MailEntry>> mail;
  queue_.for_each(txn, [&](std::string_view seq, MailEntry entry) {
    if (!entry.candidate.empty()) mail.emplace_back(std::string(seq), std::move(entry));
    return true;
  });
  auto keys = keys_.current();
  std::size_t moved = 0;
  for (auto& r : legacy) {
    auto old_key = unwrap_key(keys->data_key, r.wrapped_key_, r.id);
    if (!old_key) {
      spdlog::warn("candidates: record {} has a key that does not unwrap; left as it is", r.id);
      continue;
    }
    // A fresh key: old copies of the record, in free pages, stay sealed under the old one,
    // which only keys/data.key opens, and that is retired once every record moved.
    auto slot = slots_.allocate(txn, r.id);
    auto reseal = [&](std::string& sealed, const std::string& purpose) {
      if (sealed.empty()) return;
      auto value = open_json(*old_key, sealed, r.id, purpose);
      if (!value)
        throw std::runtime_error("candidate " + r.id + ": sealed " + purpose + " does not open");
      sealed = seal_json(slot.key, *value, r.id, purpose);
    };
    reseal(r.sealed_data_, "data");
    reseal(r.sealed_evidence_, "evidence");
    for (auto& [seq, entry] : mail)
      if (entry.candidate == r.id) {
        // Resealed as it is, whichever form its text has (mail_entry.hpp).
        auto plain = open_bytes(*old_key, entry.sealed, r.id, "mail");
        if (!plain) throw std::runtime_error("candidate " + r.id + ": queued mail does not open");
        entry.sealed = seal_bytes(slot.key, *plain, r.id, "mail");
        crypto::secure_zero(plain->data(), plain->size());
        queue_.replace(txn, seq, entry);
      }
    r.key_slot_ = slot.index;
    r.wrapped_key_.clear();
    save(txn, r);
    ++moved;
  }
  slots_.set_mark(txn, "retire_data_key", true);
  return moved;
}

std::vector<std::string> Store::start_up(const std::filesystem::path& data_key_file) {
  if (auto held = slots_.recover())
    spdlog::info("candidates: zeroed {} key slot(s) a crash left holding a key", held);
  auto txn = slots_env_.begin_write();
  auto moved = migrate(txn);
  slots_.commit(txn);
  if (moved > 0) spdlog::info("candidates: moved {} candidate key(s) into key slots", moved);
  if (retire_data_key(data_key_file))
    spdlog::info("candidates: retired the data key that wrapped the old keys");
  legacy_keys_ = false;  // every key is in a slot now: an old copy of a record opens nothing
  return live_in_journal();
}

std::vector<std::string> Store::live_in_journal() const {
  std::vector<std::string> live;
  auto txn = slots_env_.begin_read();
  for (const auto& id : slots_.journal())
    if (auto r = find(txn, id); r && r->status != Status::erased) live.push_back(r->id);
  std::sort(live.begin(), live.end());
  live.erase(std::unique(live.begin(), live.end()), live.end());
  return live;
}

std::size_t Store::shred_journaled(storage::WriteTxn& txn) {
  std::size_t shredded = 0;
  for (const auto& id : slots_.journal()) {
    auto r = find(txn, id);
    if (!r || r->status == Status::erased || !r->key_slot_) continue;
    if (slots_.release(txn, *r->key_slot_)) ++shredded;
  }
  return shredded;
}

bool Store::retire_data_key(const std::filesystem::path& key_file) {
  {
    auto txn = slots_env_.begin_read();
    if (!slots_.mark(txn, "retire_data_key")) return false;
  }
  // Overwritten in place (not replaced by a new file), so the old bytes do not stay behind in
  // the directory; NodeKeys::load still finds a key of the right size.
  auto fresh = crypto::random_secret<crypto::AeadKey>();
  int fd = ::open(key_file.c_str(), O_WRONLY | O_CLOEXEC);
  bool ok = fd >= 0 &&
            ::pwrite(fd, fresh.data(), fresh.size(), 0) == static_cast<ssize_t>(fresh.size()) &&
            ::fdatasync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok)
    throw std::system_error(errno, std::generic_category(),
                            "cannot overwrite " + key_file.string());
  auto txn = slots_env_.begin_write();
  slots_.set_mark(txn, "retire_data_key", false);
  txn.commit();
  return true;
}

}  // namespace relay::node::candidates
