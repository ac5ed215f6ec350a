#include "node/federation/profile_exchange.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "node/candidates/vault.hpp"
#include "node/common/text.hpp"
#include "node/federation/body_fields.hpp"
#include "node/members/member.hpp"
#include "node/storage/index_marks.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::federation {

namespace {

using body::has_exactly;
using body::non_negative;
using body::text;

constexpr std::size_t kMaxSkills = 50;
constexpr std::size_t kMaxSyncParts = 100000;

HandlerResult bad_body(const std::string& message) {
  return HandlerResult::refuse(400, "bad_body", message);
}

// A {ref, region, profile} item of an upsert or a sync.
struct Item {
  std::string ref;
  std::string region;
  nlohmann::json profile;
};

std::optional<Item> parse_item(const nlohmann::json& j) {
  auto ref = text(j, "ref", 32);
  auto region = text(j, "region", 16);
  if (!ref || !valid_ref(*ref) || !region || !j.contains("profile")) return std::nullopt;
  auto profile = parse_anonymised_profile(j["profile"]);
  if (!profile) return std::nullopt;
  return Item{*ref, *region, *profile};
}

std::string pool_key(const std::string& peer, const std::string& ref) {
  return peer + "/" + ref;
}

// The owner of a received profile's key slot (candidates/key_slots.hpp).
std::string pool_owner(std::string_view key) {
  return "pool/" + std::string(key);
}

}  // namespace

nlohmann::json anonymised_profile(const candidates::Profile& p) {
  return {{"job_category", p.job_category},
          {"skills", p.skills},
          {"prefecture", p.prefecture},
          {"age_band", p.age_band},
          {"experience_band", p.experience_band}};
}

std::optional<nlohmann::json> parse_anonymised_profile(const nlohmann::json& j) {
  if (!has_exactly(j, {"job_category", "skills", "prefecture", "age_band", "experience_band"}))
    return std::nullopt;
  for (const char* f : {"job_category", "prefecture", "age_band", "experience_band"})
    if (!text(j, f, 16)) return std::nullopt;
  const auto& skills = j["skills"];
  if (!skills.is_array() || skills.size() > kMaxSkills) return std::nullopt;
  for (const auto& s : skills) {
    if (!s.is_string()) return std::nullopt;
    auto cleaned = common::clean_text(s.get_ref<const std::string&>(), 64);
    if (!cleaned || *cleaned != s.get_ref<const std::string&>()) return std::nullopt;
  }
  return j;
}

