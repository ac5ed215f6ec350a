#include "node/services/operations.hpp"

#include <string_view>

#include "crypto/bytes.hpp"

namespace relay::node::services {

namespace {

// The newest cosignature/v1 timestamp among a signed note's signature lines ("— name b64",
// b64 = key id (4) || timestamp (8, big-endian seconds) || Ed25519 signature (64)). Plain
// Ed25519 note signatures (4 + 64 bytes, ours) carry no time and are skipped.
std::optional<std::int64_t> newest_cosignature_time(std::string_view note) {
  constexpr std::string_view kDash = "\xe2\x80\x94 ";
  std::optional<std::int64_t> newest;
  auto blank = note.find("\n\n");
  if (blank == std::string_view::npos) return newest;
  for (auto pos = blank + 2; pos < note.size();) {
    auto end = note.find('\n', pos);
    if (end == std::string_view::npos) end = note.size();
    auto line = note.substr(pos, end - pos);
    pos = end + 1;
    if (!line.starts_with(kDash)) continue;
    auto space = line.rfind(' ');
    auto bytes = crypto::from_base64(line.substr(space + 1));
    if (!bytes || bytes->size() != 4 + 8 + 64) continue;
    std::uint64_t t = 0;
    for (int i = 4; i < 12; ++i) t = (t << 8) | (*bytes)[static_cast<std::size_t>(i)];
    auto seconds = static_cast<std::int64_t>(t);
    if (!newest || seconds > *newest) newest = seconds;
  }
  return newest;
}

}  // namespace

Operations::Operations(storage::Environment& env, const storage::Writer& writer,
                       const ledger::Ledger& ledger, federation::Federation& federation,
                       const federation::Witness& witness, const candidates::Store& candidates,
                       const common::Clock& clock)
    : env_(env),
      writer_(writer),
      ledger_(ledger),
      federation_(federation),
      witness_(witness),
      candidates_(candidates),
      clock_(clock) {}

Vitals Operations::vitals() const {
  Vitals v;
  v.node = ledger_.origin();
  auto txn = env_.begin_read();
  v.ledger_size = ledger_.size(txn);
  if (auto cosigned = witness_.witnessed_checkpoint(txn)) {
    v.cosigned_size = cosigned->size;
    v.cosigners = cosigned->witnesses.size();
    if (auto t = newest_cosignature_time(cosigned->note))
      v.witness_age_s = std::max<std::int64_t>(0, clock_.now_ms() / 1000 - *t);
  }
  for (const auto& peer : federation_.peers().list(txn)) v.peers[peer.name].active = peer.active;
  for (auto& [peer, d] : federation_.outbox().delivery(
           txn, clock_.now_ms(), federation_.config().federation.give_up_after_s))
    v.peers[peer].delivery = d;
  v.mail_queue = candidates_.queued_mail_count(txn);
  v.alerts = federation_.alerts().count(txn);
  v.writer = writer_.stats();
  v.writer_queued = writer_.queued();
  return v;
}

}  // namespace relay::node::services
