#include "node/federation/outbox.hpp"

#include <algorithm>

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"
#include "node/candidates/vault.hpp"
#include "node/common/key_encoding.hpp"
#include "node/ledger/ledger.hpp"
#include "node/members/member.hpp"
#include "node/storage/index_marks.hpp"

namespace relay::node::federation {

namespace {
OutboxEntry from_record(std::string key, const nlohmann::json& j, nlohmann::json body) {
  OutboxEntry e;
  e.key = std::move(key);
  e.peer = j.at("peer");
  e.type = j.at("type");
  e.id = j.at("id");
  e.re = j.value("re", "");
  e.subject = j.value("subject", "");
  e.body = std::move(body);
  e.attempts = j.at("attempts");
  e.next_ms = j.at("next_ms");
  e.created_ms = j.at("created_ms");
  e.state = j.at("state");
  e.last_error = j.value("last_error", "");
  e.escalated = j.value("escalated", false);
  return e;
}

// The entry as stored, with its body in the clear or (with_body false) without: a body sealed
// or given up is not copied into the record only to be erased from it. The copy was 8% of an
// enqueue's instructions (callgrind), paid once per peer a confirmation's profile goes to.
nlohmann::json to_record(const OutboxEntry& e, bool with_body) {
  nlohmann::json j = {{"peer", e.peer},
                      {"type", e.type},
                      {"id", e.id},
                      {"re", e.re},
                      {"attempts", e.attempts},
                      {"next_ms", e.next_ms},
                      {"created_ms", e.created_ms},
                      {"state", e.state},
                      {"last_error", e.last_error}};
  if (with_body) j["body"] = e.body;
  if (!e.subject.empty()) j["subject"] = e.subject;
  if (e.escalated) j["escalated"] = true;
  return j;
}

std::string id_key(std::string_view id) {
  return "i/" + std::string(id);
}

std::string subject_prefix(std::string_view type, std::string_view subject) {
  return "s/" + std::string(type) + "/" + std::string(subject) + "/";
}

std::string peer_prefix(std::string_view peer) {
  return "p/" + std::string(peer) + "/";
}

// "n/<peer>/" || 8-byte next_ms || outbox key -> "": a pending entry by when it is due, so
// that finding the peers with something due reads one key per peer, not the outbox.
std::string due_prefix(std::string_view peer) {
  return "n/" + std::string(peer) + "/";
}
// Past every due-index key of the peer: '0' follows '/'.
std::string due_end(std::string_view peer) {
  return "n/" + std::string(peer) + "0";
}
std::string due_key(std::string_view peer, std::int64_t next_ms, std::string_view key) {
  return due_prefix(peer) +
         common::be64(static_cast<std::uint64_t>(std::max<std::int64_t>(0, next_ms))) +
         std::string(key);
}
// The outbox keys under the peer's due-index keys k with first <= k < end, in due order.
std::vector<std::string> due_keys(const storage::Txn& txn, storage::Database index,
                                  std::string_view peer, std::string_view first,
                                  std::string_view end) {
  const auto skip = due_prefix(peer).size() + 8;  // the prefix and next_ms
  std::vector<std::string> keys;
  txn.for_each_range(index, first, end, [&](std::string_view index_key, std::string_view) {
    keys.emplace_back(index_key.substr(skip));
  });
  return keys;
}

std::string state_name(OutboxState state) {
  return nlohmann::json(state).get<std::string>();
}

// "c/<peer>/<state>" -> 8-byte count: how many entries of the peer are in each state, kept on
// every write, so the operator's view counts without reading the outbox.
std::string count_key(std::string_view peer, OutboxState state) {
  return "c/" + std::string(peer) + "/" + state_name(state);
}
void add_count(storage::WriteTxn& txn, storage::Database index, std::string_view peer,
               OutboxState state, std::int64_t delta) {
  auto key = count_key(peer, state);
  std::int64_t n = 0;
  if (auto v = txn.get(index, key)) n = static_cast<std::int64_t>(common::from_be64(*v));
  n = std::max<std::int64_t>(0, n + delta);
  if (n == 0)
    txn.del(index, key);
  else
    txn.put(index, key, common::be64(static_cast<std::uint64_t>(n)));
}
}  // namespace

Outbox::Placement Outbox::placement(const nlohmann::json& j) {
  return {j.at("peer").get<std::string>(), j.at("state").get<OutboxState>(),
          j.at("next_ms").get<std::int64_t>()};
}

nlohmann::json OutboxEntry::to_json() const {
  return {{"peer", peer},
          {"type", type},
          {"id", id},
          {"attempts", attempts},
          {"next_ms", next_ms},
          {"state", state},
          {"created_ms", created_ms},
          {"last_error", last_error},
          {"escalated", escalated}};
}

nlohmann::json PeerDelivery::to_json() const {
  return {{"queued", queued},
          {"at_risk", at_risk},
          {"refused", refused},
          {"undelivered", undelivered},
          {"oldest_queued_ms", oldest_queued_ms ? nlohmann::json(*oldest_queued_ms) : nullptr}};
}

Outbox::Outbox(storage::Environment& env, const common::Clock& clock)
    : clock_(clock),
      outbox_(env.database("outbox")),
      given_up_(env.database("outbox_given_up")),
      index_(env.database("outbox_index")),
      index_marks_(env.database(storage::kIndexMarks)),
      feed_(env) {}

void Outbox::seal_bodies_with(candidates::KeySlots& slots) {
  slots_ = &slots;
}

std::string Outbox::owner(const std::string& key) {
  return "outbox/" + crypto::to_hex(crypto::as_bytes(key));
}

OutboxEntry Outbox::read(std::string key, const nlohmann::json& j) const {
  nlohmann::json body;
  if (j.contains("body")) {
    body = j.at("body");
  } else if (slots_ && j.contains("slot")) {
    // Sealed at rest (a body whose key is gone, which never happens while its entry exists,
    // reads as null).
    auto who = owner(key);
    if (auto aead = slots_->read(j.at("slot").get<std::uint32_t>(), who))
      if (auto opened =
              candidates::open_json(*aead, j.at("sealed").get<std::string>(), who, "body"))
        body = std::move(*opened);
  }
  return from_record(std::move(key), j, std::move(body));
}

void Outbox::write(storage::WriteTxn& txn, const OutboxEntry& e,
                   const std::optional<nlohmann::json>& old) {
  auto record = to_record(e, slots_ == nullptr);
  if (slots_) {
    auto who = owner(e.key);
    std::optional<std::uint32_t> slot;
    std::optional<crypto::AeadKey> aead;
    if (old && old->contains("slot")) {
      slot = old->at("slot").get<std::uint32_t>();
      aead = slots_->read(*slot, who);
    }
    if (!aead) {
      if (slot) slots_->release(txn, *slot);
      auto fresh = slots_->allocate(txn, who);
      slot = fresh.index;
      aead = std::move(fresh.key);
    }
    record["slot"] = *slot;
    record["sealed"] = candidates::seal_json(*aead, e.body, who, "body");
  }
  txn.put(outbox_, e.key, record.dump());
}

void Outbox::put_index(storage::WriteTxn& txn, const OutboxEntry& e) {
  txn.put(index_, id_key(e.id), e.key);
  txn.put(index_, peer_prefix(e.peer) + e.key, state_name(e.state));
  if (!e.subject.empty()) txn.put(index_, subject_prefix(e.type, e.subject) + e.key, "");
}

// Moves an entry's due-index key and state count from `before` (none: new) to `after`
// (none: leaving the outbox).
void Outbox::place(storage::WriteTxn& txn, const std::string& key,
                   const std::optional<Placement>& before, const std::optional<Placement>& after) {
  if (before && after && before->state == after->state && before->next_ms == after->next_ms) return;
  if (before) {
    if (before->state == OutboxState::pending)
      txn.del(index_, due_key(before->peer, before->next_ms, key));
    add_count(txn, index_, before->peer, before->state, -1);
  }
  if (after) {
    if (after->state == OutboxState::pending)
      txn.put(index_, due_key(after->peer, after->next_ms, key), "");
    add_count(txn, index_, after->peer, after->state, +1);
    // The peer index's value names the state (put_index), so that counting a peer's old
    // pending entries reads keys only (delivery()).
    if (before && before->state != after->state)
      txn.put(index_, peer_prefix(after->peer) + key, state_name(after->state));
  }
}

void Outbox::erase(storage::WriteTxn& txn, const std::string& key) {
  auto v = txn.get(outbox_, key);
  if (!v) return;
  auto j = nlohmann::json::parse(*v);
  if (slots_ && j.contains("slot")) slots_->release(txn, j.at("slot").get<std::uint32_t>());
  txn.del(index_, id_key(j.at("id").get<std::string>()));
  txn.del(index_, peer_prefix(j.at("peer").get<std::string>()) + key);
  place(txn, key, placement(j), std::nullopt);
  if (auto subject = j.value("subject", ""); !subject.empty())
    txn.del(index_, subject_prefix(j.at("type").get<std::string>(), subject) + key);
  txn.del(outbox_, key);
}

bool Outbox::erase_pending(storage::WriteTxn& txn, const std::string& key) {
  auto v = txn.get(outbox_, key);
  if (!v) return false;
  if (nlohmann::json::parse(*v).at("state").get<OutboxState>() != OutboxState::pending)
    return false;
  erase(txn, key);
  return true;
}

std::string Outbox::enqueue(storage::WriteTxn& txn, const std::string& peer,
                            const std::string& type,
                            const std::function<nlohmann::json(const std::string& id)>& make_body,
                            const std::string& re, const std::string& subject) {
  OutboxEntry e;
  e.peer = peer;
  e.type = type;
  e.id = "msg_" + crypto::random_token(16);
  e.re = re;
  e.subject = subject;
  e.body = make_body(e.id);
  e.created_ms = e.next_ms = clock_.now_ms();
  e.key = common::be64(static_cast<std::uint64_t>(e.created_ms)) + crypto::random_token(6);
  write(txn, e, std::nullopt);
  put_index(txn, e);
  place(txn, e.key, std::nullopt, Placement{e.peer, e.state, e.next_ms});
  return e.id;
}

std::vector<OutboxEntry> Outbox::due(const storage::Txn& txn, std::int64_t now_ms,
                                     std::size_t limit) const {
  std::vector<OutboxEntry> out;
  txn.for_each_prefix(outbox_, "", [&](std::string_view key, std::string_view value) {
    auto j = nlohmann::json::parse(value);
    if (j.at("state").get<OutboxState>() == OutboxState::pending &&
        j.at("next_ms").get<std::int64_t>() <= now_ms)
      out.push_back(read(std::string(key), j));
    return out.size() < limit;
  });
  std::set<std::string> feed_due;
  feed_.add_peers_with_due(txn, now_ms, feed_due);
  for (const auto& peer : feed_due)
    for (auto& e : feed_.due_for(txn, peer, now_ms, limit - std::min(limit, out.size())))
      out.push_back(std::move(e));
  return out;
}

std::vector<OutboxEntry> Outbox::due_for(const storage::Txn& txn, const std::string& peer,
                                         std::int64_t now_ms, std::size_t limit) const {
  // The due index up to now holds exactly the peer's due entries, so the ones still backing
  // off are never read (a dead peer's backlog of thousands is not parsed on every pass). They
  // are sent oldest first: outbox keys begin with the creation time.
  auto keys = due_keys(txn, index_, peer, due_prefix(peer), due_key(peer, now_ms + 1, ""));
  const auto n = std::min(limit, keys.size());
  std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(n), keys.end());
  std::vector<OutboxEntry> out;
  for (std::size_t i = 0; i < n; ++i) {
    auto value = txn.get(outbox_, keys[i]);
    if (!value) continue;
    out.push_back(read(std::move(keys[i]), nlohmann::json::parse(*value)));
  }
  for (auto& e : feed_.due_for(txn, peer, now_ms, limit - out.size())) out.push_back(std::move(e));
  return out;
}

