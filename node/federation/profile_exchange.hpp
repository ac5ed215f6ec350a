#pragma once
// Profile exchange: anonymised profiles of the candidates who consented to peer regions
// circulate to every active peer, so that members elsewhere can find them; no name or
// contact ever travels this way (personal data crosses only in a handoff, handoff.hpp).
//
// A local candidate is circulating when active, of local origin and consent.peers is true.
// Its anonymised profile (job_category, skills, prefecture, age_band, experience_band) goes
// to peers under a ref that is stable for the candidate and unlinkable across nodes:
//   ref = "p_" + first 24 hex digits of keyed BLAKE2b(token_key, "profile/" + candidate id).
//
// Messages (bodies; every one carries the sender's "seq", see below):
//   profile.upsert   {ref, region, profile, seq}   a profile starts circulating or changes
//   profile.withdraw {ref, seq}                    it stops (consent narrowed, withdrawn, erased)
//   profiles.sync    {seq, part, parts, profiles:[{ref, region, profile}]}
//                    the full set, in parts of at most kSyncPartSize, sent to a peer when it is
//                    added or reinstated; once every part of one sync has arrived it replaces
//                    what the receiver holds from that sender.
// "seq" is the sender's counter, raised by every change it makes. The outbox retries each
// message on its own backoff, so messages may arrive out of order; the receiver applies a
// message for a ref only if its seq is above the last one applied for that ref (entry or
// withdrawal) and above the sender's last completed sync. So a late, stale upsert never
// resurrects a withdrawn profile.
// Upserts and withdrawals go through the outbox's feed (outbox_feed.hpp): stored once for
// every peer, each peer reading it from a cursor; a peer behind gets only the newest message
// about each ref. A suspended peer gets them when reinstated, after the full set; a peer added
// reads the feed from its end (the sync brings what came before).
//
// Quotas: one peer holds at most federation.max_profiles_per_peer profiles here; an upsert
// of a new ref past it is refused (409 profile_quota, which the sender's operator sees as a
// refused delivery), a sync's new refs past it are skipped. A sync whose parts did not all
// arrive within federation.sync_timeout_s is abandoned: the profiles it alone brought are
// dropped (at the peer's next message or by expire_syncs) and no longer listed meanwhile.
//
// Databases:
//   profiles_shared  ref -> {"candidate": id, "sealed": profile sealed under the candidate's
//                    key, "seq": n}   what we circulate (erasure shreds it with the key)
//   profile_meta     "seq" -> decimal counter
//   peer_pool        peer "/" ref -> {"region", "slot", "sealed", "received_ms", "seq"}
//                    received: the profile sealed under a key of its own in a key slot
//                    (candidates/key_slots.hpp, owner "pool/" peer "/" ref), released when the
//                    entry goes (withdrawn, dropped by a sync or an abandoned one), so no old
//                    copy opens
// Entries written before sealing ("profile" in plain) still read until replaced.
//   peer_pool_state  peer -> {"floor": n, "count": profiles held,
//                            "sync": {"seq", "parts", "received": [...], "started_ms"}} and
//                    peer "/" ref -> seq of the withdrawal (tombstone, purged by a later sync)
//   local_refs       ref -> candidate id, for each local active candidate who consented to the
//                    regional pool (what a member of this node may introduce): an introduction
//                    finds its candidate without reading every record. Written by
//                    candidate_changed(); built once for older data directories.
//
// Threads: every mutating call runs inside a Writer request (handlers and hooks included);
// reads with any txn.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "node/candidates/candidate_store.hpp"
#include "node/federation/federation.hpp"

namespace relay::node::federation {

inline constexpr std::size_t kSyncPartSize = 100;

// The five fields of a profile that may circulate.
nlohmann::json anonymised_profile(const candidates::Profile& profile);
// A profile received from a peer: exactly the five fields, strings of bounded length, at most
// 50 skills. nullopt if anything else.
std::optional<nlohmann::json> parse_anonymised_profile(const nlohmann::json& profile);
// True if text has the shape of a ref ("p_" + 24 lower-case hex digits).
bool valid_ref(const std::string& text);

// A profile a peer circulates to us.
struct PoolEntry {
  std::string peer;
  std::string ref;
  std::string region;
  nlohmann::json profile;
  std::int64_t received_ms = 0;
  std::int64_t seq = 0;  // the peer's message that brought it
};

class ProfileExchange {
 public:
  // Registers the message handlers on federation and its peer-activated hook.
  ProfileExchange(Federation& federation, candidates::Store& candidates);

  // The candidate's ref at this node (see above).
  std::string ref_of(const std::string& candidate_id) const;
  // Active, local and consent.peers.
  static bool circulating(const candidates::CandidateRecord& record);

