#include "node/setup.hpp"

#include <fstream>
#include <sstream>

#include "config/node_config.hpp"
#include "crypto/key_file.hpp"
#include "crypto/random.hpp"
#include "node/identity/key_store.hpp"
#include "node/identity/token_file.hpp"

namespace relay::node {

namespace fs = std::filesystem;

InitResult init_node(const InitOptions& o) {
  InitResult result;
  if (o.data_dir.empty()) {
    result.error = "--data-dir: required";
    return result;
  }
  auto dir = fs::absolute(o.data_dir);
  result.config_path = dir / "node.json";
  if (fs::exists(result.config_path) || fs::exists(dir / "keys")) {
    result.error = "--data-dir: " + dir.string() + " already holds a node (node.json or keys/)";
    return result;
  }
  auto config = config::default_config();
  config.node.name = o.name;
  config.node.region = o.region;
  config.listen.address = o.listen_address;
  config.listen.port = o.port;
  config.node.public_url = o.public_url.empty()
                               ? "http://" + o.listen_address + ":" + std::to_string(o.port)
                               : o.public_url;
  config.credits.referrals_per_credit = o.referrals_per_credit;
  auto text = config::to_json_text(config);
  // Validate exactly what will be written, so that a bad --name or --region is reported
  // by name and nothing is created.
  auto check = config::parse_node_config(text, result.config_path);
  if (!check) {
    result.error = check.error_text();
    return result;
  }
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
  identity::NodeKeys::generate().save(dir / "keys");
  identity::write_new_token_file(dir / "admin_token");
  identity::write_new_token_file(dir / "auditor_token");
  crypto::write_public_file(result.config_path, crypto::as_bytes(text));
  result.ok = true;
  return result;
}

}  // namespace relay::node