std::set<std::string> Outbox::peers_with_due(const storage::Txn& txn, std::int64_t now_ms) const {
  // One look per peer: the first key under "n/<peer>/" is its next due entry; the look for the
  // next peer starts past this one's keys.
  std::set<std::string> out;
  std::string from = "n/";
  for (;;) {
    std::optional<std::string> peer;
    std::int64_t next_ms = 0;
    txn.for_each_range(index_, from, "n0", [&](std::string_view key, std::string_view) {
      auto slash = key.find('/', 2);
      if (slash != std::string_view::npos && key.size() >= slash + 9) {
        peer = std::string(key.substr(2, slash - 2));
        next_ms = static_cast<std::int64_t>(common::from_be64(key.substr(slash + 1, 8)));
      }
      return false;
    });
    if (!peer) break;
    if (next_ms <= now_ms) out.insert(*peer);
    from = due_end(*peer);
  }
  feed_.add_peers_with_due(txn, now_ms, out);
  return out;
}

std::vector<OutboxEntry> Outbox::all(const storage::Txn& txn) const {
  std::vector<OutboxEntry> out;
  auto add = [&](std::string_view key, std::string_view value) {
    out.push_back(read(std::string(key), nlohmann::json::parse(value)));
  };
  txn.for_each_prefix(outbox_, "", add);
  feed_.each_pending(txn, true, [&](OutboxEntry e) {
    out.push_back(std::move(e));
    return true;
  });
  txn.for_each_prefix(given_up_, "", add);
  return out;
}

