#include "node/referrals/referral.hpp"

#include <algorithm>
#include <limits>

#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "node/candidates/candidate_store.hpp"
#include "node/common/key_encoding.hpp"
#include "node/identity/scoped_pseudonym.hpp"
#include "node/members/member.hpp"
#include "node/storage/index_marks.hpp"
#include "node/storage/index_page.hpp"
#include "protocol/canonical_json.hpp"
#include "protocol/canonical_scan.hpp"

namespace relay::node::referrals {

void Referral::write_member_json(protocol::JsonWriter& w) const {
  // Keys in byte order, optional ones only when set.
  w.begin_object();
  if (!application_id.empty()) w.field("application_id", application_id);
  w.field("counted", counted).field("created_ms", created_ms);
  if (hold_until_ms) w.field("hold_until_ms", hold_until_ms);
  w.field("id", id);
  if (!job_category.empty()) w.field("job_category", job_category);
  w.field("kind", kind);
  if (!stage.empty()) w.field("stage", stage);
  w.field("status", to_string(status));
  if (verified_ms) w.field("verified_ms", verified_ms);
  w.end_object();
}

nlohmann::json Referral::to_member_json() const {
  std::string text;
  protocol::JsonWriter w(text);
  write_member_json(w);
  return nlohmann::json::parse(text);
}

namespace {
// member "/" 8-byte big-endian created_ms, then the id: a member's referrals in the order made.
std::string time_key(const Referral& r) {
  return r.member_id + "/" + common::be64(static_cast<std::uint64_t>(r.created_ms)) + r.id;
}

// A member_alumni_by_time key.
std::string alumnus_time_key(const std::string& member_id, std::int64_t verified_ms,
                             const std::string& candidate_id) {
  return member_id + "/" + common::be64(static_cast<std::uint64_t>(verified_ms)) + candidate_id;
}

// The value of a member_referrals_by_time entry: a mark, then the referral's member JSON. A
// change to write_member_json() changes the mark and the build's name (index_existing), so
// entries an older one wrote are looked up until the build has rewritten them.
constexpr char kListing = '1';
constexpr const char* kListingBuild = "member_referrals_listing_1";

std::string listing_value(std::string_view member_json) {
  std::string out;
  out.reserve(member_json.size() + 1);
  out += kListing;
  out += member_json;
  return out;
}

// The listing of a stored record, for the builds that write it from the records.
std::string listing_value(const Referral& r) {
  std::string out(1, kListing);
  out.reserve(256);
  protocol::JsonWriter w(out);
  r.write_member_json(w);
  return out;
}

bool is_listed(std::string_view value) {
  return !value.empty() && value.front() == kListing;
}

// A person's referral by a member, next to the person's own key in candidate_pseudonyms
// (member ids hold no '/').
std::string person_key(std::string_view pseudonym, std::string_view member_id) {
  return std::string(pseudonym).append("/").append(member_id);
}

// The referral id a member_referrals_by_time key ends with (see time_key).
std::string_view listed_id(std::string_view key) {
  return key.substr(key.find('/') + 1 + 8);
}

// The stored record, keys in byte order: the bytes dump() gave for the tree it was built as
// before (a tree cost three times as much to build and dump; a confirmation saves the referral
// three times).
std::string record_text(const Referral& r) {
  std::string out;
  out.reserve(320);
  protocol::JsonWriter w(out);
  w.begin_object()
      .field("application_id", r.application_id)
      .field("candidate", r.candidate_id)
      .field("counted", r.counted)
      .field("created_ms", r.created_ms)
      .field("hold_until_ms", r.hold_until_ms)
      .field("id", r.id)
      .field("job_category", r.job_category)
      .field("kind", r.kind)
      .field("member", r.member_id)
      .field("pseudonym", r.pseudonym)
      .field("stage", r.stage)
      .field("status", to_string(r.status))
      .field("verified_ms", r.verified_ms)
      .end_object();
  return out;
}

Referral from_record(const nlohmann::json& j) {
  Referral r;
  r.id = j.at("id");
  r.member_id = j.at("member");
  r.candidate_id = j.at("candidate");
  r.pseudonym = j.at("pseudonym");
  r.status = j.at("status");
  r.counted = j.at("counted");
  r.created_ms = j.at("created_ms");
  r.verified_ms = j.at("verified_ms");
  r.application_id = j.at("application_id");
  r.job_category = j.at("job_category");
  r.kind = j.value("kind", "rejection");  // records from before alumni links lack it
  r.stage = j.value("stage", "");         // and these, records from before holds
  r.hold_until_ms = j.value("hold_until_ms", std::int64_t{0});
  return r;
}
}  // namespace

Referrals::Referrals(storage::Environment& env, const identity::KeyRing& keys,
                     const common::Clock& clock)
    : keys_(keys),
      clock_(clock),
      referrals_(env.database("referrals")),
      old_by_member_(env.database("member_referrals")),
      by_time_(env.database("member_referrals_by_time")),
      counts_(env.database("member_referral_counts")),
      index_marks_(env.database(storage::kIndexMarks)),
      people_(env.database(candidates::kPseudonyms)),
      old_people_(env.database("member_people")),
      single_(env.database("single_links")),
      alumni_links_(env.database("alumni_links")),
      alumni_(env.database("member_alumni")),
      alumni_by_time_(env.database("member_alumni_by_time")) {}

std::optional<Referral> Referrals::for_person(const storage::Txn& txn, const std::string& member_id,
                                              const std::string& pseudonym) const {
  auto id = txn.get(people_, person_key(pseudonym, member_id));
  if (!id) return std::nullopt;
  return find(txn, *id);
}

Referral Referrals::create(storage::WriteTxn& txn, const std::string& member_id,
                           const std::string& candidate_id, const std::string& pseudonym,
                           const std::string& application_id, const std::string& job_category,
                           const std::string& kind) {
  Referral r;
  r.id = "r_" + crypto::random_token(12);
  r.member_id = member_id;
  r.candidate_id = candidate_id;
  r.pseudonym = pseudonym;
  r.created_ms = clock_.now_ms();
  r.application_id = application_id;
  r.job_category = job_category;
  r.kind = kind;
  save(txn, r);  // and its member_referrals_by_time entry
  txn.put(people_, person_key(pseudonym, member_id), r.id);
  txn.put(counts_, member_id, common::be64(count_for_member(txn, member_id) + 1));
  return r;
}

std::uint64_t Referrals::count_for_member(const storage::Txn& txn,
                                          const std::string& member_id) const {
  auto n = txn.get(counts_, member_id);
  return n ? common::from_be64(*n) : 0;
}

Referrals::Parsed Referrals::parsed(Referral r) {
  Parsed p{std::move(r), {}};
  p.member_json.reserve(256);
  protocol::JsonWriter w(p.member_json);
  p.referral.write_member_json(w);
  return p;
}

std::shared_ptr<const Referrals::Parsed> Referrals::shared(const storage::Txn& txn,
                                                           const std::string& id) const {
  if (id.empty() || id.size() > 64) return nullptr;
  auto v = txn.get(referrals_, id);
  if (!v) return nullptr;
  if (auto cached = parsed_.find(id, *v)) return cached;
  auto r = from_record(protocol::parse_json(*v));
  return parsed_.put(id, std::move(*v), parsed(std::move(r)));
}

std::optional<Referral> Referrals::find(const storage::Txn& txn, const std::string& id) const {
  if (auto p = shared(txn, id)) return p->referral;
  return std::nullopt;
}

void Referrals::save(storage::WriteTxn& txn, const Referral& r) {
  auto stored = record_text(r);
  auto p = parsed(r);
  txn.put(referrals_, r.id, stored);
  // Its listing with it (member and time never change: the key is the one create() made).
  txn.put(by_time_, time_key(r), listing_value(p.member_json));
  parsed_.put(r.id, std::move(stored), std::move(p));
}

std::vector<Referral> Referrals::for_member(const storage::Txn& txn,
                                            const std::string& member_id) const {
  std::vector<Referral> out;
  each_for_member(txn, member_id, std::numeric_limits<std::size_t>::max(), "",
                  [&](const Referral& r, std::string_view) { out.push_back(r); });
  return out;
}

std::optional<bool> Referrals::each_entry(const storage::Txn& txn, const std::string& member_id,
                                          std::size_t limit, const std::string& after,
                                          bool newest_first, const EachEntry& fn) const {
  const auto prefix = member_id + "/";
  std::string last_key;  // of the referral shown last
  if (!after.empty()) {
    auto last = find(txn, after);
    if (!last || last->member_id != member_id) return std::nullopt;
    last_key = time_key(*last);
  }
  // Each entry is handed on as the scan reaches it (reads only: the scan's views stay valid),
  // not after collecting every id first.
  return storage::index_page(
      txn, by_time_, prefix, last_key, limit, newest_first,
      [&](std::string_view key, std::string_view value) { fn(listed_id(key), value); });
}

std::optional<bool> Referrals::each_for_member(const storage::Txn& txn,
                                               const std::string& member_id, std::size_t limit,
                                               const std::string& after, const EachReferral& fn,
                                               bool newest_first) const {
  std::string id;
  return each_entry(txn, member_id, limit, after, newest_first,
                    [&](std::string_view key_id, std::string_view) {
                      id.assign(key_id);
                      if (auto p = shared(txn, id)) fn(p->referral, p->member_json);
                    });
}

std::optional<bool> Referrals::each_listed(const storage::Txn& txn, const std::string& member_id,
                                           std::size_t limit, const std::string& after,
                                           const EachListed& fn, bool newest_first) const {
  std::string id;
  return each_entry(txn, member_id, limit, after, newest_first,
                    [&](std::string_view key_id, std::string_view value) {
                      if (is_listed(value)) {
                        fn(key_id, value.substr(1));
                        return;
                      }
                      id.assign(key_id);
                      if (auto p = shared(txn, id)) fn(key_id, p->member_json);
                    });
}

std::size_t Referrals::index_existing(storage::WriteTxn& txn) {
  std::size_t n = 0;
  storage::build_index_once(txn, index_marks_, "member_referrals_by_time", [&] {
    // A directory from before the index: its entries are written with their listings, so
    // write_listings has nothing left to do here.
    std::vector<std::pair<std::string, std::string>> entries;
    txn.for_each_prefix(referrals_, "", [&](std::string_view, std::string_view value) {
      auto r = from_record(protocol::parse_json(value));
      entries.emplace_back(time_key(r), listing_value(r));
    });
    for (const auto& [key, value] : entries) txn.put(by_time_, key, value);
    txn.put(index_marks_, kListingBuild, "1");
    txn.clear(old_by_member_);  // the index by id it replaces: nothing reads it any more
    n = entries.size();
  });
  storage::build_index_once(txn, index_marks_, "member_referral_counts", [&] {
    // The index's keys are grouped by member: one count per run of a member's keys.
    std::vector<std::pair<std::string, std::uint64_t>> counts;
    txn.for_each_prefix(by_time_, "", [&](std::string_view key, std::string_view) {
      auto member = key.substr(0, key.find('/'));
      if (counts.empty() || counts.back().first != member) counts.emplace_back(member, 0);
      ++counts.back().second;
    });
    for (const auto& [member, count] : counts) txn.put(counts_, member, common::be64(count));
    n += counts.size();
  });
  storage::build_index_once(txn, index_marks_, "person_referrals", [&] {
    // member_people (member "/" pseudonym) moves next to each person's key, a chunk at a time
    // from its first key: what is held stays small with a million referrals.
    constexpr std::size_t kChunk = 4096;
    std::vector<std::pair<std::string, std::string>> chunk;
    do {
      chunk.clear();
      txn.for_each_prefix(old_people_, "", [&](std::string_view key, std::string_view id) {
        chunk.emplace_back(key, id);
        return chunk.size() < kChunk;
      });
      for (const auto& [key, id] : chunk) {
        const auto slash = key.find('/');
        txn.put(people_, person_key(key.substr(slash + 1), key.substr(0, slash)), id);
        txn.del(old_people_, key);
      }
      n += chunk.size();
    } while (!chunk.empty());
  });
  storage::build_index_once(txn, index_marks_, "member_alumni_by_time", [&] {
    std::vector<std::pair<std::string, std::string>> alumni;  // member "/" candidate, referral
    txn.for_each_prefix(alumni_, "", [&](std::string_view key, std::string_view referral_id) {
      alumni.emplace_back(key, referral_id);
    });
    for (const auto& [key, referral_id] : alumni) {
      auto r = find(txn, referral_id);
      if (!r) continue;
      txn.put(alumni_by_time_, alumnus_time_key(r->member_id, r->verified_ms, r->candidate_id),
              referral_id);
      ++n;
    }
  });
  return n;
}

std::size_t Referrals::write_listings(storage::WriteTxn& txn, std::size_t at_most) {
  if (at_most == 0 || txn.contains(index_marks_, kListingBuild)) return 0;
  const std::string progress = std::string(kListingBuild) + "/next";  // the key to go on from
  const std::string from = txn.get(index_marks_, progress).value_or("");
  // The index in its own order, so the pages written are neighbours; only entries without the
  // listing's mark look their record up. Read first, then written: a scan's callback must not
  // write.
  std::size_t visited = 0;
  std::vector<std::pair<std::string, std::string>> stale;
  std::optional<std::string> next;
  txn.for_each_range(by_time_, from, {}, [&](std::string_view key, std::string_view value) {
    if (visited == at_most) {
      next.emplace(key);
      return false;
    }
    ++visited;
    if (is_listed(value)) return true;
    if (auto record = txn.get(referrals_, listed_id(key)))
      stale.emplace_back(key, listing_value(from_record(nlohmann::json::parse(*record))));
    return true;
  });
  for (const auto& [key, value] : stale) txn.put(by_time_, key, value);
  if (next) {
    txn.put(index_marks_, progress, *next);
  } else {
    txn.del(index_marks_, progress);
    txn.put(index_marks_, kListingBuild, "1");
  }
  return visited;
}

std::string Referrals::ledger_pseudonym(const Referral& r) const {
  return identity::member_pseudonym(keys_, r.member_id, r.pseudonym);
}

Referrals::Issued Referrals::issue_single_use(storage::WriteTxn& txn, const std::string& member_id,
                                              const std::string& application_id,
                                              const std::string& job_category) {
  auto keys = keys_.current();
  auto material = "single-use-link/" + member_id + "/" + application_id;
  auto token = "s" + crypto::to_base64url(
                         crypto::blake2b_keyed(keys->token_key, crypto::as_bytes(material)));
  auto digest = identity::token_digest(keys->token_key, token);
  Issued issued{token, false};
  if (auto existing = txn.get(single_, digest)) {
    issued.used = nlohmann::json::parse(*existing).at("used");
    return issued;
  }
  nlohmann::json record = {{"member", member_id},
                           {"application_id", application_id},
                           {"job_category", job_category},
                           {"used", false},
                           {"created_ms", clock_.now_ms()}};
  txn.put(single_, digest, protocol::compact_dump(record));
  issued.created = true;
  return issued;
}

std::optional<SingleUseLink> Referrals::single_use(const storage::Txn& txn,
                                                   std::string_view token) const {
  if (token.size() < 16 || token.size() > 128) return std::nullopt;
  auto keys = keys_.current();
  auto digest = identity::token_digest(keys->token_key, token);
  auto v = txn.get(single_, digest);
  if (!v) return std::nullopt;
  auto j = nlohmann::json::parse(*v);
  return SingleUseLink{digest, j.at("member"), j.at("application_id"), j.at("job_category"),
                       j.at("used")};
}

void Referrals::mark_used(storage::WriteTxn& txn, const SingleUseLink& link) {
  auto v = txn.get(single_, link.digest);
  if (!v) return;
  auto j = nlohmann::json::parse(*v);
  j["used"] = true;
  j["used_ms"] = clock_.now_ms();
  txn.put(single_, link.digest, protocol::compact_dump(j));
}

Referrals::Issued Referrals::issue_alumni_link(storage::WriteTxn& txn, const std::string& member_id,
                                               const std::string& departure_id) {
  auto keys = keys_.current();
  auto material = "alumni-link/" + member_id + "/" + departure_id;
  auto token = "a" + crypto::to_base64url(
                         crypto::blake2b_keyed(keys->token_key, crypto::as_bytes(material)));
  auto digest = identity::token_digest(keys->token_key, token);
  Issued issued{token, false};
  if (auto existing = txn.get(alumni_links_, digest)) {
    issued.used = nlohmann::json::parse(*existing).at("used");
    return issued;
  }
  nlohmann::json record = {{"member", member_id},
                           {"departure_id", departure_id},
                           {"used", false},
                           {"created_ms", clock_.now_ms()}};
  txn.put(alumni_links_, digest, protocol::compact_dump(record));
  return issued;
}

std::optional<AlumniLink> Referrals::alumni_link(const storage::Txn& txn,
                                                 std::string_view token) const {
  if (token.size() < 16 || token.size() > 128 || token.front() != 'a') return std::nullopt;
  auto keys = keys_.current();
  auto digest = identity::token_digest(keys->token_key, token);
  auto v = txn.get(alumni_links_, digest);
  if (!v) return std::nullopt;
  auto j = nlohmann::json::parse(*v);
  return AlumniLink{digest, j.at("member"), j.at("departure_id"), j.at("used")};
}

void Referrals::mark_used(storage::WriteTxn& txn, const AlumniLink& link) {
  if (!link.single_use()) return;  // the static alumni link serves every leaver
  auto v = txn.get(alumni_links_, link.digest);
  if (!v) return;
  auto j = nlohmann::json::parse(*v);
  j["used"] = true;
  j["used_ms"] = clock_.now_ms();
  txn.put(alumni_links_, link.digest, protocol::compact_dump(j));
}

void Referrals::add_alumnus(storage::WriteTxn& txn, const Referral& referral) {
  txn.put(alumni_, referral.member_id + "/" + referral.candidate_id, referral.id);
  txn.put(alumni_by_time_,
          alumnus_time_key(referral.member_id, referral.verified_ms, referral.candidate_id),
          referral.id);
}

void Referrals::each_alumnus_since(const storage::Txn& txn, const std::string& member_id,
                                   std::int64_t since_ms, const EachAlumnus& fn) const {
  const auto prefix = member_id + "/";
  const auto from = static_cast<std::uint64_t>(std::max<std::int64_t>(0, since_ms));
  txn.for_each_range(alumni_by_time_, prefix + common::be64(from), storage::past_prefix(prefix),
                     [&](std::string_view key, std::string_view) {
                       const auto rest = key.substr(prefix.size());
                       return fn(rest.substr(8),
                                 static_cast<std::int64_t>(common::from_be64(rest.substr(0, 8))));
                     });
}

bool Referrals::is_alumnus(const storage::Txn& txn, const std::string& member_id,
                           const std::string& candidate_id) const {
  return txn.contains(alumni_, member_id + "/" + candidate_id);
}

std::vector<std::pair<std::string, std::string>> Referrals::alumni_of(
    const storage::Txn& txn, const std::string& member_id) const {
  std::vector<std::pair<std::string, std::string>> out;
  const auto prefix = member_id + "/";
  txn.for_each_prefix(alumni_, prefix, [&](std::string_view key, std::string_view value) {
    out.emplace_back(std::string(key.substr(prefix.size())), std::string(value));
  });
  return out;
}

}  // namespace relay::node::referrals
