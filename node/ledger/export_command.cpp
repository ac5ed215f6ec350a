// `relay-node export` and the node-level export: what composes the ledger export with the
// node's members and credit accounts (export.cpp knows only the ledger).
#include <spdlog/spdlog.h>

#include <iostream>

#include "config/node_config.hpp"
#include "crypto/bytes.hpp"
#include "node/ledger/export.hpp"
#include "node/node.hpp"

namespace relay::node::ledger {

ExportResult export_ledger(Node& node, const std::filesystem::path& dir) {
  auto balances = [&node](const storage::Txn& txn) { return node.balances(txn); };
  return export_ledger(node.env(), node.ledger(), balances, dir);
}

int run_export(const std::filesystem::path& config_path, const std::filesystem::path& dir) {
  auto loaded = config::load_node_config(config_path);
  if (!loaded) {
    std::cerr << loaded.error_text() << "\n";
    return 2;
  }
  try {
    spdlog::set_level(spdlog::level::warn);
    Node node(std::move(loaded).value());
    auto result = export_ledger(node, dir);
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

}  // namespace relay::node::ledger