Outbox::Listing Outbox::list(const storage::Txn& txn, std::size_t limit) const {
  Listing out;
  auto add = [&](std::string_view key, std::string_view value) {
    if (out.entries.size() == limit) {
      out.truncated = true;
      return false;
    }
    out.entries.push_back(from_record(std::string(key), nlohmann::json::parse(value), nullptr));
    return true;
  };
  txn.for_each_prefix(outbox_, "", add);
  if (!out.truncated)
    feed_.each_pending(txn, false, [&](OutboxEntry e) {
      if (out.entries.size() == limit) {
        out.truncated = true;
        return false;
      }
      out.entries.push_back(std::move(e));
      return true;
    });
  if (!out.truncated) txn.for_each_prefix(given_up_, "", add);
  return out;
}

void Outbox::remove(storage::WriteTxn& txn, const std::string& key) {
  erase(txn, key);
}

void Outbox::done(storage::WriteTxn& txn, const OutboxEntry& entry) {
  if (entry.feed_seq > 0)
    feed_.delivered(txn, entry);
  else
    erase(txn, entry.key);
}

void Outbox::update(storage::WriteTxn& txn, const OutboxEntry& e) {
  if (e.feed_seq > 0) return feed_.update(txn, e);
  // A sender loop updates an entry after an attempt; if drop removed it meanwhile (a
  // withdrawn handoff), it must stay removed.
  auto old = txn.get(outbox_, e.key);
  if (!old) return;
  auto before = nlohmann::json::parse(*old);
  write(txn, e, before);
  place(txn, e.key, placement(before), Placement{e.peer, e.state, e.next_ms});
}

