// The C2SP tlog-witness protocol of Witness (see witness.hpp): answering add-checkpoint as a
// witness, and submitting our checkpoints to the witnesses of our policy as a log.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "crypto/bytes.hpp"
#include "node/common/key_encoding.hpp"
#include "node/federation/witness.hpp"
#include "node/http/client.hpp"
#include "protocol/checkpoint.hpp"
#include "protocol/signed_note.hpp"
#include "protocol/tlog_witness.hpp"

namespace relay::node::federation {

namespace tw = protocol::tlog_witness;

namespace {

constexpr std::string_view kSubmitPath = "/witness/v1/add-checkpoint";

AddCheckpointAnswer text(int status, std::string body) {
  return {status, std::move(body) + "\n", "text/plain; charset=utf-8"};
}

AddCheckpointAnswer size_conflict(std::uint64_t size) {
  return {409, tw::format_size(size), std::string(tw::kSizeContentType)};
}

}  // namespace

AddCheckpointAnswer Witness::add_checkpoint(std::string_view body) {
  auto request = tw::parse_add_checkpoint(body);
  if (!request) return text(400, "malformed add-checkpoint request");
  auto note = protocol::parse_note(request->checkpoint);
  auto parsed =
      note ? protocol::parse_checkpoint(note.note->text) : protocol::CheckpointParseResult{};
  if (!note || !parsed) return text(400, "malformed checkpoint");
  const auto origin = parsed.checkpoint->origin;

  // The log must be an active peer, and the checkpoint signed by a key of it we know (no
  // fetch here: this runs on an HTTP thread reachable by anyone).
  std::optional<Peer> peer;
  {
    auto txn = federation_.env().begin_read();
    peer = federation_.peers().find(txn, origin);
  }
  if (!peer || !peer->active) return text(404, "unknown log");
  std::optional<protocol::OpenedCheckpoint> opened;
  for (const auto& key : keys_in_force(*peer, federation_.clock().now_ms())) {
    auto vkey = protocol::make_verifier_key(peer->name, protocol::NoteKeyType::ed25519, key);
    if (!vkey) continue;
    if (auto o = protocol::open_checkpoint(request->checkpoint, peer->name, *vkey)) {
      opened = std::move(*o.opened);
      break;
    }
  }
  if (!opened) return text(403, "no signature of a trusted key for this log");
  const auto& checkpoint = opened->checkpoint;
  if (request->old_size > checkpoint.size) return text(400, "old size above the checkpoint size");

  const auto& self = federation_.self();
  auto keys = federation_.keys().current();
  auto key_id =
      protocol::note_key_id(self, protocol::NoteKeyType::cosignature_v1, keys->signing.public_key);
  auto now = federation_.clock().now_ms();
  auto signature = protocol::cosign(opened->note.text, self, keys->signing.secret_key, key_id,
                                    static_cast<std::uint64_t>(now / 1000));
  if (!signature) return text(400, "cannot cosign this checkpoint text");
  auto line = protocol::format_signature_line(*signature);
  auto root = crypto::to_base64(checkpoint.root);

  // Checking the old size against what we witnessed and recording the new one are atomic.
  auto answer = federation_.writer().submit_wait([&](storage::WriteTxn& txn) {
    auto last = witnessed(txn, peer->name);
    const std::uint64_t witnessed_size = last ? last->size : 0;
    if (request->old_size != witnessed_size) return size_conflict(witnessed_size);
    if (last && request->old_size == checkpoint.size && last->root != checkpoint.root)
      return size_conflict(witnessed_size);
    if (last && request->old_size < checkpoint.size &&
        !protocol::verify_consistency(last->size, checkpoint.size, request->proof, last->root,
                                      checkpoint.root)) {
      federation_.raise_alert(txn, "checkpoint_inconsistent", peer->name,
                              "add-checkpoint of size " + std::to_string(checkpoint.size) +
                                  ": no valid consistency proof from the witnessed size " +
                                  std::to_string(last->size) + "; not cosigned");
      return text(422, "the consistency proof does not verify");
    }
    nlohmann::json state = {{"size", checkpoint.size},
                            {"root", root},
                            {"note", protocol::format_note(opened->note)},
                            {"at_ms", now}};
    txn.put(witnessed_, peer->name, state.dump());
    return AddCheckpointAnswer{200, line, "text/plain; charset=utf-8"};
  });
  if (answer.status == 200)
    record(peer->name, request->old_size == 0 ? WitnessResult::first : WitnessResult::consistent);
  else if (answer.status == 422)
    record(peer->name, WitnessResult::inconsistent, "add-checkpoint: bad consistency proof");
  return answer;
}

std::vector<Witness::PolicyWitness> Witness::policy_witnesses(const storage::Txn& txn) const {
  std::vector<PolicyWitness> out;
  for (const auto& entry : federation_.config().federation.witnesses) {
    if (entry.peer.empty()) {
      auto vkey = protocol::parse_vkey(entry.vkey);  // checked at start-up
      if (vkey) out.push_back({vkey->name, entry.url + "/add-checkpoint", {*vkey}});
      continue;
    }
    PolicyWitness w{entry.peer, "", {}};
    if (auto peer = federation_.peers().find(txn, entry.peer); peer && peer->active) {
      w.url = peer->url + std::string(kSubmitPath);
      for (const auto& key : keys_in_force(*peer, federation_.clock().now_ms()))
        if (auto vkey =
                protocol::make_verifier_key(peer->name, protocol::NoteKeyType::cosignature_v1, key))
          w.keys.push_back(*vkey);
    }
    out.push_back(std::move(w));
  }
  return out;
}

std::map<std::string, WitnessResult> Witness::submit_to_witnesses() {
  std::vector<PolicyWitness> witnesses;
  {
    auto txn = federation_.env().begin_read();
    witnesses = policy_witnesses(txn);
  }
  std::map<std::string, WitnessResult> results;
  for (const auto& w : witnesses) {
    try {
      results[w.name] = submit(w);
    } catch (const std::exception& e) {
      spdlog::error("witness: submitting to {}: {}", w.name, e.what());
      results[w.name] = record("witness:" + w.name, WitnessResult::unavailable, e.what());
    }
  }
  return results;
}

WitnessResult Witness::submit(const PolicyWitness& w, bool retried) {
  const auto key = "witness:" + w.name;
  if (w.url.empty() || w.keys.empty())
    return record(key, WitnessResult::unavailable, "not an active peer with known keys");
  tw::AddCheckpoint request;
  std::uint64_t size = 0;
  {
    auto txn = federation_.env().begin_read();
    size = federation_.ledger().size(txn);
    request.old_size = cosigned_size(txn, w.name).value_or(0);
    if (request.old_size == size) return record(key, WitnessResult::unchanged);
    if (request.old_size > size)
      return record(key, WitnessResult::inconsistent,
                    "the witness cosigned a larger tree of ours than we have");
    if (request.old_size > 0) {
      auto proof = federation_.ledger().consistency_proof(txn, request.old_size, size);
      if (!proof) return record(key, WitnessResult::unavailable, "no consistency proof");
      request.proof = std::move(*proof);
    }
    auto note = our_checkpoint(txn, size);
    if (!note) return record(key, WitnessResult::unavailable, "cannot sign our checkpoint");
    request.checkpoint = std::move(*note);
  }
  auto sent = http::http_request("POST", w.url, tw::format_add_checkpoint(request),
                                 {{"Content-Type", "text/plain; charset=utf-8"}},
                                 federation_.config().federation.request_timeout_ms);
  if (!sent) return record(key, WitnessResult::unavailable, "add-checkpoint: " + sent.error);
  const auto& response = *sent.response;
  if (response.status == 409) {
    // The witness's view of us is another size: start again from it, once a pass.
    auto theirs = tw::parse_size(response.body);
    if (!theirs) return record(key, WitnessResult::unavailable, "409 without a size");
    if (*theirs > size) {
      federation_.writer().submit_wait([&](storage::WriteTxn& txn) {
        federation_.raise_alert(txn, "witness_ahead", w.name,
                                "the witness cosigned our tree at size " + std::to_string(*theirs) +
                                    ", larger than ours (" + std::to_string(size) + ")");
      });
      return record(key, WitnessResult::inconsistent, "the witness has a larger tree of ours");
    }
    federation_.writer().submit_wait(
        [&](storage::WriteTxn& txn) { txn.put(cosigned_by_, w.name, common::be64(*theirs)); });
    return retried ? record(key, WitnessResult::unavailable, "409 twice") : submit(w, true);
  }
  if (response.status != 200)
    return record(key, WitnessResult::unavailable,
                  "add-checkpoint: HTTP " + std::to_string(response.status));
  // One or more cosignature lines; keep the first that verifies with the witness's key.
  auto text_end = request.checkpoint.find("\n\n");
  auto checkpoint_text = request.checkpoint.substr(0, text_end + 1);
  std::string kept;
  std::size_t pos = 0;
  while (kept.empty() && pos < response.body.size()) {
    auto nl = response.body.find('\n', pos);
    if (nl == std::string::npos) break;
    auto line = response.body.substr(pos, nl + 1 - pos);
    pos = nl + 1;
    auto note = protocol::parse_note(checkpoint_text + "\n" + line);
    if (!note || note.note->signatures.size() != 1) continue;
    for (const auto& vkey : w.keys)
      if (protocol::verify_cosignature(checkpoint_text, note.note->signatures.front(), vkey))
        kept = line;
  }
  if (kept.empty())
    return record(key, WitnessResult::unverified, "no cosignature verifies with its key");
  federation_.writer().submit_wait(
      [&](storage::WriteTxn& txn) { store_cosignature(txn, size, w.name, kept); });
  return record(key, request.old_size == 0 ? WitnessResult::first : WitnessResult::consistent);
}

std::optional<std::uint64_t> Witness::quorum_size(const storage::Txn& txn) const {
  const auto& f = federation_.config().federation;
  if (f.witnesses.empty()) return std::nullopt;
  auto witnesses = policy_witnesses(txn);
  std::set<std::uint64_t, std::greater<>> sizes;
  for (const auto& w : witnesses)
    if (auto s = cosigned_size(txn, w.name)) sizes.insert(*s);
  for (auto size : sizes) {
    std::uint32_t count = 0;
    for (const auto& w : witnesses)
      count += txn.contains(cosignatures_, common::be64(size) + w.name) ? 1 : 0;
    if (count >= f.witness_quorum) return size;
  }
  return std::nullopt;
}

nlohmann::json Witness::policy() const {
  auto txn = federation_.env().begin_read();
  auto witnesses = nlohmann::json::array();
  for (const auto& w : policy_witnesses(txn)) {
    auto vkeys = nlohmann::json::array();
    for (const auto& k : w.keys) vkeys.push_back(protocol::make_vkey(k));
    witnesses.push_back({{"name", w.name}, {"vkeys", vkeys}});
  }
  return {{"log", federation_.self()},
          {"witnesses", witnesses},
          {"quorum", federation_.config().federation.witness_quorum}};
}

}  // namespace relay::node::federation
