// `relay-node export`: opens only what the export reads (the LMDB environment, the keys, the
// ledger, members and credit accounts; no Writer, no federation, no background loop) and
// writes the ledger export with the node's balances (export.cpp knows only the ledger).
#include <spdlog/spdlog.h>

#include <iostream>

#include "config/node_config.hpp"
#include "crypto/bytes.hpp"
#include "node/commands.hpp"
#include "node/common/clock.hpp"
#include "node/identity/key_ring.hpp"
#include "node/ledger/export.hpp"
#include "node/members/member.hpp"
#include "node/referrals/credit_account.hpp"
#include "node/services/audit.hpp"
#include "node/storage/environment.hpp"

namespace relay::node {

using ledger::Ledger;

int run_export(const std::filesystem::path& config_path, const std::filesystem::path& dir) {
  auto loaded = config::load_node_config(config_path);
  if (!loaded) {
    std::cerr << loaded.error_text() << "\n";
    return 2;
  }
  try {
    spdlog::set_level(spdlog::level::warn);
    const auto config = std::move(loaded).value();
    identity::KeyRing keys(identity::NodeKeys::load(config.data_dir / "keys"));
    auto env = storage::Environment::open(
        config.data_dir / "lmdb",
        storage::EnvironmentOptions{.map_size_bytes = config.storage.map_size_mb << 20});
    common::SystemClock clock;
    Ledger ledger(env, config.node.name, keys, clock);
    members::Registry members(env, ledger, keys);
    referrals::CreditAccounts credits(env, ledger, config.credits.referrals_per_credit);
    auto balances = [&](const storage::Txn& txn) {
      return services::balances(txn, members, credits);
    };
    auto result = ledger::export_ledger(env, ledger, balances, dir);
    if (!result) {
      std::cerr << "relay-node export: " << result.message << "\n";
      return 2;
    }
    const auto& s = *result.summary;
    std::cout << "exported " << s.size << " entries to " << dir.string()
              << "\nroot:        " << crypto::to_base64(s.root)
              << "\nkey:         " << s.fingerprint << "\nmembers:     " << s.members
              << "\nverify with: relay-audit verify " << dir.string() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "relay-node export: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace relay::node
