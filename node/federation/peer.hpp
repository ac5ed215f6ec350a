#pragma once
// Configured peer nodes. The operator adds a peer by name, URL and the fingerprint of its
// Ed25519 signing key (compared out of band): nothing is trusted on first use. The peer's
// keys are learnt from its self-signed identity document and accepted only if they match
// the pinned fingerprint, or follow from it by a rotation signed with the pinned key. After
// a rotation the old key stays acceptable for the grace period, then is refused.
//
// Database: peers (name -> JSON record). Mutations inside Writer requests.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "crypto/keys.hpp"
#include "node/ledger/ledger.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/parse_cache.hpp"
#include "protocol/envelope.hpp"

namespace relay::node::federation {

struct RetiredKey {
  crypto::Ed25519PublicKey key;
  std::int64_t until_ms = 0;
};

struct Peer {
  std::string name;
  std::string url;          // base URL, no trailing slash
  std::string fingerprint;  // pinned: hex SHA-256 of the current signing key
  bool active = true;
  std::string region;
  std::optional<crypto::Ed25519PublicKey> signing_key;    // once learnt
  std::optional<crypto::X25519PublicKey> encryption_key;  // once learnt
  std::vector<RetiredKey> retired;
  std::int64_t added_ms = 0;

  nlohmann::json to_json() const;  // for the operator API
};

enum class AddError { none, bad_name, bad_url, plain_http, bad_fingerprint, duplicate, is_self };

enum class LearnResult { learnt, unchanged, rotated, refused };

class PeerRegistry {
 public:
  // allow_plain_http: federation.allow_plain_http (else http:// only to loopback peers).
  PeerRegistry(storage::Environment& env, ledger::Ledger& ledger, std::string self_name,
               bool allow_plain_http);

  AddError add(storage::WriteTxn& txn, const std::string& name, const std::string& url,
               const std::string& fingerprint);
  // false if no such peer.
  bool set_active(storage::WriteTxn& txn, const std::string& name, bool active);
  std::optional<Peer> find(const storage::Txn& txn, const std::string& name) const;
  std::vector<Peer> list(const storage::Txn& txn) const;

  // Takes keys from a verified identity document of peer `name` (see the header comment).
  LearnResult learn(storage::WriteTxn& txn, const std::string& name,
                    const protocol::IdentityDocument& doc, std::int64_t now_ms,
                    std::int64_t grace_ms);

  // The public key with this fingerprint, if the peer may sign with it at now_ms.
  static std::optional<crypto::Ed25519PublicKey> key_for(const Peer& peer,
                                                         const std::string& fingerprint,
                                                         std::int64_t now_ms);

  // Called in the same txn when a peer is added or reinstated (e.g. to send it the full set
  // of circulating profiles). Install before the node serves; one hook.
  using ActivatedHook = std::function<void(storage::WriteTxn& txn, const Peer& peer)>;
  void on_activated(ActivatedHook hook) { on_activated_ = std::move(hook); }

 private:
  void save(storage::WriteTxn& txn, const Peer& peer);
  Peer parsed(const std::string& name, std::string_view stored) const;
  ledger::Ledger& ledger_;
  std::string self_;
  bool allow_plain_http_;
  storage::Database peers_;
  // Every pool search lists the peers, and so does each profile a confirmation sends out:
  // parsing a record was about 30k instructions (callgrind), 30M a list in a mesh of a
  // thousand peers.
  mutable storage::ParseCache<Peer> parsed_;
  ActivatedHook on_activated_;
};

}  // namespace relay::node::federation
