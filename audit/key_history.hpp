#pragma once
// The node's signing key along its log. Entry 0 is node_initialised and carries the first
// key (data.signing_key, base64), signing itself. A key_rotated entry is signed by the key it
// replaces (data.old_key is that key's fingerprint) and hands over to data.new_key for every
// entry after it. The caller verifies each entry's signature with current() and calls
// rotate() only for a key_rotated entry whose signature verified, so an unauthenticated
// rotation changes nothing.
//
// Thread safety: a plain value; one thread at a time.
#include <cstdint>
#include <optional>
#include <vector>

#include "audit/problem_list.hpp"
#include "crypto/keys.hpp"
#include "protocol/ledger_entry.hpp"

namespace relay::audit {

class KeyHistory {
 public:
  // The key that must sign the next entries; nullopt until one is known.
  const std::optional<crypto::Ed25519PublicKey>& current() const { return current_; }

  // Takes the first key from entry 0, which must be node_initialised; problems name entry 0.
  void start(const protocol::LedgerEntry& genesis, ProblemList& problems);
  // Uses `key` when the log itself gives none (entry 0 unreadable), so that the remaining
  // entries are still checked. Does nothing if a key is known already.
  void assume(const crypto::Ed25519PublicKey& key);
  // Applies the key_rotated entry at `position` whose signature verified under current().
  void rotate(const protocol::LedgerEntry& entry, std::uint64_t position, ProblemList& problems);

  std::uint64_t rotations() const { return rotations_; }
  // Every key that was in force, oldest first.
  const std::vector<crypto::Ed25519PublicKey>& keys() const { return keys_; }
  // The entry after which the current key took over (0 for the first key).
  std::uint64_t current_since() const { return since_; }

 private:
  void set(const crypto::Ed25519PublicKey& key, std::uint64_t since);

  std::optional<crypto::Ed25519PublicKey> current_;
  std::vector<crypto::Ed25519PublicKey> keys_;
  std::uint64_t rotations_ = 0;
  std::uint64_t since_ = 0;
};

// The 32-byte Ed25519 key in data[field] (base64); nullopt if absent or malformed.
std::optional<crypto::Ed25519PublicKey> key_field(const protocol::LedgerEntry& entry,
                                                  const char* field);

}  // namespace relay::audit