bool Outbox::give_up(storage::WriteTxn& txn, const OutboxEntry& entry, const std::string& why) {
  if (entry.feed_seq > 0) return false;  // never given up (outbox_feed.hpp)
  auto old = txn.get(outbox_, entry.key);
  if (!old) return false;
  erase(txn, entry.key);  // its key slot, its index entries
  auto e = entry;
  e.state = OutboxState::undelivered;
  e.last_error = why;
  auto record = to_record(e, false);  // nothing is left to send; a sealed body would be a copy
  txn.put(given_up_, e.key, record.dump());
  add_count(txn, index_, e.peer, OutboxState::undelivered, +1);
  return true;
}

std::map<std::string, PeerDelivery> Outbox::delivery(
    const storage::Txn& txn, std::int64_t now_ms, std::chrono::milliseconds give_up_after) const {
  // The counts kept on write ("c/"), then, per peer with something queued, the oldest entries
  // only: the "p/" index is in creation order.
  std::map<std::string, PeerDelivery> out;
  txn.for_each_prefix(index_, "c/", [&](std::string_view key, std::string_view value) {
    auto slash = key.rfind('/');
    auto peer = std::string(key.substr(2, slash - 2));
    auto state = nlohmann::json(std::string(key.substr(slash + 1))).get<OutboxState>();
    auto n = static_cast<std::size_t>(common::from_be64(value));
    auto& d = out[peer];
    (state == OutboxState::pending  ? d.queued
     : state == OutboxState::failed ? d.refused
                                    : d.undelivered) = n;
  });
  const auto risky_before = now_ms - give_up_after.count() / 2;
  static const auto kPending = state_name(OutboxState::pending);
  for (auto& [peer, d] : out) {
    if (d.queued == 0) continue;
    const auto prefix = peer_prefix(peer);
    txn.for_each_prefix(index_, prefix, [&](std::string_view index_key, std::string_view state) {
      // The outbox key begins with the creation time; the value names the state (an entry
      // indexed before it did has none, and its record says).
      const auto key = index_key.substr(prefix.size());
      if (state.empty()) {
        auto value = txn.get(outbox_, key);
        if (!value) return true;
        if (placement(nlohmann::json::parse(*value)).state != OutboxState::pending) return true;
      } else if (state != kPending) {
        return true;
      }
      const auto created = static_cast<std::int64_t>(common::from_be64(key.substr(0, 8)));
      if (!d.oldest_queued_ms) d.oldest_queued_ms = created;
      if (created >= risky_before) return false;  // newer ones are not at risk either
      ++d.at_risk;
      return true;
    });
  }
  feed_.add_delivery(txn, risky_before, out);
  return out;
}

