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

nlohmann::json to_record(const OutboxEntry& e) {
  nlohmann::json j = {{"peer", e.peer},       {"type", e.type},
                      {"id", e.id},           {"re", e.re},
                      {"body", e.body},       {"attempts", e.attempts},
                      {"next_ms", e.next_ms}, {"created_ms", e.created_ms},
                      {"state", e.state},     {"last_error", e.last_error}};
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
}  // namespace

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
      index_marks_(env.database(storage::kIndexMarks)) {}

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
  auto record = to_record(e);
  if (slots_) {
    record.erase("body");
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
  txn.put(index_, peer_prefix(e.peer) + e.key, "");
  if (!e.subject.empty()) txn.put(index_, subject_prefix(e.type, e.subject) + e.key, "");
}

void Outbox::erase(storage::WriteTxn& txn, const std::string& key) {
  auto v = txn.get(outbox_, key);
  if (!v) return;
  auto j = nlohmann::json::parse(*v);
  if (slots_ && j.contains("slot")) slots_->release(txn, j.at("slot").get<std::uint32_t>());
  txn.del(index_, id_key(j.at("id").get<std::string>()));
  txn.del(index_, peer_prefix(j.at("peer").get<std::string>()) + key);
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
  return out;
}

std::vector<OutboxEntry> Outbox::due_for(const storage::Txn& txn, const std::string& peer,
                                         std::int64_t now_ms, std::size_t limit) const {
  std::vector<OutboxEntry> out;
  const auto prefix = peer_prefix(peer);
  txn.for_each_prefix(index_, prefix, [&](std::string_view index_key, std::string_view) {
    std::string key(index_key.substr(prefix.size()));
    auto value = txn.get(outbox_, key);
    if (!value) return true;
    auto j = nlohmann::json::parse(*value);
    if (j.at("state").get<OutboxState>() == OutboxState::pending &&
        j.at("next_ms").get<std::int64_t>() <= now_ms)
      out.push_back(read(std::move(key), j));
    return out.size() < limit;
  });
  return out;
}

std::set<std::string> Outbox::peers_with_due(const storage::Txn& txn, std::int64_t now_ms) const {
  std::set<std::string> out;
  txn.for_each_prefix(outbox_, "", [&](std::string_view, std::string_view value) {
    auto j = nlohmann::json::parse(value);
    if (j.at("state").get<OutboxState>() == OutboxState::pending &&
        j.at("next_ms").get<std::int64_t>() <= now_ms)
      out.insert(j.at("peer").get<std::string>());
  });
  return out;
}

std::vector<OutboxEntry> Outbox::all(const storage::Txn& txn) const {
  std::vector<OutboxEntry> out;
  auto add = [&](std::string_view key, std::string_view value) {
    out.push_back(read(std::string(key), nlohmann::json::parse(value)));
  };
  txn.for_each_prefix(outbox_, "", add);
  txn.for_each_prefix(given_up_, "", add);
  return out;
}

void Outbox::remove(storage::WriteTxn& txn, const std::string& key) {
  erase(txn, key);
}

void Outbox::update(storage::WriteTxn& txn, const OutboxEntry& e) {
  // A sender loop updates an entry after an attempt; if drop removed it meanwhile (a
  // withdrawn handoff), it must stay removed.
  auto old = txn.get(outbox_, e.key);
  if (!old) return;
  write(txn, e, nlohmann::json::parse(*old));
}

bool Outbox::give_up(storage::WriteTxn& txn, const OutboxEntry& entry, const std::string& why) {
  auto old = txn.get(outbox_, entry.key);
  if (!old) return false;
  erase(txn, entry.key);  // its key slot, its index entries
  auto e = entry;
  e.state = OutboxState::undelivered;
  e.last_error = why;
  auto record = to_record(e);
  record.erase("body");  // nothing is left to send; a sealed body would only be a copy
  txn.put(given_up_, e.key, record.dump());
  return true;
}

std::map<std::string, PeerDelivery> Outbox::delivery(
    const storage::Txn& txn, std::int64_t now_ms, std::chrono::milliseconds give_up_after) const {
  std::map<std::string, PeerDelivery> out;
  const auto risky_after = give_up_after.count() / 2;
  auto count = [&](std::string_view, std::string_view value) {
    auto j = nlohmann::json::parse(value);
    auto& d = out[j.at("peer").get<std::string>()];
    switch (j.at("state").get<OutboxState>()) {
      case OutboxState::pending: {
        ++d.queued;
        auto created = j.at("created_ms").get<std::int64_t>();
        if (now_ms - created > risky_after) ++d.at_risk;
        if (!d.oldest_queued_ms || created < *d.oldest_queued_ms) d.oldest_queued_ms = created;
        break;
      }
      case OutboxState::failed:
        ++d.refused;
        break;
      case OutboxState::undelivered:
        ++d.undelivered;
        break;
    }
  };
  txn.for_each_prefix(outbox_, "", count);
  txn.for_each_prefix(given_up_, "", count);
  return out;
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
    std::vector<std::pair<std::string, std::string>> keys;  // outbox key, peer
    txn.for_each_prefix(outbox_, "", [&](std::string_view key, std::string_view value) {
      keys.emplace_back(key, nlohmann::json::parse(value).at("peer").get<std::string>());
    });
    for (const auto& [key, peer] : keys) txn.put(index_, peer_prefix(peer) + key, "");
    n = std::max(n, keys.size());
  });
  return n;
}

}  // namespace relay::node::federation
