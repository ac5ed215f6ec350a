#include "node/referrals/hold.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "node/common/key_encoding.hpp"
#include "node/storage/index_marks.hpp"
#include "protocol/canonical_json.hpp"
#include "protocol/canonical_scan.hpp"
#include "protocol/event.hpp"

namespace relay::node::referrals {

namespace fr = protocol::flag_reason;

namespace {

// The reasons not among `have`, each once, in the order they came: what a referral_flagged
// entry adds to a hold's flags.
std::vector<std::string> new_flags(const std::vector<std::string>& have,
                                   const std::vector<std::string>& reasons) {
  std::vector<std::string> added;
  for (const auto& r : reasons)
    if (std::find(have.begin(), have.end(), r) == have.end() &&
        std::find(added.begin(), added.end(), r) == added.end())
      added.push_back(r);
  return added;
}

}  // namespace

nlohmann::json ReviewItem::to_json() const {
  nlohmann::json j = {{"referral", referral},
                      {"member", member},
                      {"company", company},
                      {"verified_ms", verified_ms},
                      {"hold_until_ms", hold_until_ms},
                      {"reasons", reasons}};
  if (!domain.empty()) j["disposable_domain"] = domain;
  return j;
}

std::string_view to_string(ReviewError e) {
  switch (e) {
    case ReviewError::not_found:
      return "not_found";
    case ReviewError::not_in_review:
      return "not_in_review";
  }
  return "unknown";
}

Holds::Holds(storage::Environment& env, ledger::Ledger& ledger, const identity::KeyRing& keys,
             members::Registry& members, candidates::Store& candidates, Referrals& referrals,
             CreditAccounts& credits, const common::Clock& clock, HoldRules rules)
    : ledger_(ledger),
      keys_(keys),
      members_(members),
      candidates_(candidates),
      referrals_(referrals),
      credits_(credits),
      clock_(clock),
      rules_(rules),
      holds_(env.database("referral_holds")),
      queue_(env.database("hold_queue")),
      review_(env.database("review_queue")),
      review_by_member_(env.database("review_queue_by_member")),
      confirmations_(env.database("member_confirmations")),
      groups_(env.database("confirmation_groups")),
      index_marks_(env.database(storage::kIndexMarks)) {}

Holds::HoldRecord Holds::parse_hold(std::string_view stored) {
  auto j = protocol::parse_json(stored);
  return HoldRecord{j.at("member"), j.at("until"), j.at("flags"), j.at("accepted"),
                    j.value("domain", "")};
}

std::optional<Holds::HoldRecord> Holds::find_hold(const storage::Txn& txn,
                                                  const std::string& id) const {
  auto v = txn.get(holds_, id);
  if (!v) return std::nullopt;
  return parse_hold(*v);
}

namespace {

// review_queue's key: the queue reads oldest confirmation first, ties by referral id.
std::string review_key(const Referral& r) {
  return common::be64(static_cast<std::uint64_t>(r.verified_ms)) + r.id;
}

// review_queue_by_member's key for a review_queue key (member ids hold no '/').
std::string member_review_key(std::string_view member, std::string_view review_key) {
  return std::string(member).append("/").append(review_key);
}

}  // namespace

void Holds::save_hold(storage::WriteTxn& txn, const Referral& r, const HoldRecord& h) {
  nlohmann::json j = {
      {"member", h.member}, {"until", h.until}, {"flags", h.flags}, {"accepted", h.accepted}};
  if (!h.domain.empty()) j["domain"] = h.domain;
  txn.put(holds_, r.id, protocol::compact_dump(j));
  const auto queue_key = common::be64(static_cast<std::uint64_t>(h.until)) + r.id;
  if (h.waiting()) {
    txn.del(queue_, queue_key);
    txn.put(review_, review_key(r), h.member);
    txn.put(review_by_member_, member_review_key(h.member, review_key(r)), "");
  } else {
    txn.put(queue_, queue_key, "");
    txn.del(review_, review_key(r));
    txn.del(review_by_member_, member_review_key(h.member, review_key(r)));
  }
}

std::string Holds::digest(std::string_view what, std::string_view value) const {
  auto keys = keys_.current();
  std::string material = "confirmation/";
  material.append(what).append("/").append(value);
  return crypto::to_hex_public(crypto::blake2b_keyed(keys->token_key, crypto::as_bytes(material)));
}

bool Holds::hold(storage::WriteTxn& txn, Referral& referral, const AddressIdentity& address) {
  // The clock is read right before the entry is stamped (the auditor allows 1 s between).
  referral.stage = "held";
  referral.hold_until_ms = clock_.now_ms() + rules_.holding.count();
  credits_.record_held(txn, referral.member_id, referral.id, referrals_.ledger_pseudonym(referral),
                       referral.hold_until_ms, referral.alumni() ? "alumni" : "");
  // Any signal flags this referral among others (check records its confirmation first, while
  // a windowed check is on).
  auto reasons = check(txn, referral, address);
  // A zero hold that no signal flagged ends in this transaction: it is not stored as held only
  // to be deleted again (a record, a queue key and two more saves of the referral). The ledger
  // reads as it did: referral_held, then referral_counted or referral_dropped.
  if (rules_.holding.count() == 0 && reasons.empty()) return end_hold(txn, referral);
  HoldRecord held{referral.member_id,
                  referral.hold_until_ms,
                  {},
                  false,
                  address.disposable ? address.domain : ""};
  // Flagged now if at all: a flagged referral waits for the operator, even with a zero hold.
  // The others' flags are added to their holds; this one's go into the hold saved below, so
  // that in a flood each confirmation is saved once, in review, not saved as held, read back
  // and saved again. The ledger reads as before: referral_flagged entries in referral order.
  for (const auto& [id, new_reasons] : reasons) {
    if (id != referral.id) {
      flag(txn, id, new_reasons);
      continue;
    }
    held.flags = new_flags({}, new_reasons);
    ledger_.append(txn, protocol::referral_flagged(referral.member_id, referral.id, held.flags));
    referral.stage = "review";
  }
  referrals_.save(txn, referral);
  save_hold(txn, referral, held);
  return false;
}

namespace {

// A confirmation's keys in confirmation_groups: its domain's group, and its stem's if any.
// `at` is be64 ms + referral id, the tail of its member_confirmations key.
std::string group_prefix(std::string_view member, char group, std::string_view digest) {
  std::string key(member);
  key.append("/").push_back(group);
  key.append("/").append(digest).append("/");
  return key;
}

void index_confirmation(storage::WriteTxn& txn, storage::Database groups, std::string_view member,
                        std::string_view at, const std::string& domain, const std::string& stem) {
  txn.put(groups, group_prefix(member, 'd', domain).append(at), "");
  if (!stem.empty()) txn.put(groups, group_prefix(member, 's', stem).append(at), "");
}

void unindex_confirmation(storage::WriteTxn& txn, storage::Database groups, std::string_view member,
                          std::string_view at, std::string_view stored) {
  auto j = nlohmann::json::parse(stored);
  const std::string& domain = j.at("domain").get_ref<const std::string&>();
  const std::string& stem = j.at("stem").get_ref<const std::string&>();
  txn.del(groups, group_prefix(member, 'd', domain).append(at));
  if (!stem.empty()) txn.del(groups, group_prefix(member, 's', stem).append(at));
}

// The referral ids under `prefix` (keys prefix + be64 ms + referral id) from `since_ms` on,
// the first `limit` of them.
std::vector<std::string> ids_since(const storage::Txn& txn, storage::Database db,
                                   const std::string& prefix, std::int64_t since_ms,
                                   std::size_t limit = std::numeric_limits<std::size_t>::max()) {
  std::vector<std::string> ids;
  const auto first =
      prefix + common::be64(static_cast<std::uint64_t>(std::max<std::int64_t>(0, since_ms)));
  txn.for_each_range(db, first, {}, [&](std::string_view key, std::string_view) {
    if (key.substr(0, prefix.size()) != prefix) return false;
    ids.emplace_back(key.substr(prefix.size() + 8));
    return ids.size() < limit;
  });
  return ids;
}

// The last referral id under `prefix` (which ends in "/") other than `except`.
std::optional<std::string> newest_other(const storage::Txn& txn, storage::Database db,
                                        const std::string& prefix, std::string_view except) {
  auto cursor = txn.cursor(db);
  std::string end = prefix;
  end.back() = '0';  // '0' sorts right after '/': the first key past the prefix
  auto item = cursor.seek(end) ? cursor.prev() : cursor.last();
  for (int seen = 0; seen < 2 && item && item->first.starts_with(prefix);
       ++seen, item = cursor.prev()) {
    auto id = item->first.substr(prefix.size() + 8);
    if (id != except) return id;
  }
  return std::nullopt;
}

}  // namespace

std::map<std::string, std::vector<std::string>> Holds::check(storage::WriteTxn& txn,
                                                             const Referral& referral,
                                                             const AddressIdentity& address) {
  const auto now = clock_.now_ms();
  const auto prefix = referral.member_id + "/";
  std::map<std::string, std::vector<std::string>> reasons;  // referral -> new reasons
  if (rules_.flag_disposable && address.disposable)
    reasons[referral.id].emplace_back(fr::disposable_domain);
  // With every windowed check off, nothing reads the window: a confirmation is not kept for
  // it (nor its digests: nothing personal is kept for no purpose), which spares it three keys
  // on pages of the member's own. Turned on later, the checks count from then on. Older
  // confirmations are dropped below either way.
  const bool windowed = rules_.velocity_max || rules_.same_domain_max || rules_.similar_max;
  std::string domain, stem;
  if (windowed) {
    domain = digest("domain", address.domain);
    if (!address.stem.empty()) stem = digest("stem", address.stem);
    const auto at = common::be64(static_cast<std::uint64_t>(now)) + referral.id;
    txn.put(confirmations_, prefix + at,
            protocol::compact_dump(nlohmann::json{{"domain", domain}, {"stem", stem}}));
    index_confirmation(txn, groups_, referral.member_id, at, domain, stem);
  }
  const auto keep = std::max(rules_.velocity_window, rules_.cluster_window).count();
  // Older confirmations say nothing any more: drop them (nothing personal stays longer). Each
  // is read once more here, to drop its group keys.
  std::vector<std::pair<std::string, std::string>> old;
  const auto cutoff =
      prefix + common::be64(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - keep)));
  txn.for_each_range(confirmations_, prefix, cutoff,
                     [&](std::string_view key, std::string_view value) {
                       old.emplace_back(std::string(key), std::string(value));
                     });
  for (const auto& [key, value] : old) {
    txn.del(confirmations_, key);
    unindex_confirmation(txn, groups_, referral.member_id,
                         std::string_view(key).substr(prefix.size()), value);
  }

  if (!windowed) return reasons;
  // Still waiting for the operator with this reason among its flags.
  auto carries = [&](const std::string& id, std::string_view reason) {
    auto h = find_hold(txn, id);
    return h && !h->accepted &&
           std::find(h->flags.begin(), h->flags.end(), reason) != h->flags.end();
  };
  // A group over its limit flags every referral in it. Only the keys of this confirmation's
  // own groups within the window are read: a member's other confirmations cost nothing.
  auto group = [&](std::string_view reason, std::uint32_t max, std::int64_t window,
                   storage::Database db, const std::string& keys) {
    if (max == 0) return;
    const auto since = now - window;
    // The first max + 2 in the window tell whether the group is over its limit, and whether
    // it was before this one. If it was, and its oldest and newest earlier confirmations carry
    // the reason, the group's previous confirmation left every one flagged (flags stay): only
    // this one is new. Reading the whole window and every hold in it for each confirmation
    // made a confirmation's cost grow with the burst (2.7M instructions at 200). Otherwise
    // (the limit just crossed, a decision on either end, or a restart with a lower limit or a
    // wider window, which shows on these ends) every one is flagged, as before.
    auto first = ids_since(txn, db, keys, since, std::size_t{max} + 2);
    if (first.size() <= max) return;
    if (first.size() == std::size_t{max} + 2) {
      const auto& oldest = first[0] != referral.id ? first[0] : first[1];
      auto newest = newest_other(txn, db, keys, referral.id);
      if (newest && carries(oldest, reason) && carries(*newest, reason)) {
        reasons[referral.id].emplace_back(reason);
        return;
      }
    }
    for (const auto& id : ids_since(txn, db, keys, since)) reasons[id].emplace_back(reason);
  };
  group(fr::velocity, rules_.velocity_max, rules_.velocity_window.count(), confirmations_, prefix);
  if (!address.public_provider)
    group(fr::same_domain, rules_.same_domain_max, rules_.cluster_window.count(), groups_,
          group_prefix(referral.member_id, 'd', domain));
  if (!stem.empty())
    group(fr::similar_addresses, rules_.similar_max, rules_.cluster_window.count(), groups_,
          group_prefix(referral.member_id, 's', stem));
  return reasons;
}

