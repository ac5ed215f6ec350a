#include "node/ledger/ledger.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "node/common/key_encoding.hpp"
#include "node/identity/scoped_pseudonym.hpp"
#include "node/storage/map_budget.hpp"
#include "protocol/checkpoint.hpp"
#include "protocol/ledger_entry.hpp"
#include "protocol/signed_note.hpp"

namespace relay::node::ledger {

using common::be64;
using common::from_be64;

namespace {

std::string tree_key(std::uint8_t level, std::uint64_t index) {
  return std::string(1, static_cast<char>(level)) + be64(index);
}

// Reads stored subtree hashes through a transaction, upper levels through the cache. What a
// read-only txn reads is committed, so the cache keeps it. A read-only txn reads the hash
// file before LMDB: a subtree the file holds is committed and never changes.
class TxnSubtrees final : public protocol::SubtreeReader {
 public:
  TxnSubtrees(const storage::Txn& txn, storage::Database db, SubtreeCache& cache,
              const HashFile* file = nullptr)
      : txn_(txn), db_(db), cache_(cache), file_(txn.read_only() ? file : nullptr) {}
  std::optional<protocol::Hash> subtree(std::uint8_t level, std::uint64_t index) const override {
    const bool cached = SubtreeCache::covers(level);
    if (cached)
      if (auto h = cache_.find(level, index)) return h;
    if (file_)
      if (auto h = file_->find(level, index)) {
        if (cached) cache_.keep(level, index, *h);
        return h;
      }
    auto value = txn_.get(db_, tree_key(level, index));
    if (!value || value->size() != 32) return std::nullopt;
    protocol::Hash h{};
    std::copy(value->begin(), value->end(), h.begin());
    if (cached && txn_.read_only()) cache_.keep(level, index, h);
    return h;
  }

