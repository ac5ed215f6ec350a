// The witness side of Witness (see witness.hpp): fetch each peer's checkpoint, check it
// against the last one witnessed, cosign or raise an alert. The log side (answering proofs,
// storing cosignatures, serving the cosigned checkpoint) is in witness_log.cpp.
#include "node/federation/witness.hpp"

#include <spdlog/spdlog.h>

#include "crypto/bytes.hpp"
#include "node/http/client.hpp"
#include "node/members/member.hpp"
#include "node/storage/index_marks.hpp"
#include "protocol/signed_note.hpp"

namespace relay::node::federation {

namespace {

std::optional<protocol::Hash> hash_from_base64(const nlohmann::json& j) {
  if (!j.is_string()) return std::nullopt;
  auto bytes = crypto::from_base64(j.get<std::string>());
  if (!bytes || bytes->size() != 32) return std::nullopt;
  protocol::Hash h{};
  std::copy(bytes->begin(), bytes->end(), h.begin());
  return h;
}

// The proof of a "ledger.consistency" reply for from -> to; nullopt if malformed.
std::optional<std::vector<protocol::Hash>> proof_from_reply(const nlohmann::json& body,
                                                            std::uint64_t from, std::uint64_t to) {
  if (!body.is_object() || body.value("from", nlohmann::json()) != from ||
      body.value("to", nlohmann::json()) != to)
    return std::nullopt;
  auto it = body.find("proof");
  if (it == body.end() || !it->is_array() || it->size() > 128) return std::nullopt;
  std::vector<protocol::Hash> proof;
  for (const auto& h : *it) {
    auto hash = hash_from_base64(h);
    if (!hash) return std::nullopt;
    proof.push_back(*hash);
  }
  return proof;
}

std::string short_root(const protocol::Hash& root) {
  return crypto::to_base64(root).substr(0, 12) + "...";
}

}  // namespace

std::vector<crypto::Ed25519PublicKey> Witness::keys_in_force(const Peer& peer,
                                                             std::int64_t now_ms) {
  std::vector<crypto::Ed25519PublicKey> keys;
  if (peer.signing_key) keys.push_back(*peer.signing_key);
  for (const auto& r : peer.retired)
    if (now_ms <= r.until_ms) keys.push_back(r.key);
  return keys;
}

std::string_view to_string(WitnessResult result) {
  switch (result) {
    case WitnessResult::first:
      return "first";
    case WitnessResult::consistent:
      return "consistent";
    case WitnessResult::unchanged:
      return "unchanged";
    case WitnessResult::inconsistent:
      return "inconsistent";
    case WitnessResult::unverified:
      return "unverified";
    case WitnessResult::unavailable:
      return "unavailable";
  }
  return "unknown";
}

Witness::Witness(Federation& federation)
    : federation_(federation),
      witnessed_(federation.env().database("witnessed")),
      cosignatures_(federation.env().database("cosignatures")),
      cosigned_by_(federation.env().database("cosigned_by")),
      index_marks_(federation.env().database(storage::kIndexMarks)),
      loop_("witness",
            std::chrono::duration_cast<std::chrono::milliseconds>(
                federation.config().federation.witness_interval_s),
            [this] { pass(); }) {
  // An outside witness's key must be usable before the node serves (a typo is the operator's).
  for (const auto& w : federation.config().federation.witnesses)
    if (w.peer.empty() && !protocol::parse_vkey(w.vkey))
      throw std::runtime_error("federation.witnesses: not a valid note verifier key: " + w.vkey);
  federation_.on<protocol::LedgerConsistency>(
      [this](storage::WriteTxn& txn, const protocol::LedgerConsistency& m,
             const protocol::Envelope&, const Peer&) { return serve_consistency(txn, m); });
  federation_.on<protocol::CheckpointCosignature>(
      [this](storage::WriteTxn& txn, const protocol::CheckpointCosignature& m,
             const protocol::Envelope&,
             const Peer& peer) { return receive_cosignature(txn, m, peer); });
}

Witness::~Witness() {
  stop();
}

void Witness::start() {
  loop_.start();
}

void Witness::stop() {
  loop_.stop();
}

void Witness::pass() {
  const auto& f = federation_.config().federation;
  if (f.witness_pull) witness_all();
  if (!f.witnesses.empty()) submit_to_witnesses();
}

std::map<std::string, WitnessResult> Witness::witness_all() {
  std::vector<Peer> peers;
  {
    auto txn = federation_.env().begin_read();
    peers = federation_.peers().list(txn);
  }
  std::map<std::string, WitnessResult> results;
  for (auto& peer : peers) {
    if (!peer.active) continue;
    if (!peer.signing_key) {
      if (!federation_.refresh_peer(peer.name)) {
        results[peer.name] =
            record(peer.name, WitnessResult::unavailable, "the peer's keys are not known yet");
        continue;
      }
      auto txn = federation_.env().begin_read();
      auto fresh = federation_.peers().find(txn, peer.name);
      if (!fresh) continue;
      peer = std::move(*fresh);
    }
    try {
      results[peer.name] = witness_peer(peer);
    } catch (const std::exception& e) {
      spdlog::error("witness: {}: {}", peer.name, e.what());
      results[peer.name] = record(peer.name, WitnessResult::unavailable, e.what());
    }
  }
  return results;
}

WitnessResult Witness::witness_peer(const Peer& peer) {
  auto fetched = http::http_request("GET", peer.url + "/audit/v1/checkpoint", {}, {},
                                    federation_.config().federation.request_timeout_ms);
  if (!fetched)
    return record(peer.name, WitnessResult::unavailable, "checkpoint: " + fetched.error);
  if (fetched.response->status != 200)
    return record(peer.name, WitnessResult::unavailable,
                  "checkpoint: HTTP " + std::to_string(fetched.response->status));
  auto opened = open_peer_checkpoint(peer, fetched.response->body);
  if (!opened) {
    spdlog::warn("witness: the checkpoint served by {} does not verify with its keys", peer.name);
    return record(peer.name, WitnessResult::unverified,
                  "checkpoint does not verify with the peer's keys");
  }
  const auto& checkpoint = opened->checkpoint;

  std::optional<WitnessedCheckpoint> last;
  {
    auto txn = federation_.env().begin_read();
    last = witnessed(txn, peer.name);
  }
  if (!last) return accept(peer, *opened, WitnessResult::first);
  if (checkpoint.size < last->size)
    return reject(peer, checkpoint,
                  "the tree shrank from the witnessed size " + std::to_string(last->size));
  if (checkpoint.size == last->size) {
    if (checkpoint.root == last->root) return record(peer.name, WitnessResult::unchanged);
    return reject(
        peer, checkpoint,
        "same size as witnessed, another root (witnessed " + short_root(last->root) + ")");
  }

  auto answer =
      federation_.call(peer.name, protocol::LedgerConsistency{last->size, checkpoint.size});
  if (!answer)
    return record(peer.name, WitnessResult::unavailable, "consistency proof: " + answer.error);
  auto proof = proof_from_reply(answer.reply->body, last->size, checkpoint.size);
  if (!proof)
    return record(peer.name, WitnessResult::unavailable, "consistency proof: malformed reply");
  if (!protocol::verify_consistency(last->size, checkpoint.size, *proof, last->root,
                                    checkpoint.root))
    return reject(peer, checkpoint,
                  "no valid consistency proof from the witnessed size " +
                      std::to_string(last->size) + " (root " + short_root(last->root) + ")");
  return accept(peer, *opened, WitnessResult::consistent);
}

std::optional<protocol::OpenedCheckpoint> Witness::open_peer_checkpoint(const Peer& peer,
                                                                        const std::string& note) {
  auto try_keys = [&](const Peer& p) -> std::optional<protocol::OpenedCheckpoint> {
    for (const auto& key : keys_in_force(p, federation_.clock().now_ms())) {
      auto vkey = protocol::make_verifier_key(p.name, protocol::NoteKeyType::ed25519, key);
      if (!vkey) return std::nullopt;
      if (auto opened = protocol::open_checkpoint(note, p.name, *vkey))
        return std::move(*opened.opened);
    }
    return std::nullopt;
  };
  if (auto opened = try_keys(peer)) return opened;
  // Perhaps the peer rotated its key and we have not heard yet: learn from its identity
  // document (which must chain to the pinned key) and try once more.
  if (!federation_.refresh_peer(peer.name)) return std::nullopt;
  std::optional<Peer> fresh;
  {
    auto txn = federation_.env().begin_read();
    fresh = federation_.peers().find(txn, peer.name);
  }
  return fresh ? try_keys(*fresh) : std::nullopt;
}

WitnessResult Witness::accept(const Peer& peer, const protocol::OpenedCheckpoint& opened,
                              WitnessResult result) {
  const auto& self = federation_.self();
  auto keys = federation_.keys().current();
  auto now = federation_.clock().now_ms();
  auto key_id =
      protocol::note_key_id(self, protocol::NoteKeyType::cosignature_v1, keys->signing.public_key);
  auto signature = protocol::cosign(opened.note.text, self, keys->signing.secret_key, key_id,
                                    static_cast<std::uint64_t>(now / 1000));
  if (!signature)
    return record(peer.name, WitnessResult::unverified, "cannot cosign this checkpoint text");
  auto line = protocol::format_signature_line(*signature);
  nlohmann::json state = {{"size", opened.checkpoint.size},
                          {"root", crypto::to_base64(opened.checkpoint.root)},
                          {"note", protocol::format_note(opened.note)},
                          {"at_ms", now}};
  federation_.writer().submit_wait([&](storage::WriteTxn& txn) {
    txn.put(witnessed_, peer.name, state.dump());
    federation_.enqueue(txn, peer.name, protocol::CheckpointCosignature{opened.note.text, line});
  });
  federation_.notify();
  spdlog::info("witness: cosigned {} at size {} ({})", peer.name, opened.checkpoint.size,
               to_string(result));
  return record(peer.name, result);
}

WitnessResult Witness::reject(const Peer& peer, const protocol::Checkpoint& checkpoint,
                              const std::string& reason) {
  auto root = crypto::to_base64(checkpoint.root);
  auto message = "checkpoint of size " + std::to_string(checkpoint.size) + " (root " +
                 short_root(checkpoint.root) + ") is inconsistent: " + reason + "; not cosigned";
  federation_.writer().submit_wait([&](storage::WriteTxn& txn) {
    auto stored = txn.get(witnessed_, peer.name);
    if (!stored) return;  // only called with a witnessed state
    auto state = nlohmann::json::parse(*stored);
    auto seen = state.value("inconsistent", nlohmann::json::object());
    if (seen.value("size", nlohmann::json()) == checkpoint.size &&
        seen.value("root", nlohmann::json()) == root)
      return;  // alerted already for this very checkpoint
    state["inconsistent"] = {{"size", checkpoint.size},
                             {"root", root},
                             {"reason", reason},
                             {"at_ms", federation_.clock().now_ms()}};
    txn.put(witnessed_, peer.name, state.dump());
    federation_.raise_alert(txn, "checkpoint_inconsistent", peer.name, message);
  });
  return record(peer.name, WitnessResult::inconsistent, message);
}

WitnessResult Witness::record(const std::string& peer, WitnessResult result, std::string error) {
  std::lock_guard lock(status_mutex_);
  auto& s = status_[peer];
  s.checked_ms = federation_.clock().now_ms();
  s.result = result;
  s.error = std::move(error);
  return result;
}

std::optional<WitnessedCheckpoint> Witness::witnessed(const storage::Txn& txn,
                                                      const std::string& peer) const {
  if (peer.empty()) return std::nullopt;
  auto stored = txn.get(witnessed_, peer);
  if (!stored) return std::nullopt;
  auto j = nlohmann::json::parse(*stored);
  auto root = hash_from_base64(j.at("root"));
  if (!root) throw std::runtime_error("witness: corrupt witnessed record for " + peer);
  return WitnessedCheckpoint{j.at("size").get<std::uint64_t>(), *root,
                             j.at("note").get<std::string>(), j.at("at_ms").get<std::int64_t>()};
}

}  // namespace relay::node::federation