  // To be called in the txn of any change to a local candidate (confirmed, consent changed,
  // withdrawn, erased): publishes profile.upsert to the outbox's feed (once for every peer,
  // outbox_feed.hpp) if the candidate now circulates with a profile peers have not seen, or
  // profile.withdraw if it stopped; either replaces the feed's earlier message about the ref.
  void candidate_changed(storage::WriteTxn& txn, const candidates::CandidateRecord& record);
  // The subject a queued profile.upsert is enqueued with (its ref, so a withdrawal drops it
  // through Outbox::drop_about); empty for any other message. For Outbox::index_existing.
  static std::string outbox_subject(const OutboxEntry& entry);
  // Queues profiles.sync with the full set to one peer.
  void sync_to(storage::WriteTxn& txn, const std::string& peer);

  // The local candidate circulating under ref, if any.
  std::optional<std::string> candidate_for(const storage::Txn& txn, const std::string& ref) const;
  // The local active candidate in the regional pool under ref, if any (local_refs).
  std::optional<std::string> local_candidate_for(const storage::Txn& txn,
                                                 const std::string& ref) const;
  // At start-up: builds local_refs once for a data directory that predates it; returns how
  // many candidates it indexed.
  std::size_t index_existing(storage::WriteTxn& txn);
  // Profiles held from active peers.
  std::vector<PoolEntry> peer_pool(const storage::Txn& txn) const;
  // Every profile held, from any peer, active or not, hidden or not (the pool index's build).
  std::vector<PoolEntry> held(const storage::Txn& txn) const;
  // The seq whose entries peer_pool() hides (a sync of the peer that timed out), if any.
  std::optional<std::int64_t> hidden_seq(const storage::Txn& txn, const std::string& peer) const;
  // `changed(peer, ref)` is called in the txn, on the writer thread, whenever a profile held
  // from a peer is written or dropped (the pool index listens). Set while wiring.
  void on_pool_change(
      std::function<void(const std::string& peer, const std::string& ref)> changed) {
    pool_changed_ = std::move(changed);
  }
  // One profile held from peer (active or not).
  std::optional<PoolEntry> pool_entry(const storage::Txn& txn, const std::string& peer,
                                      const std::string& ref) const;
  // Profiles held from peer (the quota's count).
  std::size_t held_from(const storage::Txn& txn, const std::string& peer) const;
  // Drops every sync past its timeout (in a Writer request; the node runs it every minute).
  // Returns how many were dropped.
  std::size_t expire_syncs(storage::WriteTxn& txn);

 private:
  std::int64_t next_seq(storage::WriteTxn& txn);
  // A profile.upsert's body from what the feed stores of it ({ref, seq}): the profile as
  // shared_ holds it; nullopt if the ref has changed since (or its key is gone).
  std::optional<nlohmann::json> upsert_body(const storage::Txn& txn,
                                            const nlohmann::json& stored) const;
  HandlerResult on_upsert(storage::WriteTxn& txn, const protocol::ProfileUpsert& m,
                          const Peer& peer);
  HandlerResult on_withdraw(storage::WriteTxn& txn, const protocol::ProfileWithdraw& m,
                            const Peer& peer);
  HandlerResult on_sync(storage::WriteTxn& txn, const protocol::ProfilesSync& m, const Peer& peer);
  // The last seq applied for (peer, ref): its entry, its tombstone or the peer's floor.
  std::int64_t last_seq(const storage::Txn& txn, const std::string& peer,
                        const std::string& ref) const;
  // The peer's state, with "count" filled in (counted once for state written before quotas).
  nlohmann::json peer_state(const storage::Txn& txn, const std::string& peer) const;
  // The seq of the peer's sync that timed out and still has entries here, if any.
  std::optional<std::int64_t> expired_sync(const nlohmann::json& state) const;
  // Drops an expired sync of peer (its entries and its tracking) from `state`; true if it did.
  bool drop_expired_sync(storage::WriteTxn& txn, const std::string& peer, nlohmann::json& state);
  // Writes the entry; true if the ref was not held from the peer before.
  bool put_entry(storage::WriteTxn& txn, const std::string& peer, const std::string& ref,
                 const std::string& region, const nlohmann::json& profile, std::int64_t seq);
  // The profile of a profiles_shared / peer_pool entry; nullopt once its key is gone.
  std::optional<nlohmann::json> shared_profile(const storage::Txn& txn,
                                               const nlohmann::json& entry) const;
  std::optional<nlohmann::json> pool_profile(std::string_view key,
                                             const nlohmann::json& entry) const;
  // Removes a peer_pool entry and releases its key slot.
  void drop_entry(storage::WriteTxn& txn, const std::string& key);
  // Ends sync `seq` from peer: drops what it did not refresh, purges older tombstones.
  void complete_sync(storage::WriteTxn& txn, const std::string& peer, std::int64_t seq);

  Federation& federation_;
  candidates::Store& candidates_;
  std::string region_;
  std::size_t max_profiles_;
  std::int64_t sync_timeout_ms_;
  storage::Database shared_;
  storage::Database meta_;
  storage::Database pool_;
  storage::Database pool_state_;
  storage::Database local_refs_;
  storage::Database index_marks_;
  std::function<void(const std::string& peer, const std::string& ref)> pool_changed_;
};

}  // namespace relay::node::federation
