#pragma once
// RFC 6962 / RFC 9162 Merkle tree maths, with no storage of its own.
//
//   leaf hash  = SHA-256(0x00 || entry)
//   node hash  = SHA-256(0x01 || left || right)
//   empty root = SHA-256("")
//   MTH(D[n])  = the RFC 9162 section 2.1.1 tree hash: for n > 1, split at k, the largest power
//                of two smaller than n: node_hash(MTH(D[0:k]), MTH(D[k:n])).
//
// Storage model: a log stores the hash of every complete (perfect) subtree, addressed by
// SubtreeKey{level, index}: level 0 holds the leaf hashes, and (level, index) covers leaves
// [index << level, (index + 1) << level). Incomplete right-edge nodes are never stored; they
// are recomputed from at most 64 complete subtrees. append() says what to store for each new
// leaf; root(), inclusion_proof() and consistency_proof() read O(log n) subtrees through a
// SubtreeReader that the caller implements (the node over LMDB, tests over a std::map).
//
// Thread safety: the free functions are pure; a SubtreeReader is only used for the duration of
// the call, from the calling thread. MemoryTree is a plain value: const members may be called
// concurrently, append must not race with anything.
#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"

namespace relay::protocol {

using Hash = crypto::Sha256Digest;  // std::array<std::uint8_t, 32>
using crypto::ByteView;

// SHA-256(0x00 || entry).
Hash leaf_hash(ByteView entry);
// SHA-256(0x01 || left || right).
Hash node_hash(const Hash& left, const Hash& right);
// SHA-256 of the empty string: the root of the empty tree.
Hash empty_root();

// A complete subtree: level 0 = a leaf; covers leaves [index << level, (index + 1) << level).
struct SubtreeKey {
  std::uint8_t level = 0;
  std::uint64_t index = 0;
  auto operator<=>(const SubtreeKey&) const = default;
};

// Read access to the stored complete-subtree hashes. Implementations return nullopt for a
// subtree they do not hold; the functions below turn that into MissingSubtree.
class SubtreeReader {
 public:
  virtual ~SubtreeReader() = default;
  virtual std::optional<Hash> subtree(std::uint8_t level, std::uint64_t index) const = 0;
};

// Thrown when a SubtreeReader lacks a subtree that a tree of the given size must have: the
// storage is corrupt or the caller passed a size larger than the stored tree. This is the
// environment failing, not bad input, hence an exception.
class MissingSubtree : public std::runtime_error {
 public:
  MissingSubtree(std::uint8_t level, std::uint64_t index);
  std::uint8_t level;
  std::uint64_t index;
};

// The subtree hashes to store when leaf number `size` (0-based, so the tree grows from `size`
// to size + 1 leaves) with hash `leaf` is appended: {0, size} -> leaf first, then every parent
// that the new leaf completes, lowest level first. Reads one stored sibling per parent.
// Precondition (asserted): size < 2^64 - 1. Throws MissingSubtree if a sibling is not stored.
std::vector<std::pair<SubtreeKey, Hash>> append(const SubtreeReader& reader, std::uint64_t size,
                                                const Hash& leaf);

// MTH of the first `size` leaves; empty_root() for size 0. This and the two proof functions
// read O(log size) subtrees and throw MissingSubtree if one that a tree of `size` leaves must
// have is not stored (corrupt storage, or size beyond the stored tree).
Hash root(const SubtreeReader& reader, std::uint64_t size);

// RFC 9162 section 2.1.3.1 inclusion proof (PATH) for leaf `index` in the tree of `size`
// leaves, ordered from the leaf's sibling upwards. nullopt if index >= size.
std::optional<std::vector<Hash>> inclusion_proof(const SubtreeReader& reader, std::uint64_t index,
                                                 std::uint64_t size);

// RFC 9162 section 2.1.4.1 consistency proof (PROOF) from size m to size n. Empty when
// m == 0 or m == n (verify_consistency refuses m == 0: nothing can be proven about an empty
// tree); nullopt if m > n.
std::optional<std::vector<Hash>> consistency_proof(const SubtreeReader& reader, std::uint64_t m,
                                                   std::uint64_t n);

// RFC 9162 section 2.1.3.2. False for index >= size, a proof of the wrong length, or any
// mismatch.
bool verify_inclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf_hash,
                      std::span<const Hash> proof, const Hash& root);

// RFC 9162 section 2.1.4.2, with the edge cases of transparency-dev/merkle's test suite:
// m > n fails; m == 0 fails (an empty tree is consistent with everything, so such a "proof"
// proves nothing and a caller asking for one has a bug); m == n succeeds only with an empty
// proof and root_m == root_n.
bool verify_consistency(std::uint64_t m, std::uint64_t n, std::span<const Hash> proof,
                        const Hash& root_m, const Hash& root_n);

// Streams leaf hashes into a root in O(1) amortised time per leaf and O(log n) memory (a
// compact range: one pending perfect subtree per set bit of the size). For auditors that
// recompute a root from an export of millions of entries.
class RootAccumulator {
 public:
  void add(const Hash& leaf_hash);
  std::uint64_t size() const { return size_; }
  // MTH of the leaves added so far; empty_root() if none.
  Hash root() const;

 private:
  // Perfect subtrees, largest (leftmost) first; levels strictly decrease.
  std::vector<std::pair<std::uint8_t, Hash>> pending_;
  std::uint64_t size_ = 0;
};

// MTH over the given leaf hashes (not entries): O(n) time, O(log n) memory.
Hash root_from_leaf_hashes(std::span<const Hash> leaf_hashes);

// An in-memory log for tests and tools: the entries plus a std::map of subtree hashes, kept
// exactly as a node keeps them in storage.
class MemoryTree final : public SubtreeReader {
 public:
  // Appends an entry; returns its index.
  std::uint64_t append(ByteView entry);
  std::uint64_t size() const { return entries_.size(); }
  const crypto::Bytes& entry(std::uint64_t index) const { return entries_.at(index); }
  Hash root() const { return protocol::root(*this, size()); }
  Hash root(std::uint64_t size) const { return protocol::root(*this, size); }
  std::optional<std::vector<Hash>> inclusion_proof(std::uint64_t index, std::uint64_t size) const {
    return protocol::inclusion_proof(*this, index, size);
  }
  std::optional<std::vector<Hash>> consistency_proof(std::uint64_t m, std::uint64_t n) const {
    return protocol::consistency_proof(*this, m, n);
  }
  std::optional<Hash> subtree(std::uint8_t level, std::uint64_t index) const override;
  // Number of stored subtree hashes (2n - popcount(n) for n leaves).
  std::size_t stored_subtrees() const { return subtrees_.size(); }

 private:
  std::vector<crypto::Bytes> entries_;
  std::map<SubtreeKey, Hash> subtrees_;
};

}  // namespace relay::protocol