std::size_t Holds::index_existing(storage::WriteTxn& txn) {
  std::size_t n = 0;
  storage::build_index_once(txn, index_marks_, "confirmation_groups", [&] {
    std::vector<std::pair<std::string, std::string>> all;
    txn.for_each_prefix(confirmations_, "", [&](std::string_view key, std::string_view value) {
      all.emplace_back(std::string(key), std::string(value));
    });
    for (const auto& [key, value] : all) {
      // member "/" be64 ms + referral id (member ids hold no "/").
      auto slash = key.find('/');
      auto j = nlohmann::json::parse(value);
      index_confirmation(txn, groups_, std::string_view(key).substr(0, slash),
                         std::string_view(key).substr(slash + 1), j.at("domain").get<std::string>(),
                         j.at("stem").get<std::string>());
    }
    n = all.size();
  });
  // review_queue was keyed by referral id alone before it was keyed by time: rebuilt whole.
  storage::build_index_once(txn, index_marks_, "review_queue_by_time", [&] {
    std::vector<std::pair<std::string, HoldRecord>> waiting;
    txn.for_each_prefix(holds_, "", [&](std::string_view key, std::string_view value) {
      if (auto h = parse_hold(value); h.waiting()) waiting.emplace_back(key, std::move(h));
    });
    txn.clear(review_);
    txn.clear(review_by_member_);
    for (const auto& [id, h] : waiting)
      if (auto r = referrals_.find(txn, id)) {
        txn.put(review_, review_key(*r), h.member);
        txn.put(review_by_member_, member_review_key(h.member, review_key(*r)), "");
      }
    n += waiting.size();
  });
  storage::build_index_once(txn, index_marks_, "review_queue_by_member", [&] {
    std::vector<std::string> keys;
    txn.for_each_prefix(review_, "", [&](std::string_view key, std::string_view member) {
      keys.push_back(member_review_key(member, key));
    });
    for (const auto& key : keys) txn.put(review_by_member_, key, "");
    n += keys.size();
  });
  return n;
}

