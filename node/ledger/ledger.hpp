#pragma once
// The node's ledger: an append-only log of signed events (protocol/ledger_entry.hpp) hashed
// into an RFC 6962 Merkle tree (protocol/merkle.hpp), stored in LMDB:
//   ledger_entries  8-byte big-endian index -> entry bytes
//   ledger_tree     1-byte level || 8-byte big-endian index -> 32-byte subtree hash
//   ledger_meta     "size" -> 8-byte big-endian entry count
// append() runs inside the caller's write transaction, so an entry commits or vanishes with
// the state change it records. Appends are O(log n); proofs read O(log n) subtree hashes.
//
// Threads: append() only from Writer requests (one writer); the read functions from any
// thread with its own read txn.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "node/common/clock.hpp"
#include "node/identity/key_ring.hpp"
#include "node/ledger/hash_file.hpp"
#include "node/ledger/subtree_cache.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/txn.hpp"
#include "protocol/event.hpp"
#include "protocol/merkle.hpp"

namespace relay::node::ledger {

struct SignedCheckpoint {
  std::uint64_t size = 0;
  protocol::Hash root{};
  std::string note;  // C2SP signed note of the tlog-checkpoint body
};

class Ledger {
 public:
  // Opens the ledger's databases (at start-up, before any read txn).
  Ledger(storage::Environment& env, std::string origin, const identity::KeyRing& keys,
         const common::Clock& clock);

  // Signs and appends one event; returns its index.
  std::uint64_t append(storage::WriteTxn& txn, const protocol::Event& event);
  // The same, signed with `key` rather than the ring's current key (key rotation: the old
  // key signs key_rotated).
  std::uint64_t append_signed_by(storage::WriteTxn& txn, const protocol::Event& event,
                                 const crypto::Ed25519KeyPair& key);

  std::uint64_t size(const storage::Txn& txn) const;
  std::optional<std::string> entry(const storage::Txn& txn, std::uint64_t index) const;
  protocol::Hash root(const storage::Txn& txn, std::uint64_t size) const;
  std::optional<std::vector<protocol::Hash>> inclusion_proof(const storage::Txn& txn,
                                                             std::uint64_t index,
                                                             std::uint64_t size) const;
  std::optional<std::vector<protocol::Hash>> consistency_proof(const storage::Txn& txn,
                                                               std::uint64_t m,
                                                               std::uint64_t n) const;
  // The checkpoint for the tree as the txn sees it, signed with the current key. The last one
  // signed is kept and returned again while the size, root and key are the same (Ed25519 is
  // deterministic: signing again would give the same note), so a busy GET
  // /audit/v1/checkpoint signs once per new entry, not once per request.
  SignedCheckpoint checkpoint(const storage::Txn& txn) const;
  // The note verifier key of the current signing key ("<origin>+<keyid>+<base64>").
  std::string verifier_key() const;

  const std::string& origin() const { return origin_; }
  // The clock that stamps entries (and that the rooms built on the ledger share).
  const common::Clock& clock() const { return clock_; }
  // The candidate as an entry of `scope` names them (identity/scoped_pseudonym.hpp): scope
  // "member/<id>", "peer/<name>" or "erased". No two scopes share a value.
  std::string pseudonym(std::string_view scope, std::string_view candidate_pseudonym) const;
  // How many upper subtree hashes the ledger keeps in memory (tests).
  std::size_t cached_subtrees() const { return subtrees_->size(); }

  // Keeps the subtree hashes also in the file at `path` (hash_file.hpp), which proofs and
  // roots in read txns then read before LMDB. What the file holds is checked against LMDB
  // first (the newest hash of each level); a file that differs, or holds more leaves than
  // the ledger, starts again. At start-up, before serving.
  void keep_hashes_in(storage::Environment& env, const std::filesystem::path& path);
  // Copies the hashes of committed entries the file lacks into it, at most `at_most` leaves;
  // returns how many it copied (0 without a file). Reads in read txns of 64k leaves each and
  // releases the map's pages after each full one (a first copy reads the whole tree).
  std::uint64_t write_hash_file(storage::Environment& env, std::uint64_t at_most);
  // Leaves the file holds (0 without a file).
  std::uint64_t hash_file_leaves() const { return hashes_ ? hashes_->leaves() : 0; }

 private:
  std::string origin_;
  const identity::KeyRing& keys_;
  const common::Clock& clock_;
  storage::Database entries_;
  storage::Database tree_;
  storage::Database meta_;
  struct CheckpointCache {
    std::mutex mutex;
    std::optional<SignedCheckpoint> last;
    bool committed = false;             // `last` was computed in a read txn: of committed entries
    crypto::Ed25519PublicKey signer{};  // the key that signed `last`
  };
  std::unique_ptr<CheckpointCache> checkpoint_cache_ = std::make_unique<CheckpointCache>();
  // Upper subtree hashes read from committed snapshots (proofs at 10M entries read ~6 from
  // LMDB instead of ~24).
  std::unique_ptr<SubtreeCache> subtrees_ = std::make_unique<SubtreeCache>();
  // The same hashes read with pread(), outside the map (keep_hashes_in()).
  std::unique_ptr<HashFile> hashes_;
};

}  // namespace relay::node::ledger
