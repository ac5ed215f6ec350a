#include "protocol/merkle.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <limits>
#include <string>

namespace relay::protocol {

namespace {

Hash read_subtree(const SubtreeReader& reader, unsigned level, std::uint64_t index) {
  const auto level8 = static_cast<std::uint8_t>(level);
  if (auto hash = reader.subtree(level8, index)) return *hash;
  throw MissingSubtree(level8, index);
}

// MTH(D[start : start + count]) for a node of the RFC 9162 tree. Every such node starts at a
// multiple of bit_ceil(count), so it splits into the perfect subtrees named by the set bits of
// count, largest first; the incomplete right edge is folded from the right, exactly as MTH
// splits it. Reads popcount(count) subtrees.
Hash range_hash(const SubtreeReader& reader, std::uint64_t start, std::uint64_t count) {
  assert(count > 0 && start % std::bit_ceil(count) == 0);
  std::array<Hash, 64> pieces;
  std::size_t n = 0;
  std::uint64_t offset = start;
  for (int level = 63; level >= 0; --level) {
    const std::uint64_t width = std::uint64_t{1} << level;
    if ((count & width) == 0) continue;
    pieces[n++] = read_subtree(reader, static_cast<unsigned>(level), offset >> level);
    offset += width;
  }
  Hash hash = pieces[n - 1];
  for (std::size_t i = n - 1; i-- > 0;) hash = node_hash(pieces[i], hash);
  return hash;
}

// The largest power of two strictly smaller than n (n >= 2): RFC 9162's split point k.
std::uint64_t split_point(std::uint64_t n) {
  return std::bit_floor(n - 1);
}

}  // namespace

MissingSubtree::MissingSubtree(std::uint8_t level_, std::uint64_t index_)
    : std::runtime_error("merkle: stored subtree (level " + std::to_string(level_) + ", index " +
                         std::to_string(index_) + ") is missing"),
      level(level_),
      index(index_) {}

Hash leaf_hash(ByteView entry) {
  static constexpr std::uint8_t kLeafPrefix[1] = {0x00};
  crypto::Sha256 hasher;
  hasher.update(kLeafPrefix).update(entry);
  return hasher.finish();
}

Hash node_hash(const Hash& left, const Hash& right) {
  std::array<std::uint8_t, 65> buffer;
  buffer[0] = 0x01;
  std::copy(left.begin(), left.end(), buffer.begin() + 1);
  std::copy(right.begin(), right.end(), buffer.begin() + 33);
  return crypto::sha256(buffer);
}

Hash empty_root() {
  return crypto::sha256(ByteView{});
}

std::vector<std::pair<SubtreeKey, Hash>> append(const SubtreeReader& reader, std::uint64_t size,
                                                const Hash& leaf) {
  assert(size < std::numeric_limits<std::uint64_t>::max());
  std::vector<std::pair<SubtreeKey, Hash>> out;
  out.emplace_back(SubtreeKey{0, size}, leaf);
  // The new node at (level, index) is a right child exactly when index is odd; its left
  // sibling is complete and stored, and together they complete the parent.
  Hash hash = leaf;
  std::uint64_t index = size;
  unsigned level = 0;
  while ((index & 1) != 0) {
    hash = node_hash(read_subtree(reader, level, index - 1), hash);
    index >>= 1;
    ++level;
    out.emplace_back(SubtreeKey{static_cast<std::uint8_t>(level), index}, hash);
  }
  return out;
}

Hash root(const SubtreeReader& reader, std::uint64_t size) {
  if (size == 0) return empty_root();
  return range_hash(reader, 0, size);
}

std::optional<std::vector<Hash>> inclusion_proof(const SubtreeReader& reader, std::uint64_t index,
                                                 std::uint64_t size) {
  if (index >= size) return std::nullopt;
  // PATH(m, D[n]) descends from the root; the proof lists the siblings bottom-up.
  std::vector<Hash> path;
  std::uint64_t start = 0;
  std::uint64_t n = size;
  std::uint64_t m = index;
  while (n > 1) {
    const std::uint64_t k = split_point(n);
    if (m < k) {
      path.push_back(range_hash(reader, start + k, n - k));
      n = k;
    } else {
      path.push_back(range_hash(reader, start, k));
      start += k;
      m -= k;
      n -= k;
    }
  }
  std::reverse(path.begin(), path.end());
  return path;
}

std::optional<std::vector<Hash>> consistency_proof(const SubtreeReader& reader, std::uint64_t m,
                                                   std::uint64_t n) {
  if (m > n) return std::nullopt;
  std::vector<Hash> proof;
  if (m == 0 || m == n) return proof;
  // SUBPROOF(m, D[n], b), unrolled; like PATH the hashes are found top-down.
  std::uint64_t start = 0;
  bool whole_old_tree = true;  // RFC 9162's b: the old root is the subtree being descended
  for (;;) {
    if (m == n) {
      if (!whole_old_tree) proof.push_back(range_hash(reader, start, m));
      break;
    }
    const std::uint64_t k = split_point(n);
    if (m <= k) {
      proof.push_back(range_hash(reader, start + k, n - k));
      n = k;
    } else {
      proof.push_back(range_hash(reader, start, k));
      start += k;
      m -= k;
      n -= k;
      whole_old_tree = false;
    }
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

bool verify_inclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf_hash,
                      std::span<const Hash> proof, const Hash& root) {
  if (index >= size) return false;
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      r = node_hash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool verify_consistency(std::uint64_t m, std::uint64_t n, std::span<const Hash> proof,
                        const Hash& root_m, const Hash& root_n) {
  if (m > n || m == 0) return false;
  if (m == n) return proof.empty() && root_m == root_n;
  if (proof.empty()) return false;
  // When m is a power of two the old tree is a complete subtree of the new one and its root
  // is not repeated in the proof: RFC 9162 step 2 prepends it.
  const bool prepend_root_m = std::has_single_bit(m);
  const std::size_t length = proof.size() + (prepend_root_m ? 1 : 0);
  const auto at = [&](std::size_t i) -> const Hash& {
    if (prepend_root_m) return i == 0 ? root_m : proof[i - 1];
    return proof[i];
  };
  std::uint64_t fn = m - 1;
  std::uint64_t sn = n - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = at(0);
  Hash sr = at(0);
  for (std::size_t i = 1; i < length; ++i) {
    const Hash& c = at(i);
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == root_m && sr == root_n && sn == 0;
}

void RootAccumulator::add(const Hash& leaf_hash) {
  Hash hash = leaf_hash;
  std::uint8_t level = 0;
  while (!pending_.empty() && pending_.back().first == level) {
    hash = node_hash(pending_.back().second, hash);
    pending_.pop_back();
    ++level;
  }
  pending_.emplace_back(level, hash);
  ++size_;
}

Hash RootAccumulator::root() const {
  if (pending_.empty()) return empty_root();
  Hash hash = pending_.back().second;
  for (std::size_t i = pending_.size() - 1; i-- > 0;) hash = node_hash(pending_[i].second, hash);
  return hash;
}

Hash root_from_leaf_hashes(std::span<const Hash> leaf_hashes) {
  RootAccumulator accumulator;
  for (const Hash& hash : leaf_hashes) accumulator.add(hash);
  return accumulator.root();
}

std::uint64_t MemoryTree::append(ByteView entry) {
  const std::uint64_t index = size();
  for (auto& [key, hash] : protocol::append(*this, index, leaf_hash(entry))) {
    subtrees_.emplace(key, hash);
  }
  entries_.emplace_back(entry.begin(), entry.end());
  return index;
}

std::optional<Hash> MemoryTree::subtree(std::uint8_t level, std::uint64_t index) const {
  auto found = subtrees_.find(SubtreeKey{level, index});
  if (found == subtrees_.end()) return std::nullopt;
  return found->second;
}

}  // namespace relay::protocol