void Holds::flag(storage::WriteTxn& txn, const std::string& referral_id,
                 const std::vector<std::string>& reasons) {
  auto h = find_hold(txn, referral_id);
  // Ended, or accepted by the operator already: a later signal does not reopen it.
  if (!h || h->accepted) return;
  auto added = new_flags(h->flags, reasons);
  if (added.empty()) return;
  auto r = referrals_.find(txn, referral_id);
  if (!r) return;  // never so: referral records are kept for good
  h->flags.insert(h->flags.end(), added.begin(), added.end());
  save_hold(txn, *r, *h);
  ledger_.append(txn, protocol::referral_flagged(h->member, referral_id, added));
  r->stage = "review";
  referrals_.save(txn, *r);
}

bool Holds::release(storage::WriteTxn& txn, const std::string& referral_id) {
  auto h = find_hold(txn, referral_id);
  auto r = referrals_.find(txn, referral_id);
  if (!h || !r || h->waiting()) return false;
  txn.del(holds_, referral_id);
  txn.del(queue_, common::be64(static_cast<std::uint64_t>(h->until)) + referral_id);
  return end_hold(txn, *r);
}

bool Holds::end_hold(storage::WriteTxn& txn, Referral& r) {
  auto candidate = candidates_.find(txn, r.candidate_id);
  auto member = members_.find(txn, r.member_id);
  std::string_view dropped;
  if (!candidate || candidate->status == candidates::Status::erased)
    dropped = protocol::drop_reason::erased;
  else if (!candidate->consent.region && !candidate->consent.peers && !candidate->consent.stats)
    dropped = protocol::drop_reason::withdrawn;
  else if (!member || !member->active)
    dropped = protocol::drop_reason::member_suspended;
  if (!dropped.empty()) {
    ledger_.append(txn, protocol::referral_dropped(r.member_id, r.id, dropped));
    r.stage = "dropped";
    referrals_.save(txn, r);
    return false;
  }
  r.stage = "counted";
  r.counted = true;
  referrals_.save(txn, r);
  return credits_.record_counted(txn, r.member_id, r.id, referrals_.ledger_pseudonym(r));
}

