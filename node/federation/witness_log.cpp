// The log side of Witness (see witness.hpp): answering a witness's consistency question,
// accepting cosignatures of our own checkpoints, and serving the cosigned checkpoint and the
// operator's view. The handlers run inside Writer requests: they only read and write their txn.
#include <spdlog/spdlog.h>

#include "crypto/bytes.hpp"
#include "node/common/key_encoding.hpp"
#include "node/federation/witness.hpp"
#include "node/members/member.hpp"
#include "node/storage/index_marks.hpp"
#include "protocol/signed_note.hpp"

namespace relay::node::federation {

namespace {

std::string root_text(const protocol::Hash& h) {
  return crypto::to_base64(h);
}

// Our checkpoint at `size`, signed with the current key; nullopt only for an invalid origin.
std::optional<std::string> signed_checkpoint(const ledger::Ledger& ledger, const storage::Txn& txn,
                                             std::uint64_t size, const identity::KeyRing& ring) {
  auto keys = ring.current();
  const auto& origin = ledger.origin();
  auto key_id =
      protocol::note_key_id(origin, protocol::NoteKeyType::ed25519, keys->signing.public_key);
  return protocol::sign_checkpoint({origin, size, ledger.root(txn, size), {}}, origin,
                                   keys->signing.secret_key, key_id);
}

}  // namespace

HandlerResult Witness::serve_consistency(storage::WriteTxn& txn,
                                         const protocol::LedgerConsistency& request) {
  auto from = std::optional<std::uint64_t>(request.from);
  auto to = std::optional<std::uint64_t>(request.to);
  auto& ledger = federation_.ledger();
  auto size = ledger.size(txn);
  if (*from == 0 || *from > *to || *to > size)
    return HandlerResult::refuse(400, "bad_range",
                                 "need 0 < from <= to <= " + std::to_string(size));
  auto proof = ledger.consistency_proof(txn, *from, *to);
  if (!proof) return HandlerResult::refuse(400, "bad_range", "no proof for this range");
  nlohmann::json hashes = nlohmann::json::array();
  for (const auto& h : *proof) hashes.push_back(root_text(h));
  return HandlerResult::accept({{"from", *from},
                                {"to", *to},
                                {"proof", hashes},
                                {"root_from", root_text(ledger.root(txn, *from))},
                                {"root_to", root_text(ledger.root(txn, *to))}});
}

HandlerResult Witness::receive_cosignature(storage::WriteTxn& txn,
                                           const protocol::CheckpointCosignature& request,
                                           const Peer& peer) {
  const auto& text = request.checkpoint;
  const auto& line = request.cosignature;
  if (line.empty() || line.find('\n') != line.size() - 1)
    return HandlerResult::refuse(400, "malformed_cosignature",
                                 "cosignature: one signature line ending in \\n");
  auto parsed = protocol::parse_checkpoint(text);
  if (!parsed)
    return HandlerResult::refuse(400, "malformed_cosignature", "checkpoint: " + parsed.error);
  const auto& checkpoint = *parsed.checkpoint;

  // One of ours: our origin, a size we have, and exactly the text we sign at that size.
  auto& ledger = federation_.ledger();
  if (checkpoint.origin != federation_.self() || checkpoint.size == 0 ||
      checkpoint.size > ledger.size(txn) ||
      protocol::format_checkpoint(
          {ledger.origin(), checkpoint.size, ledger.root(txn, checkpoint.size), {}}) != text)
    return HandlerResult::refuse(409, "not_our_checkpoint",
                                 "the checkpoint is not one this node has published");

  auto note = protocol::parse_note(text + "\n" + line);
  if (!note || note.note->signatures.size() != 1)
    return HandlerResult::refuse(400, "malformed_cosignature", "cosignature: not a signature line");
  const auto& signature = note.note->signatures.front();
  bool verified = false;
  for (const auto& key : keys_in_force(peer, federation_.clock().now_ms())) {
    auto witness_key =
        protocol::make_verifier_key(peer.name, protocol::NoteKeyType::cosignature_v1, key);
    if (witness_key && protocol::verify_cosignature(text, signature, *witness_key)) verified = true;
  }
  if (!verified)
    return HandlerResult::refuse(403, "bad_cosignature",
                                 "the cosignature does not verify with the sender's key");
  store_cosignature(txn, checkpoint.size, peer.name, line);
  return HandlerResult::accept({{"size", checkpoint.size}, {"stored", true}});
}

void Witness::store_cosignature(storage::WriteTxn& txn, std::uint64_t size, const std::string& name,
                                const std::string& line) {
  txn.put(cosignatures_, common::be64(size) + name, line);
  auto latest = txn.get(cosigned_by_, name);
  if (!latest || common::from_be64(*latest) < size) txn.put(cosigned_by_, name, common::be64(size));
}

std::optional<std::string> Witness::our_checkpoint(const storage::Txn& txn,
                                                   std::uint64_t size) const {
  return signed_checkpoint(federation_.ledger(), txn, size, federation_.keys());
}

std::optional<CosignedCheckpoint> Witness::witnessed_checkpoint(const storage::Txn& txn) const {
  auto cursor = txn.cursor(cosignatures_);
  auto last = cursor.last();
  if (!last || last->first.size() <= 8) return std::nullopt;
  CosignedCheckpoint out;
  out.size = common::from_be64(std::string_view(last->first).substr(0, 8));
  auto note = signed_checkpoint(federation_.ledger(), txn, out.size, federation_.keys());
  if (!note) return std::nullopt;
  out.note = std::move(*note);
  txn.for_each_prefix(cosignatures_, common::be64(out.size),
                      [&](std::string_view key, std::string_view line) {
                        out.witnesses.emplace_back(key.substr(8));
                        out.note += line;
                      });
  return out;
}

std::optional<std::uint64_t> Witness::cosigned_size(const storage::Txn& txn,
                                                    const std::string& peer) const {
  auto latest = txn.get(cosigned_by_, peer);
  if (!latest) return std::nullopt;
  return common::from_be64(*latest);
}

std::size_t Witness::index_existing(storage::WriteTxn& txn) {
  std::map<std::string, std::uint64_t> latest;
  storage::build_index_once(txn, index_marks_, "cosigned_by", [&] {
    // Keys sort by size, so the last line of each peer is its latest.
    txn.for_each_prefix(cosignatures_, "", [&](std::string_view key, std::string_view) {
      if (key.size() > 8) latest[std::string(key.substr(8))] = common::from_be64(key.substr(0, 8));
    });
    for (const auto& [peer, size] : latest) txn.put(cosigned_by_, peer, common::be64(size));
  });
  return latest.size();
}

nlohmann::json Witness::status(const storage::Txn& txn) const {
  std::map<std::string, PeerStatus> live;
  {
    std::lock_guard lock(status_mutex_);
    live = status_;
  }
  nlohmann::json peers = nlohmann::json::array();
  for (const auto& peer : federation_.peers().list(txn)) {
    nlohmann::json p = {
        {"peer", peer.name}, {"active", peer.active}, {"keys_known", peer.signing_key.has_value()}};
    p["witnessed"] = nullptr;
    if (auto stored = txn.get(witnessed_, peer.name)) {
      auto j = nlohmann::json::parse(*stored);
      p["witnessed"] = {{"size", j.at("size")}, {"root", j.at("root")}, {"at_ms", j.at("at_ms")}};
      p["inconsistent"] = j.value("inconsistent", nlohmann::json());
    }
    auto cosigned = cosigned_size(txn, peer.name);
    p["cosigned_size"] = cosigned ? nlohmann::json(*cosigned) : nlohmann::json();
    if (auto it = live.find(peer.name); it != live.end()) {
      p["last_checked_ms"] = it->second.checked_ms;
      p["last_result"] = to_string(it->second.result);
      p["last_error"] = it->second.error;
    }
    peers.push_back(std::move(p));
  }
  auto latest = witnessed_checkpoint(txn);
  const auto& f = federation_.config().federation;
  auto witnesses = nlohmann::json::array();
  for (const auto& w : policy_witnesses(txn)) {
    auto cosigned = cosigned_size(txn, w.name);
    std::lock_guard lock(status_mutex_);
    auto it = status_.find("witness:" + w.name);
    witnesses.push_back({{"name", w.name},
                         {"url", w.url},
                         {"cosigned_size", cosigned ? nlohmann::json(*cosigned) : nlohmann::json()},
                         {"last_result", it == status_.end() ? "" : to_string(it->second.result)},
                         {"last_error", it == status_.end() ? "" : it->second.error}});
  }
  auto quorum = quorum_size(txn);
  return {{"node", federation_.self()},
          {"interval_s", f.witness_interval_s.count()},
          {"latest_cosigned_size", latest ? nlohmann::json(latest->size) : nlohmann::json()},
          {"pull", f.witness_pull},
          {"policy",
           {{"quorum", f.witness_quorum},
            {"witnesses", witnesses},
            {"witnessed_size", quorum ? nlohmann::json(*quorum) : nlohmann::json()},
            {"latest_witnessed", quorum && *quorum == federation_.ledger().size(txn)}}},
          {"peers", peers}};
}

}  // namespace relay::node::federation
