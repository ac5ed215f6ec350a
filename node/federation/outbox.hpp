#pragma once
// The durable outbox. A message is stored (in the same transaction as the state change that
// causes it) before any attempt to send it; the Sender (one loop per peer) delivers due
// messages, oldest first, each with a fresh timestamp and signature but the same id and body,
// so the receiver answers a retry with its original reply and applies it once. Failures back off
// exponentially (retry_initial_ms doubling to retry_max_ms), persisted, so a peer that was down for
// a while gets everything once it is back. A peer that refuses a message outright (4xx) gets it
// marked failed and an operator alert. An ordinary message still not delivered at the give-up
// horizon (federation.give_up_after_s, the Sender decides) is kept as undelivered, without its
// body: a record for the operator, nothing left to send.
// Messages for every peer (circulating profiles) are stored once, in the outbox's feed
// (outbox_feed.hpp); every read here includes them as entries with feed_seq set, and every
// write (done, update) takes them.
//
// Databases:
//   outbox        8-byte time || random -> JSON entry (pending or failed)
//   outbox_given_up  the same key -> the entry given up (undelivered, no body): kept for the
//                 operator, out of the way of every sender pass
//   outbox_index  "i/<message id>" -> outbox key, "s/<type>/<subject>/<outbox key>" -> ""
//                 for a message enqueued with a subject (e.g. the ref a profile.upsert carries):
//                 a withdrawal drops its queued messages without reading the whole outbox,
//                 and "p/<peer>/<outbox key>" -> state ("" if indexed before the state was
//                 kept there): a peer's entries in creation order (the operator's at-risk
//                 count reads the oldest keys only); "n/<peer>/" || next_ms ||
//                 outbox key -> "" for each pending entry (the dispatcher's look for peers
//                 with something due reads one key per peer, and a peer's sender pass reads
//                 the due entries only, however many a dead peer has queued backing off) and
//                 "c/<peer>/<state>" -> count (the operator's view counts without reading the
//                 outbox). Written and deleted with the entry; built once for older data
//                 directories by index_existing().
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "node/candidates/key_slots.hpp"
#include "node/common/clock.hpp"
#include "node/federation/message_types.hpp"
#include "node/federation/outbox_feed.hpp"
#include "node/storage/environment.hpp"

namespace relay::node::federation {

// failed: refused outright by the peer; undelivered: given up at the horizon.
enum class OutboxState { pending, failed, undelivered };
// Stored and shown as "pending" | "failed" | "undelivered".
NLOHMANN_JSON_SERIALIZE_ENUM(OutboxState, {{OutboxState::pending, "pending"},
                                           {OutboxState::failed, "failed"},
                                           {OutboxState::undelivered, "undelivered"}})

// One peer's delivery as the operator sees it (counts only).
struct PeerDelivery {
  std::size_t queued = 0;                        // pending: waiting or retrying
  std::size_t at_risk = 0;                       // queued for more than half the give-up horizon
  std::size_t refused = 0;                       // failed: refused outright by the peer
  std::size_t undelivered = 0;                   // given up at the horizon
  std::optional<std::int64_t> oldest_queued_ms;  // created_ms of the oldest queued message

  nlohmann::json to_json() const;
};

struct OutboxEntry {
  std::string key;
  std::string peer;
  std::string type;
  std::string id;
  std::string re;
  std::string subject;  // what the message is about, for drop_about (empty: nothing)
  nlohmann::json body;
  std::uint32_t attempts = 0;
  std::int64_t next_ms = 0;
  std::int64_t created_ms = 0;
  OutboxState state = OutboxState::pending;
  std::string last_error;
  bool escalated = false;     // past the horizon and never given up: the operator was alerted
  std::int64_t feed_seq = 0;  // > 0: a message of the feed (outbox_feed.hpp), key empty

  nlohmann::json to_json() const;  // operator view (no body: it may be sealed personal data)
};

class Outbox {
 public:
  Outbox(storage::Environment& env, const common::Clock& clock);

  // Messages for every peer, stored once (outbox_feed.hpp; what it stores is in the clear, not
  // sealed as below). Every read below includes the feed's messages, and every write takes
  // them.
  OutboxFeed& feed() { return feed_; }

  // From now on, bodies are stored sealed under a key of their own in a key slot
  // (candidates/key_slots.hpp), released when the entry leaves: a delivered profile or
  // handoff body leaves nothing readable in LMDB's free pages. Wiring, before serving.
  void seal_bodies_with(candidates::KeySlots& slots);