std::size_t Holds::release_due(storage::WriteTxn& txn, std::size_t limit) {
  const auto now = clock_.now_ms();
  std::vector<std::string> due;
  txn.for_each_prefix(queue_, "", [&](std::string_view key, std::string_view) {
    if (due.size() >= limit || static_cast<std::int64_t>(common::from_be64(key.substr(0, 8))) > now)
      return false;
    due.emplace_back(key.substr(8));
    return true;
  });
  for (const auto& id : due) release(txn, id);
  return due.size();
}

ReviewItem Holds::item(const storage::Txn& txn, const Referral& r, const HoldRecord& h) const {
  auto member = members_.find(txn, r.member_id);
  return ReviewItem{r.id,    r.member_id, member ? member->name : "", r.verified_ms, h.until,
                    h.flags, h.domain};
}

std::optional<Holds::QueueSlice> Holds::queue_slice(const storage::Txn& txn,
                                                    const ReviewQuery& query) const {
  std::string from;
  if (!query.after.empty()) {
    auto last = referrals_.find(txn, query.after);
    if (!last) return std::nullopt;
    from = review_key(*last) + '\0';  // the first key past it
  }
  QueueSlice slice;
  auto take = [&](std::string_view review_key) {
    if (slice.ids.size() == query.limit) {
      slice.more = true;
      return false;
    }
    slice.ids.emplace_back(review_key.substr(8));
    return true;
  };
  if (query.member.empty()) {
    txn.for_each_range(review_, from, {},
                       [&](std::string_view key, std::string_view) { return take(key); });
    return slice;
  }
  // One member's: their own keys, in the same order (a flood of another member's referrals
  // in between is not walked, page after page, nor by decide_member's batches in the Writer).
  const auto prefix = member_review_key(query.member, "");
  txn.for_each_range(review_by_member_, prefix + from, {},
                     [&](std::string_view key, std::string_view) {
                       if (key.substr(0, prefix.size()) != prefix) return false;
                       return take(key.substr(prefix.size()));
                     });
  return slice;
}

