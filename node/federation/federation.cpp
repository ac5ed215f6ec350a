#include "node/federation/federation.hpp"

#include "protocol/federation_messages.hpp"

namespace relay::node::federation {

Federation::Federation(const config::NodeConfig& config, storage::Environment& env,
                       storage::Writer& writer, identity::KeyRing& keys, ledger::Ledger& ledger)
    : config_(config),
      env_(env),
      writer_(writer),
      keys_(keys),
      ledger_(ledger),
      peers_(env, ledger, config.node.name, config.federation.allow_plain_http),
      outbox_(env, ledger.clock()),
      alerts_(env, ledger.clock()),
      identity_(config, env, writer, keys, ledger, peers_, outbox_, alerts_),
      client_(config, env, ledger.clock(), peers_, identity_),
      inbox_(config, env, writer, ledger.clock(), peers_, identity_),
      sender_(config, env, writer, ledger.clock(), peers_, outbox_, client_, identity_, alerts_) {
  register_own_messages();
}

Federation::~Federation() {
  stop();
}

void Federation::register_own_messages() {
  // An announcement whose key was learnt by the inbox (NodeIdentity::announced_key) or was
  // known already: accepting it is all that is left to do.
  on<protocol::KeyRotated>(
      [](storage::WriteTxn&, const protocol::KeyRotated&, const protocol::Envelope&, const Peer&) {
        return HandlerResult::accept(nlohmann::json::object());
      });
  // Connectivity check between operators: the reply proves the round trip.
  on<protocol::Ping>(
      [](storage::WriteTxn&, const protocol::Ping&, const protocol::Envelope&, const Peer&) {
        return HandlerResult::accept({{"pong", true}});
      });
}

void Federation::rotate_keys() {
  identity_.rotate_keys();
  sender_.notify();
}

std::size_t Federation::compact_feed(storage::WriteTxn& txn) {
  std::vector<std::string> names;
  for (const auto& p : peers_.list(txn)) names.push_back(p.name);
  return outbox_.feed().compact(txn, names);
}

void Federation::start() {
  identity_.start();
  sender_.start();
}

void Federation::stop() {
  sender_.stop();
  identity_.stop();
}

}  // namespace relay::node::federation