std::size_t Outbox::due_now(storage::WriteTxn& txn, const std::string& peer) {
  // The due index from just after now to the end of the peer's keys: the entries still
  // backing off, and no others.
  const auto now_ms = clock_.now_ms();
  const auto keys = due_keys(txn, index_, peer, due_key(peer, now_ms + 1, ""), due_end(peer));
  for (const auto& key : keys) {
    auto value = txn.get(outbox_, key);
    if (!value) continue;
    auto record = nlohmann::json::parse(*value);
    const auto before = placement(record);
    record["next_ms"] = now_ms;  // the sealed body and its key slot stay as they are
    txn.put(outbox_, key, record.dump());
    place(txn, key, before, Placement{before.peer, before.state, now_ms});
  }
  return keys.size() + feed_.due_now(txn, peer, now_ms);
}

bool Outbox::drop(storage::WriteTxn& txn, const std::string& message_id) {
  auto key = txn.get(index_, id_key(message_id));
  return key && erase_pending(txn, *key);
}

std::size_t Outbox::drop_about(storage::WriteTxn& txn, const std::string& type,
                               const std::string& subject) {
  if (subject.empty()) return 0;
  auto prefix = subject_prefix(type, subject);
  std::vector<std::string> keys;
  txn.for_each_prefix(index_, prefix, [&](std::string_view key, std::string_view) {
    keys.emplace_back(key.substr(prefix.size()));
  });
  std::size_t dropped = 0;
  for (const auto& k : keys) dropped += erase_pending(txn, k);
  return dropped;
}

std::size_t Outbox::index_existing(
    storage::WriteTxn& txn, const std::function<std::string(const OutboxEntry&)>& subject_of) {
  std::size_t n = 0;
  storage::build_index_once(txn, index_marks_, "outbox_index", [&] {
    std::vector<OutboxEntry> entries;
    txn.for_each_prefix(outbox_, "", [&](std::string_view key, std::string_view value) {
      entries.push_back(read(std::string(key), nlohmann::json::parse(value)));
    });
    for (auto& e : entries) {
      if (e.subject.empty()) {
        e.subject = subject_of(e);
        if (!e.subject.empty()) update(txn, e);  // stored with it, so erase() finds its key
      }
      put_index(txn, e);
    }
    n = entries.size();
  });
  // The per-peer index came later than the rest (a directory may have the first and not it).
  storage::build_index_once(txn, index_marks_, "outbox_peer_index", [&] {
    std::vector<std::pair<std::string, Placement>> keys;
    txn.for_each_prefix(outbox_, "", [&](std::string_view key, std::string_view value) {
      keys.emplace_back(key, placement(nlohmann::json::parse(value)));
    });
    for (const auto& [key, p] : keys)
      txn.put(index_, peer_prefix(p.peer) + key, state_name(p.state));
    n = std::max(n, keys.size());
  });
  // And the due index and the counts later still.
  storage::build_index_once(txn, index_marks_, "outbox_due_index", [&] {
    // From scratch: whatever a write since the older node left (none, at start-up) is redone.
    txn.del_prefix(index_, "n/");
    txn.del_prefix(index_, "c/");
    std::vector<std::pair<std::string, Placement>> placed;
    txn.for_each_prefix(outbox_, "", [&](std::string_view key, std::string_view value) {
      placed.emplace_back(key, placement(nlohmann::json::parse(value)));
    });
    for (const auto& [key, p] : placed) place(txn, key, std::nullopt, p);
    std::vector<std::string> given_up;
    txn.for_each_prefix(given_up_, "", [&](std::string_view, std::string_view value) {
      given_up.push_back(nlohmann::json::parse(value).at("peer").get<std::string>());
    });
    for (const auto& peer : given_up) add_count(txn, index_, peer, OutboxState::undelivered, +1);
    n = std::max(n, placed.size());
  });
  return n;
}

}  // namespace relay::node::federation