std::optional<ReviewPage> Holds::in_review(const storage::Txn& txn,
                                           const ReviewQuery& query) const {
  auto slice = queue_slice(txn, query);
  if (!slice) return std::nullopt;
  ReviewPage page;
  page.more = slice->more;
  if (!slice->ids.empty()) page.last = slice->ids.back();
  for (const auto& id : slice->ids) {
    auto h = find_hold(txn, id);
    auto r = referrals_.find(txn, id);
    // The queue lists only holds that wait (written with them); one that does not could
    // never be decided, so it is not shown either.
    if (h && r && h->waiting()) page.items.push_back(item(txn, *r, *h));
  }
  return page;
}

std::vector<ReviewCount> Holds::waiting_by_member(const storage::Txn& txn) const {
  std::map<std::string, std::size_t> counts;
  txn.for_each_prefix(review_, "", [&](std::string_view, std::string_view member) {
    ++counts[std::string(member)];
  });
  std::vector<ReviewCount> out;
  out.reserve(counts.size());
  for (auto& [member, n] : counts) {
    auto m = members_.find(txn, member);
    out.push_back(ReviewCount{member, m ? m->name : "", n});
  }
  std::stable_sort(out.begin(), out.end(), [](const ReviewCount& a, const ReviewCount& b) {
    return a.waiting > b.waiting;
  });
  return out;
}

std::size_t Holds::waiting_count(const storage::Txn& txn) const {
  return txn.count(review_);
}

std::size_t Holds::decide_member(storage::WriteTxn& txn, const std::string& member_id, bool accept,
                                 std::size_t limit) {
  // The ids alone: decide() reads each referral and hold (and skips one no longer waiting).
  const auto slice = queue_slice(txn, ReviewQuery{limit, "", member_id});
  std::size_t n = 0;
  for (const auto& id : slice->ids) n += decide(txn, id, accept) ? 1 : 0;
  return n;
}

common::Result<ReviewItem, ReviewError> Holds::decide(storage::WriteTxn& txn,
                                                      const std::string& referral_id, bool accept) {
  auto r = referrals_.find(txn, referral_id);
  if (!r) return common::fail(ReviewError::not_found);
  auto h = find_hold(txn, referral_id);
  if (!h || !h->waiting()) return common::fail(ReviewError::not_in_review);
  auto shown = item(txn, *r, *h);
  if (accept) {
    ledger_.append(txn, protocol::referral_accepted(h->member, referral_id));
    h->accepted = true;
    save_hold(txn, *r, *h);
    r->stage = "held";
    referrals_.save(txn, *r);
    if (h->until <= clock_.now_ms()) release(txn, referral_id);
  } else {
    ledger_.append(txn, protocol::referral_rejected(h->member, referral_id));
    txn.del(holds_, referral_id);
    txn.del(review_, review_key(*r));
    txn.del(review_by_member_, member_review_key(h->member, review_key(*r)));
    r->stage = "rejected";
    referrals_.save(txn, *r);
  }
  return shown;
}

}  // namespace relay::node::referrals