  // Stores a message for `peer`; make_body gets the new message id (sealed bodies bind it).
  // A non-empty subject (no '/') lets drop_about find it. Returns the id.
  std::string enqueue(storage::WriteTxn& txn, const std::string& peer, const std::string& type,
                      const std::function<nlohmann::json(const std::string& id)>& make_body,
                      const std::string& re = "", const std::string& subject = "");
  // Pending entries due at now_ms, oldest first, at most limit.
  std::vector<OutboxEntry> due(const storage::Txn& txn, std::int64_t now_ms,
                               std::size_t limit) const;
  // The same, for one peer only (its per-peer sender loop).
  std::vector<OutboxEntry> due_for(const storage::Txn& txn, const std::string& peer,
                                   std::int64_t now_ms, std::size_t limit) const;
  // The peers that have at least one pending entry due at now_ms.
  std::set<std::string> peers_with_due(const storage::Txn& txn, std::int64_t now_ms) const;
  // Every entry, the given-up ones last.
  std::vector<OutboxEntry> all(const storage::Txn& txn) const;
  // The operator's view: the first `limit` entries in all()'s order, their bodies left sealed
  // (empty here; to_json() shows none); `truncated` when more follow.
  struct Listing {
    std::vector<OutboxEntry> entries;
    bool truncated = false;
  };
  Listing list(const storage::Txn& txn, std::size_t limit) const;
  void remove(storage::WriteTxn& txn, const std::string& key);
  // The entry was delivered (or its peer is gone): removed, or a feed message read.
  void done(storage::WriteTxn& txn, const OutboxEntry& entry);
  // Rewrites an entry (attempts, backoff, state); does nothing if it has been removed.
  void update(storage::WriteTxn& txn, const OutboxEntry& entry);
  // Gives the entry up: state undelivered, why as its last error, its body and key released.
  // Returns false (and does nothing) if it has been removed meanwhile, or is of the feed.
  bool give_up(storage::WriteTxn& txn, const OutboxEntry& entry, const std::string& why);
  // Per peer: what is queued, at risk (queued longer than half of give_up_after), refused and
  // given up. Peers with nothing in the outbox are absent.
  std::map<std::string, PeerDelivery> delivery(const storage::Txn& txn, std::int64_t now_ms,
                                               std::chrono::milliseconds give_up_after) const;
  // Makes every pending entry of `peer` that waits out a backoff due now (attempts and the
  // rest kept): what was queued for a reinstated peer goes at once, not when the backoff its
  // suspension built up runs out. Bodies are not opened. Returns how many it moved.
  std::size_t due_now(storage::WriteTxn& txn, const std::string& peer);
  // Drops the message if it is still pending (e.g. a withdrawn handoff's delivery); false if
  // it is not in the outbox or has failed.
  bool drop(storage::WriteTxn& txn, const std::string& message_id);
  // Drops the pending messages of `type` enqueued with `subject`; returns how many.
  std::size_t drop_about(storage::WriteTxn& txn, const std::string& type,
                         const std::string& subject);
  // At start-up: indexes entries stored before outbox_index existed, once per data directory
  // (storage/index_marks.hpp); subject_of names an old entry's subject (as its enqueuer
  // would have). Returns how many entries it indexed.
  std::size_t index_existing(storage::WriteTxn& txn,
                             const std::function<std::string(const OutboxEntry&)>& subject_of);

 private:
  static std::string owner(const std::string& key);
  OutboxEntry read(std::string key, const nlohmann::json& record) const;
  // Stores e; `old` is the record it replaces (its key slot is kept).
  void write(storage::WriteTxn& txn, const OutboxEntry& e,
             const std::optional<nlohmann::json>& old);
  void erase(storage::WriteTxn& txn, const std::string& key);
  // Erases the entry at key if it is pending; true if it did.
  bool erase_pending(storage::WriteTxn& txn, const std::string& key);
  void put_index(storage::WriteTxn& txn, const OutboxEntry& e);
  // Where an entry stands in the due index and the counts.
  struct Placement {
    std::string peer;
    OutboxState state = OutboxState::pending;
    std::int64_t next_ms = 0;
  };
  static Placement placement(const nlohmann::json& record);
  void place(storage::WriteTxn& txn, const std::string& key, const std::optional<Placement>& before,
             const std::optional<Placement>& after);

  candidates::KeySlots* slots_ = nullptr;
  const common::Clock& clock_;
  storage::Database outbox_;
  storage::Database given_up_;
  storage::Database index_;
  storage::Database index_marks_;
  OutboxFeed feed_;
};

}  // namespace relay::node::federation
