#include "node/services/peering.hpp"

#include "node/storage/txn.hpp"

namespace relay::node::services {

using common::fail;

Peering::Peering(storage::Environment& env, storage::Writer& writer,
                 federation::Federation& federation, const identity::KeyRing& keys)
    : env_(env), writer_(writer), federation_(federation), keys_(keys) {}

common::Result<federation::Peer, federation::AddError> Peering::add(const std::string& name,
                                                                    const std::string& url,
                                                                    const std::string& fingerprint,
                                                                    KeyFetch fetch) {
  auto error = writer_.submit_wait(
      [&](storage::WriteTxn& txn) { return federation_.peers().add(txn, name, url, fingerprint); });
  if (error != federation::AddError::none) return fail(error);
  if (fetch == KeyFetch::now) federation_.refresh_peer(name);
  auto txn = env_.begin_read();
  return *federation_.peers().find(txn, name);
}

common::Result<federation::Peer, PeeringError> Peering::set_active(const std::string& name,
                                                                   bool active) {
  auto found = writer_.submit_wait([&](storage::WriteTxn& txn) {
    if (!federation_.peers().set_active(txn, name, active)) return false;
    // Whatever waited for the peer goes now (the commit hook wakes the sender).
    if (active) federation_.outbox().due_now(txn, name);
    return true;
  });
  if (!found) return fail(PeeringError::peer_not_found);
  auto txn = env_.begin_read();
  return *federation_.peers().find(txn, name);
}

std::map<std::string, federation::PeerDelivery> Peering::delivery() const {
  auto txn = env_.begin_read();
  return federation_.outbox().delivery(txn, federation_.clock().now_ms(),
                                       federation_.config().federation.give_up_after_s);
}

std::vector<federation::Peer> Peering::list() const {
  auto txn = env_.begin_read();
  return federation_.peers().list(txn);
}

common::Result<std::string, PeeringError> Peering::ping(const std::string& name) {
  auto id = writer_.submit_wait([&](storage::WriteTxn& txn) -> std::string {
    if (!federation_.peers().find(txn, name)) return {};
    return federation_.enqueue(txn, name, protocol::Ping{});
  });
  if (id.empty()) return fail(PeeringError::peer_not_found);
  return id;
}

std::string Peering::rotate_keys() {
  federation_.rotate_keys();
  return keys_.current()->signing.public_key.fingerprint();
}

std::optional<AlertsRead> Peering::alerts(const federation::AlertQuery& query) const {
  auto txn = env_.begin_read();
  auto page = federation_.alerts().read(txn, query);
  if (!page) return std::nullopt;
  return AlertsRead{std::move(*page), federation_.alerts().count(txn)};
}

std::vector<federation::Refusal> Peering::refusals() const {
  return federation_.refusals();
}

federation::Outbox::Listing Peering::outbox(std::size_t limit) const {
  auto txn = env_.begin_read();
  return federation_.outbox().list(txn, limit);
}

std::string Peering::identity_document() const {
  return federation_.identity_document();
}

federation::Received Peering::receive(std::string_view envelope_bytes) {
  return federation_.receive(envelope_bytes);
}

std::vector<federation::Received> Peering::receive_batch(
    const std::vector<std::string>& envelopes) {
  return federation_.inbox().receive_batch(envelopes);
}

}  // namespace relay::node::services
