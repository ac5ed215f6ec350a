#pragma once
// The outbox's feed: messages for every peer, stored once, each peer reading them through a
// cursor of its own. A circulating profile went to every active peer as one outbox entry
// each: a confirmation at a node of a hundred peers wrote a hundred sealed entries in the
// Writer (170 confirmations/s against 2,765 without peers, bench-intake --peers). Publishing
// to the feed writes one entry, whatever the number of peers.
//
// A feed message has a subject (a profile's ref); publishing another message on the same
// subject replaces it, so a peer that is behind gets the newest state of each subject only,
// and what the feed holds is bounded by the number of subjects. The receiver must therefore
// take messages that are idempotent and ordered by a sequence of their own (profiles: the
// sender's seq), since a message may be sent again after a later one was taken.
//
// What is stored is in the clear: only what may be (a profile's ref and seq, never the
// profile). A type whose body holds more registers a `complete` hook that builds the body
// sent from what is stored, at send time, in the reader's txn (profiles: from the profile
// sealed under the candidate's key, so erasure leaves no copy here and publishing takes no
// key slot, whose file is synced with each commit that takes one). A message the hook cannot
// complete (what it was about is gone) is passed over, as delivered.
//
// Cursors: a peer's cursor is the feed seq up to which everything was delivered (or refused
// outright and skipped) and its backoff (attempts, next_ms): a peer's feed is sent oldest
// first and moves on past a message only if nothing before it is still outstanding. Every
// peer has a cursor (add_cursor): a peer added or reinstated starts at the end (it gets the
// full set another way); one that predates the feed, at the start. A peer backing off is
// tried with one message, then with the rest once it gets through. A feed message is never given
// up: one that keeps failing past the give-up horizon raises one "delivery_escalated" alert and
// keeps being retried. Entries every peer has read go at compact().
//
// Database outbox_feed:
//   "e/" || be64(seq)  -> be64(created_ms) || {"type", "id", "subject", "body"}
//   "s/" subject       -> be64(seq) of the subject's entry
//   "c/" peer          -> be64(acked) || be64(next_ms) || {"attempts", "last_error",
//                         "escalated", "refused"}
//   "last"             -> be64(the last seq published)
// The dispatcher reads the 16 bytes at the head of each cursor only.
//
// Threads: writes in the Writer's txn; reads with any txn.
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "node/storage/environment.hpp"

namespace relay::node::federation {

struct OutboxEntry;
struct PeerDelivery;

class OutboxFeed {
 public:
  explicit OutboxFeed(storage::Environment& env);

  // The body sent for a message of `type`, from the body stored (nullopt: what it was about
  // is gone, the message is passed over). Wiring, before serving; one per type.
  using Complete =
      std::function<std::optional<nlohmann::json>(const storage::Txn&, const nlohmann::json&)>;
  void complete(const std::string& type, Complete hook) { complete_[type] = std::move(hook); }

  // Stores a message for every peer, replacing the one on the same subject (non-empty); `body`
  // is stored in the clear (see above). Returns its message id (the same for every peer:
  // receivers key their replays by sender and id).
  std::string publish(storage::WriteTxn& txn, const std::string& type, const std::string& subject,
                      const nlohmann::json& body, std::int64_t now_ms);
  // Gives a peer without a cursor one, at the end (past everything published so far) or at
  // the start. False if it had one.
  bool add_cursor(storage::WriteTxn& txn, const std::string& peer, bool at_end);

  // The peer's messages due at now_ms, oldest first, at most limit, bodies completed (null:
  // to be passed over).
  std::vector<OutboxEntry> due_for(const storage::Txn& txn, const std::string& peer,
                                   std::int64_t now_ms, std::size_t limit) const;
  // Adds the peers with a message due at now_ms.
  void add_peers_with_due(const storage::Txn& txn, std::int64_t now_ms,
                          std::set<std::string>& out) const;
  // Every peer's undelivered messages, peer by peer, oldest first; bodies only if `bodies`.
  // Stops when `add` returns false.
  void each_pending(const storage::Txn& txn, bool bodies,
                    const std::function<bool(OutboxEntry)>& add) const;

  // The attempt at `entry` (a feed message) ended: delivered, or refused for good (state
  // failed: counted and skipped). Moves the peer's cursor past it unless something before it
  // is still outstanding.
  void delivered(storage::WriteTxn& txn, const OutboxEntry& entry);
  // A failed attempt: the peer's backoff becomes the entry's (attempts, next_ms, last error,
  // escalated); a refusal (state failed) is delivered() and counted.
  void update(storage::WriteTxn& txn, const OutboxEntry& entry);
  // Makes the peer's feed due now (a reinstated peer). Returns 1 if it was backing off.
  std::size_t due_now(storage::WriteTxn& txn, const std::string& peer, std::int64_t now_ms);
  // Adds each peer's feed to the operator's figures: queued (messages past its cursor), at
  // risk (published before risky_before_ms), refused, the oldest queued.
  void add_delivery(const storage::Txn& txn, std::int64_t risky_before_ms,
                    std::map<std::string, PeerDelivery>& out) const;
  // Drops the messages every peer has read (a peer of `peers` without a cursor has read
  // none). Returns how many.
  std::size_t compact(storage::WriteTxn& txn, const std::vector<std::string>& peers);

 private:
  struct Cursor {
    std::int64_t acked = 0;
    std::int64_t next_ms = 0;
    std::uint32_t attempts = 0;
    std::string last_error;
    bool escalated = false;
    std::uint64_t refused = 0;
  };
  static Cursor parse_cursor(std::string_view stored);
  std::optional<Cursor> cursor(const storage::Txn& txn, const std::string& peer) const;
  void save(storage::WriteTxn& txn, const std::string& peer, const Cursor& c);
  std::int64_t last(const storage::Txn& txn) const;
  // The peer's entries past `acked`, at most limit.
  void entries_after(const storage::Txn& txn, const std::string& peer, const Cursor& c,
                     std::size_t limit, bool bodies,
                     const std::function<bool(OutboxEntry)>& add) const;
  // The body sent for a stored record (null: passed over).
  nlohmann::json body_of(const storage::Txn& txn, const nlohmann::json& record) const;
  void erase_entry(storage::WriteTxn& txn, std::int64_t seq);

  storage::Database feed_;
  std::map<std::string, Complete> complete_;  // filled while wiring, then read-only
};

}  // namespace relay::node::federation