 private:
  const storage::Txn& txn_;
  storage::Database db_;
  SubtreeCache& cache_;
  const HashFile* file_;
};

// The stored hashes of leaves [from, to) in the hash file's order: each leaf's hash, then the
// parents it completes. Level l's new subtrees are [from >> l, to >> l), read in one range
// scan per level.
std::vector<protocol::Hash> stored_hashes(const storage::Txn& txn, storage::Database tree,
                                          std::uint64_t from, std::uint64_t to) {
  std::vector<std::vector<protocol::Hash>> levels;
  for (std::uint8_t l = 0; l < 64 && (from >> l) < (to >> l); ++l) {
    auto& hashes = levels.emplace_back();
    hashes.reserve((to >> l) - (from >> l));
    txn.for_each_range(tree, tree_key(l, from >> l), tree_key(l, to >> l),
                       [&](std::string_view, std::string_view value) {
                         if (value.size() != 32)
                           throw protocol::MissingSubtree(l, (from >> l) + hashes.size());
                         std::copy(value.begin(), value.end(), hashes.emplace_back().begin());
                       });
    if (hashes.size() != (to >> l) - (from >> l))
      throw protocol::MissingSubtree(l, (from >> l) + hashes.size());
  }
  std::vector<protocol::Hash> out;
  out.reserve(stored_hash_count(to) - stored_hash_count(from));
  for (auto i = from; i < to; ++i) {
    out.push_back(levels[0][i - from]);
    for (std::uint8_t l = 1; (i >> (l - 1)) & 1; ++l)
      out.push_back(levels[l][(i >> l) - (from >> l)]);
  }
  return out;
}

}  // namespace

Ledger::Ledger(storage::Environment& env, std::string origin, const identity::KeyRing& keys,
               const common::Clock& clock)
    : origin_(std::move(origin)),
      keys_(keys),
      clock_(clock),
      entries_(env.database("ledger_entries")),
      tree_(env.database("ledger_tree")),
      meta_(env.database("ledger_meta")) {}

std::uint64_t Ledger::size(const storage::Txn& txn) const {
  auto v = txn.get(meta_, "size");
  return v ? from_be64(*v) : 0;
}

std::uint64_t Ledger::append(storage::WriteTxn& txn, const protocol::Event& event) {
  auto keys = keys_.current();
  return append_signed_by(txn, event, keys->signing);
}

std::uint64_t Ledger::append_signed_by(storage::WriteTxn& txn, const protocol::Event& event,
                                       const crypto::Ed25519KeyPair& key) {
  auto index = size(txn);
  auto bytes = protocol::encode_entry(index, clock_.now_ms(), origin_, event.kind, event.data, key);
  auto leaf = protocol::leaf_hash(crypto::as_bytes(bytes));
  TxnSubtrees reader(txn, tree_, *subtrees_);
  for (const auto& [key, hash] : protocol::append(reader, index, leaf))
    txn.put(tree_, tree_key(key.level, key.index),
            std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
  txn.put(entries_, be64(index), bytes, storage::PutFlag::append);
  txn.put(meta_, "size", be64(index + 1));
  return index;
}

std::optional<std::string> Ledger::entry(const storage::Txn& txn, std::uint64_t index) const {
  return txn.get(entries_, be64(index));
}

protocol::Hash Ledger::root(const storage::Txn& txn, std::uint64_t n) const {
  return protocol::root(TxnSubtrees(txn, tree_, *subtrees_, hashes_.get()), n);
}

std::optional<std::vector<protocol::Hash>> Ledger::inclusion_proof(const storage::Txn& txn,
                                                                   std::uint64_t index,
                                                                   std::uint64_t n) const {
  if (n > size(txn)) return std::nullopt;
  return protocol::inclusion_proof(TxnSubtrees(txn, tree_, *subtrees_, hashes_.get()), index, n);
}

std::optional<std::vector<protocol::Hash>> Ledger::consistency_proof(const storage::Txn& txn,
                                                                     std::uint64_t m,
                                                                     std::uint64_t n) const {
  if (n > size(txn) || m == 0) return std::nullopt;
  return protocol::consistency_proof(TxnSubtrees(txn, tree_, *subtrees_, hashes_.get()), m, n);
}

void Ledger::keep_hashes_in(storage::Environment& env, const std::filesystem::path& path) {
  auto file = std::make_unique<HashFile>(path);
  auto txn = env.begin_read();
  const auto size = this->size(txn);
  const auto leaves = file->leaves();
  bool same = leaves <= size;
  // The newest subtree of each level the file holds: another ledger's file, or one older
  // than a restored directory, differs in the leaf at least.
  for (std::uint8_t l = 0; same && l < 64 && (leaves >> l) > 0; ++l) {
    auto stored = txn.get(tree_, tree_key(l, (leaves >> l) - 1));
    auto held = file->find(l, (leaves >> l) - 1);
    same = stored && held && stored->size() == held->size() &&
           std::memcmp(stored->data(), held->data(), held->size()) == 0;
  }
  if (!same) file->restart();
  hashes_ = std::move(file);
}

std::uint64_t Ledger::write_hash_file(storage::Environment& env, std::uint64_t at_most) {
  constexpr std::uint64_t kBatch = 1 << 16;  // 128k hashes, 4 MiB, per read txn
  std::uint64_t written = 0;
  while (hashes_ && written < at_most) {
    const auto from = hashes_->leaves();
    std::uint64_t to = 0;
    std::vector<protocol::Hash> stored;
    {
      auto txn = env.begin_read();
      to = std::min({size(txn), from + kBatch, from + (at_most - written)});
      if (to <= from) break;
      stored = stored_hashes(txn, tree_, from, to);
    }
    hashes_->append(to - from, stored);
    written += to - from;
    if (to - from == kBatch) storage::release_pages_read_once(env);  // a first copy
  }
  return written;
}

SignedCheckpoint Ledger::checkpoint(const storage::Txn& txn) const {
  SignedCheckpoint cp;
  cp.size = size(txn);
  auto keys = keys_.current();
  auto& cache = *checkpoint_cache_;
  if (txn.read_only()) {
    // A read txn sees committed entries only, and those never change: a checkpoint computed
    // in another read txn of the same size has the same root (computing it was half of a
    // GET /audit/v1/checkpoint).
    std::lock_guard lock(cache.mutex);
    if (cache.last && cache.committed && cache.last->size == cp.size &&
        cache.signer.bytes == keys->signing.public_key.bytes)
      return *cache.last;
  }
  cp.root = root(txn, cp.size);
  {
    // The root is part of the key, not only the size: a Writer request may read a size its
    // batch then rolls back, and another entry later takes that index.
    std::lock_guard lock(cache.mutex);
    if (cache.last && cache.last->size == cp.size && cache.last->root == cp.root &&
        cache.signer.bytes == keys->signing.public_key.bytes)
      return *cache.last;
  }
  auto key_id =
      protocol::note_key_id(origin_, protocol::NoteKeyType::ed25519, keys->signing.public_key);
  auto note = protocol::sign_checkpoint({origin_, cp.size, cp.root, {}}, origin_,
                                        keys->signing.secret_key, key_id);
  if (!note) throw std::runtime_error("ledger: cannot sign checkpoint (invalid origin)");
  cp.note = std::move(*note);
  std::lock_guard lock(cache.mutex);
  cache.last = cp;
  cache.committed = txn.read_only();
  cache.signer = keys->signing.public_key;
  return cp;
}

std::string Ledger::verifier_key() const {
  auto keys = keys_.current();
  auto vkey = protocol::make_verifier_key(origin_, protocol::NoteKeyType::ed25519,
                                          keys->signing.public_key);
  if (!vkey) throw std::runtime_error("ledger: invalid origin for a note key");
  return protocol::make_vkey(*vkey);
}

std::string Ledger::pseudonym(std::string_view scope, std::string_view candidate_pseudonym) const {
  return identity::scoped_pseudonym(keys_, scope, candidate_pseudonym);
}

}  // namespace relay::node::ledger