bool valid_ref(const std::string& s) {
  if (s.size() != 26 || s.rfind("p_", 0) != 0) return false;
  return std::all_of(s.begin() + 2, s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

ProfileExchange::ProfileExchange(Federation& federation, candidates::Store& candidates)
    : federation_(federation),
      candidates_(candidates),
      region_(federation.config().node.region),
      max_profiles_(federation.config().federation.max_profiles_per_peer),
      sync_timeout_ms_(std::chrono::duration_cast<std::chrono::milliseconds>(
                           federation.config().federation.sync_timeout_s)
                           .count()),
      shared_(federation.env().database("profiles_shared")),
      meta_(federation.env().database("profile_meta")),
      pool_(federation.env().database("peer_pool")),
      pool_state_(federation.env().database("peer_pool_state")),
      local_refs_(federation.env().database("local_refs")),
      index_marks_(federation.env().database(storage::kIndexMarks)) {
  // A withdrawal of consent stops circulation however long the peer is away.
  federation_.never_give_up<protocol::ProfileWithdraw>();
  federation_.on<protocol::ProfileUpsert>(
      [this](storage::WriteTxn& txn, const protocol::ProfileUpsert& m, const protocol::Envelope&,
             const Peer& p) { return on_upsert(txn, m, p); });
  federation_.on<protocol::ProfileWithdraw>(
      [this](storage::WriteTxn& txn, const protocol::ProfileWithdraw& m, const protocol::Envelope&,
             const Peer& p) { return on_withdraw(txn, m, p); });
  federation_.on<protocol::ProfilesSync>(
      [this](storage::WriteTxn& txn, const protocol::ProfilesSync& m, const protocol::Envelope&,
             const Peer& p) { return on_sync(txn, m, p); });
  federation_.outbox().feed().complete(
      std::string(protocol::ProfileUpsert::type),
      [this](const storage::Txn& txn, const nlohmann::json& stored) {
        return upsert_body(txn, stored);
      });
  federation_.peers().on_activated([this](storage::WriteTxn& txn, const Peer& p) {
    // A new peer reads the feed from its end: the sync brings it everything before.
    federation_.outbox().feed().add_cursor(txn, p.name, true);
    sync_to(txn, p.name);
  });
}

std::string ProfileExchange::ref_of(const std::string& candidate_id) const {
  auto keys = federation_.keys().current();
  auto digest = crypto::blake2b_keyed(keys->token_key, crypto::as_bytes("profile/" + candidate_id));
  return "p_" + crypto::to_hex(digest).substr(0, 24);
}

bool ProfileExchange::circulating(const candidates::CandidateRecord& r) {
  return r.status == candidates::Status::active && r.origin == "local" && r.consent.peers;
}

std::int64_t ProfileExchange::next_seq(storage::WriteTxn& txn) {
  std::int64_t seq = 1;
  if (auto v = txn.get(meta_, "seq")) seq = std::stoll(*v) + 1;
  txn.put(meta_, "seq", std::to_string(seq));
  return seq;
}

void ProfileExchange::candidate_changed(storage::WriteTxn& txn,
                                        const candidates::CandidateRecord& record) {
  if (record.origin != "local") return;
  auto ref = ref_of(record.id);
  if (record.in_regional_pool())
    txn.put(local_refs_, ref, record.id);
  else
    txn.del(local_refs_, ref);
  auto shared = txn.get(shared_, ref);
  std::optional<nlohmann::json> profile;
  if (circulating(record))
    if (auto opened = candidates_.open(record)) profile = anonymised_profile(opened->profile);
  if (profile) {
    if (shared && shared_profile(txn, nlohmann::json::parse(*shared)) == *profile)
      return;  // peers have it
    auto seq = next_seq(txn);
    // Sealed under the candidate's key: erasure makes every old copy unreadable.
    auto sealed = candidates_.seal_for(record, *profile, "profile");
    if (!sealed) return;
    txn.put(shared_, ref,
            nlohmann::json{{"candidate", record.id}, {"sealed", *sealed}, {"seq", seq}}.dump());
    // Once for every peer, replacing what was queued about the ref (a peer behind gets the
    // newest only). A suspended peer gets it when reinstated, after the full set. Only the
    // ref and seq are stored: the profile is read from shared_ when sent (upsert_body).
    federation_.outbox().feed().publish(txn, std::string(protocol::ProfileUpsert::type), ref,
                                        {{"ref", ref}, {"seq", seq}}, federation_.clock().now_ms());
    return;
  }
  if (!shared) return;
  auto seq = next_seq(txn);
  txn.del(shared_, ref);
  // An upsert queued by a node from before the feed would carry the profile after the
  // candidate withdrew: drop it. The feed's upsert is replaced by the withdrawal.
  federation_.outbox().drop_about(txn, std::string(protocol::ProfileUpsert::type), ref);
  // Every peer, suspended ones too (they may hold it), until each has it.
  federation_.outbox().feed().publish(txn, std::string(protocol::ProfileWithdraw::type), ref,
                                      protocol::ProfileWithdraw{ref, seq}.to_json(),
                                      federation_.clock().now_ms());
}

std::optional<nlohmann::json> ProfileExchange::upsert_body(const storage::Txn& txn,
                                                           const nlohmann::json& stored) const {
  const auto ref = stored.at("ref").get<std::string>();
  const auto seq = stored.at("seq").get<std::int64_t>();
  auto v = txn.get(shared_, ref);
  if (!v) return std::nullopt;
  auto entry = nlohmann::json::parse(*v);
  // A later change of the ref replaced this message in the same txn as it changed shared_:
  // a different seq here is a message that is no longer in the feed.
  if (entry.value("seq", std::int64_t{0}) != seq) return std::nullopt;
  auto profile = shared_profile(txn, entry);
  if (!profile) return std::nullopt;
  return protocol::ProfileUpsert{ref, region_, std::move(*profile), seq}.to_json();
}

std::string ProfileExchange::outbox_subject(const OutboxEntry& e) {
  if (e.type != protocol::ProfileUpsert::type || !e.body.is_object()) return "";
  auto ref = e.body.find("ref");
  return ref != e.body.end() && ref->is_string() ? ref->get<std::string>() : "";
}

void ProfileExchange::sync_to(storage::WriteTxn& txn, const std::string& peer) {
  auto seq = next_seq(txn);
  std::vector<nlohmann::json> items;
  std::vector<std::pair<std::string, nlohmann::json>> shared;
  txn.for_each_prefix(shared_, "p_", [&](std::string_view key, std::string_view value) {
    shared.emplace_back(std::string(key), nlohmann::json::parse(value));
  });
  for (const auto& [ref, j] : shared)
    if (auto profile = shared_profile(txn, j))
      items.push_back({{"ref", ref}, {"region", region_}, {"profile", *profile}});
  auto parts = std::max<std::size_t>(1, (items.size() + kSyncPartSize - 1) / kSyncPartSize);
  for (std::size_t part = 0; part < parts; ++part) {
    nlohmann::json profiles = nlohmann::json::array();
    for (auto i = part * kSyncPartSize; i < items.size() && i < (part + 1) * kSyncPartSize; ++i)
      profiles.push_back(items[i]);
    federation_.enqueue(txn, peer,
                        protocol::ProfilesSync{seq, static_cast<std::int64_t>(part),
                                               static_cast<std::int64_t>(parts), profiles});
  }
}

std::optional<std::string> ProfileExchange::candidate_for(const storage::Txn& txn,
                                                          const std::string& ref) const {
  if (!valid_ref(ref)) return std::nullopt;
  auto v = txn.get(shared_, ref);
  if (!v) return std::nullopt;
  return nlohmann::json::parse(*v).at("candidate").get<std::string>();
}

std::optional<std::string> ProfileExchange::local_candidate_for(const storage::Txn& txn,
                                                                const std::string& ref) const {
  if (!valid_ref(ref)) return std::nullopt;
  auto v = txn.get(local_refs_, ref);
  if (!v) return std::nullopt;
  return std::string(*v);
}

std::size_t ProfileExchange::index_existing(storage::WriteTxn& txn) {
  // Peers from before the feed read it from its start (it holds only what came since).
  for (const auto& p : federation_.peers().list(txn))
    federation_.outbox().feed().add_cursor(txn, p.name, false);
  std::size_t n = 0;
  storage::build_index_once(txn, index_marks_, "local_refs", [&] {
    std::vector<std::string> ids;
    candidates_.for_each(txn, [&](const candidates::CandidateRecord& r) {
      if (r.in_regional_pool()) ids.push_back(r.id);
      return true;
    });
    for (const auto& id : ids) txn.put(local_refs_, ref_of(id), id);
    n = ids.size();
  });
  return n;
}

std::vector<PoolEntry> ProfileExchange::peer_pool(const storage::Txn& txn) const {
  std::vector<PoolEntry> out;
  for (const auto& p : federation_.peers().list(txn)) {
    if (!p.active) continue;
    // What an abandoned sync brought is not listed, even before it is dropped.
    auto abandoned = expired_sync(peer_state(txn, p.name));
    txn.for_each_prefix(pool_, p.name + "/", [&](std::string_view key, std::string_view value) {
      auto j = nlohmann::json::parse(value);
      if (abandoned && j.at("seq").get<std::int64_t>() == *abandoned) return;
      if (auto profile = pool_profile(key, j))
        out.push_back({p.name, std::string(key.substr(p.name.size() + 1)), j.at("region"),
                       std::move(*profile), j.at("received_ms"), j.at("seq")});
    });
  }
  return out;
}

std::vector<PoolEntry> ProfileExchange::held(const storage::Txn& txn) const {
  std::vector<PoolEntry> out;
  txn.for_each_prefix(pool_, "", [&](std::string_view key, std::string_view value) {
    auto slash = key.rfind('/');
    if (slash == std::string_view::npos) return;
    auto j = nlohmann::json::parse(value);
    if (auto profile = pool_profile(key, j))
      out.push_back({std::string(key.substr(0, slash)), std::string(key.substr(slash + 1)),
                     j.at("region"), std::move(*profile), j.at("received_ms"), j.at("seq")});
  });
  return out;
}

std::optional<std::int64_t> ProfileExchange::hidden_seq(const storage::Txn& txn,
                                                        const std::string& peer) const {
  return expired_sync(peer_state(txn, peer));
}

std::optional<PoolEntry> ProfileExchange::pool_entry(const storage::Txn& txn,
                                                     const std::string& peer,
                                                     const std::string& ref) const {
  if (!valid_ref(ref) || peer.empty() || peer.size() > 64) return std::nullopt;
  auto v = txn.get(pool_, pool_key(peer, ref));
  if (!v) return std::nullopt;
  auto j = nlohmann::json::parse(*v);
  auto profile = pool_profile(pool_key(peer, ref), j);
  if (!profile) return std::nullopt;
  return PoolEntry{peer,       ref, j.at("region"), std::move(*profile), j.at("received_ms"),
                   j.at("seq")};
}

nlohmann::json ProfileExchange::peer_state(const storage::Txn& txn, const std::string& peer) const {
  auto v = txn.get(pool_state_, peer);
  auto state = v ? nlohmann::json::parse(*v) : nlohmann::json{{"floor", 0}};
  if (!state.contains("count")) {
    std::int64_t n = 0;
    txn.for_each_prefix(pool_, peer + "/", [&](std::string_view, std::string_view) { ++n; });
    state["count"] = n;
  }
  return state;
}

std::size_t ProfileExchange::held_from(const storage::Txn& txn, const std::string& peer) const {
  return peer_state(txn, peer).at("count").get<std::size_t>();
}

std::optional<std::int64_t> ProfileExchange::expired_sync(const nlohmann::json& state) const {
  auto it = state.find("sync");
  if (it == state.end() || !it->is_object()) return std::nullopt;
  auto started = it->value("started_ms", std::int64_t{0});
  if (federation_.clock().now_ms() - started <= sync_timeout_ms_) return std::nullopt;
  return it->at("seq").get<std::int64_t>();
}

bool ProfileExchange::drop_expired_sync(storage::WriteTxn& txn, const std::string& peer,
                                        nlohmann::json& state) {
  auto seq = expired_sync(state);
  if (!seq) return false;
  // Entries of that seq came with the abandoned sync only (a later message would have raised
  // their seq); older entries stay, as they would had the sync never started.
  std::vector<std::string> brought;
  txn.for_each_prefix(pool_, peer + "/", [&](std::string_view key, std::string_view value) {
    if (nlohmann::json::parse(value).at("seq").get<std::int64_t>() == *seq)
      brought.emplace_back(key);
  });
  for (const auto& k : brought) drop_entry(txn, k);
  state["count"] =
      state.at("count").get<std::int64_t>() - static_cast<std::int64_t>(brought.size());
  state.erase("sync");
  state["abandoned"] = *seq;
  txn.put(pool_state_, peer, state.dump());
  spdlog::warn("federation: profile sync {} from {} unfinished after {} s: {} profiles dropped",
               *seq, peer, sync_timeout_ms_ / 1000, brought.size());
  return true;
}

std::size_t ProfileExchange::expire_syncs(storage::WriteTxn& txn) {
  std::size_t dropped = 0;
  for (const auto& p : federation_.peers().list(txn)) {
    auto state = peer_state(txn, p.name);
    dropped += drop_expired_sync(txn, p.name, state) ? 1 : 0;
  }
  return dropped;
}

std::int64_t ProfileExchange::last_seq(const storage::Txn& txn, const std::string& peer,
                                       const std::string& ref) const {
  std::int64_t last = peer_state(txn, peer).at("floor").get<std::int64_t>();
  if (auto v = txn.get(pool_, pool_key(peer, ref)))
    last = std::max(last, nlohmann::json::parse(*v).at("seq").get<std::int64_t>());
  if (auto v = txn.get(pool_state_, pool_key(peer, ref)))
    last = std::max<std::int64_t>(last, std::stoll(*v));
  return last;
}

bool ProfileExchange::put_entry(storage::WriteTxn& txn, const std::string& peer,
                                const std::string& ref, const std::string& region,
                                const nlohmann::json& profile, std::int64_t seq) {
  // Sealed under a key of its own, kept in a key slot: withdrawal zeroes it.
  auto key = pool_key(peer, ref);
  auto owner = pool_owner(key);
  auto& slots = candidates_.key_slots();
  std::optional<std::uint32_t> slot;
  std::optional<crypto::AeadKey> aead;
  auto old = txn.get(pool_, key);
  bool added = !old;
  if (old) {
    auto j = nlohmann::json::parse(*old);
    if (j.contains("slot")) {
      slot = j.at("slot").get<std::uint32_t>();
      aead = slots.read(*slot, owner);
    }
  }
  if (!aead) {
    if (slot) slots.release(txn, *slot);
    auto fresh = slots.allocate(txn, owner);
    slot = fresh.index;
    aead = std::move(fresh.key);
  }
  txn.put(pool_, key,
          nlohmann::json{{"region", region},
                         {"slot", *slot},
                         {"sealed", candidates::seal_json(*aead, profile, owner, "profile")},
                         {"received_ms", federation_.clock().now_ms()},
                         {"seq", seq}}
              .dump());
  txn.del(pool_state_, pool_key(peer, ref));
  if (pool_changed_) pool_changed_(peer, ref);
  return added;
}

HandlerResult ProfileExchange::on_upsert(storage::WriteTxn& txn, const protocol::ProfileUpsert& m,
                                         const Peer& peer) {
  auto item = parse_item({{"ref", m.ref}, {"region", m.region}, {"profile", m.profile}});
  auto seq = m.seq >= 0 ? std::optional<std::int64_t>(m.seq) : std::nullopt;
  if (!item || !seq) return bad_body("malformed ref, region, profile or seq");
  auto state = peer_state(txn, peer.name);
  drop_expired_sync(txn, peer.name, state);
  if (*seq <= last_seq(txn, peer.name, item->ref))
    return HandlerResult::accept({{"applied", false}});
  bool held = txn.get(pool_, pool_key(peer.name, item->ref)).has_value();
  if (!held && state.at("count").get<std::size_t>() >= max_profiles_)
    return HandlerResult::refuse(
        409, "profile_quota", "this peer's profiles here are at federation.max_profiles_per_peer");
  if (put_entry(txn, peer.name, item->ref, item->region, item->profile, *seq)) {
    state["count"] = state.at("count").get<std::int64_t>() + 1;
    txn.put(pool_state_, peer.name, state.dump());
  }
  return HandlerResult::accept({{"applied", true}});
}

HandlerResult ProfileExchange::on_withdraw(storage::WriteTxn& txn,
                                           const protocol::ProfileWithdraw& m, const Peer& peer) {
  auto ref = text(nlohmann::json{{"ref", m.ref}}, "ref", 32);
  auto seq = m.seq >= 0 ? std::optional<std::int64_t>(m.seq) : std::nullopt;
  if (!ref || !valid_ref(*ref) || !seq) return bad_body("malformed ref or seq");
  if (*seq <= last_seq(txn, peer.name, *ref)) return HandlerResult::accept({{"applied", false}});
  if (txn.get(pool_, pool_key(peer.name, *ref))) {
    auto state = peer_state(txn, peer.name);
    state["count"] = state.at("count").get<std::int64_t>() - 1;
    txn.put(pool_state_, peer.name, state.dump());
    drop_entry(txn, pool_key(peer.name, *ref));
  }
  txn.put(pool_state_, pool_key(peer.name, *ref), std::to_string(*seq));
  return HandlerResult::accept({{"applied", true}});
}

HandlerResult ProfileExchange::on_sync(storage::WriteTxn& txn, const protocol::ProfilesSync& m,
                                       const Peer& peer) {
  auto non_negative = [](std::int64_t v) {
    return v >= 0 ? std::optional<std::int64_t>(v) : std::nullopt;
  };
  auto seq = non_negative(m.seq);
  auto part = non_negative(m.part);
  auto parts = non_negative(m.parts);
  if (!seq || !part || !parts || *parts < 1 || static_cast<std::size_t>(*parts) > kMaxSyncParts ||
      *part >= *parts)
    return bad_body("malformed seq, part or parts");
  const auto& list = m.profiles;
  if (!list.is_array() || list.size() > 10 * kSyncPartSize)
    return bad_body("profiles: expected an array");
  std::vector<Item> items;
  for (const auto& j : list) {
    auto item = has_exactly(j, {"ref", "region", "profile"}) ? parse_item(j) : std::nullopt;
    if (!item) return bad_body("profiles: malformed item");
    items.push_back(std::move(*item));
  }
  auto state = peer_state(txn, peer.name);
  drop_expired_sync(txn, peer.name, state);
  if (*seq <= state.at("floor").get<std::int64_t>())
    return HandlerResult::accept({{"applied", false}});
  // A part of a sync that was abandoned (timed out and dropped) starts nothing again.
  if (state.contains("abandoned") && state.at("abandoned").get<std::int64_t>() >= *seq)
    return HandlerResult::accept({{"applied", false}});
  auto count = state.at("count").get<std::size_t>();
  std::size_t skipped = 0;
  for (const auto& item : items) {
    if (*seq <= last_seq(txn, peer.name, item.ref)) continue;
    bool held = txn.get(pool_, pool_key(peer.name, item.ref)).has_value();
    if (!held && count >= max_profiles_) {
      ++skipped;
      continue;
    }
    if (put_entry(txn, peer.name, item.ref, item.region, item.profile, *seq)) ++count;
  }
  state["count"] = count;
  // Track the newest sync in progress; an older one still applied its items above.
  auto& sync = state["sync"];
  if (!sync.is_object() || sync.at("seq").get<std::int64_t>() < *seq)
    sync = {{"seq", *seq},
            {"parts", *parts},
            {"received", nlohmann::json::array()},
            {"started_ms", federation_.clock().now_ms()}};
  if (sync.at("seq").get<std::int64_t>() == *seq) {
    auto& received = sync["received"];
    if (std::find(received.begin(), received.end(), *part) == received.end())
      received.push_back(*part);
    if (received.size() >= static_cast<std::size_t>(sync.at("parts").get<std::int64_t>())) {
      txn.put(pool_state_, peer.name, state.dump());
      complete_sync(txn, peer.name, *seq);
      return HandlerResult::accept({{"applied", true}, {"complete", true}, {"skipped", skipped}});
    }
  }
  txn.put(pool_state_, peer.name, state.dump());
  return HandlerResult::accept({{"applied", true}, {"complete", false}, {"skipped", skipped}});
}

void ProfileExchange::complete_sync(storage::WriteTxn& txn, const std::string& peer,
                                    std::int64_t seq) {
  std::vector<std::string> stale;
  txn.for_each_prefix(pool_, peer + "/", [&](std::string_view key, std::string_view value) {
    if (nlohmann::json::parse(value).at("seq").get<std::int64_t>() < seq) stale.emplace_back(key);
  });
  for (const auto& k : stale) drop_entry(txn, k);
  auto count = peer_state(txn, peer).at("count").get<std::int64_t>() -
               static_cast<std::int64_t>(stale.size());
  std::vector<std::string> tombs;
  txn.for_each_prefix(pool_state_, peer + "/", [&](std::string_view key, std::string_view value) {
    if (std::stoll(std::string(value)) < seq) tombs.emplace_back(key);
  });
  for (const auto& k : tombs) txn.del(pool_state_, k);
  txn.put(pool_state_, peer, nlohmann::json{{"floor", seq}, {"count", count}}.dump());
}

std::optional<nlohmann::json> ProfileExchange::shared_profile(const storage::Txn& txn,
                                                              const nlohmann::json& entry) const {
  if (entry.contains("profile")) return entry.at("profile");  // written before sealing
  auto record = candidates_.find(txn, entry.at("candidate").get<std::string>());
  if (!record) return std::nullopt;
  return candidates_.open_for(*record, entry.at("sealed").get<std::string>(), "profile");
}

std::optional<nlohmann::json> ProfileExchange::pool_profile(std::string_view key,
                                                            const nlohmann::json& entry) const {
  if (entry.contains("profile")) return entry.at("profile");  // written before sealing
  auto owner = pool_owner(key);
  auto aead = candidates_.key_slots().read(entry.at("slot").get<std::uint32_t>(), owner);
  if (!aead) return std::nullopt;
  return candidates::open_json(*aead, entry.at("sealed").get<std::string>(), owner, "profile");
}

void ProfileExchange::drop_entry(storage::WriteTxn& txn, const std::string& key) {
  auto v = txn.get(pool_, key);
  if (!v) return;
  auto j = nlohmann::json::parse(*v);
  if (j.contains("slot")) candidates_.key_slots().release(txn, j.at("slot").get<std::uint32_t>());
  txn.del(pool_, key);
  if (auto slash = key.rfind('/'); pool_changed_ && slash != std::string::npos)
    pool_changed_(key.substr(0, slash), key.substr(slash + 1));
}

}  // namespace relay::node::federation
