#include "audit/key_history.hpp"

#include "crypto/bytes.hpp"
#include "protocol/event.hpp"

namespace relay::audit {

std::optional<crypto::Ed25519PublicKey> key_field(const protocol::LedgerEntry& entry,
                                                  const char* field) {
  auto it = entry.data.find(field);
  if (it == entry.data.end() || !it->is_string()) return std::nullopt;
  auto bytes = crypto::from_base64(it->get<std::string>());
  if (!bytes) return std::nullopt;
  return crypto::ed25519_public_key_from(*bytes);
}

void KeyHistory::set(const crypto::Ed25519PublicKey& key, std::uint64_t since) {
  current_ = key;
  keys_.push_back(key);
  since_ = since;
}

void KeyHistory::start(const protocol::LedgerEntry& genesis, ProblemList& problems) {
  if (genesis.kind != protocol::event_kind::node_initialised) {
    problems.add_entry(0, "kind is " + genesis.kind + ", expected node_initialised");
    return;
  }
  auto key = key_field(genesis, "signing_key");
  if (!key) {
    problems.add_entry(0, "node_initialised: data.signing_key is not a base64 Ed25519 key");
    return;
  }
  set(*key, 0);
}

void KeyHistory::assume(const crypto::Ed25519PublicKey& key) {
  if (!current_) set(key, 0);
}

void KeyHistory::rotate(const protocol::LedgerEntry& entry, std::uint64_t position,
                        ProblemList& problems) {
  auto old_key = entry.data.find("old_key");
  if (old_key == entry.data.end() || !old_key->is_string() ||
      (current_ && old_key->get<std::string>() != current_->fingerprint())) {
    problems.add_entry(position,
                       "key_rotated: data.old_key is not the fingerprint of the key in force");
    return;
  }
  auto next = key_field(entry, "new_key");
  if (!next) {
    problems.add_entry(position, "key_rotated: data.new_key is not a base64 Ed25519 key");
    return;
  }
  ++rotations_;
  set(*next, position + 1);
}

}  // namespace relay::audit
