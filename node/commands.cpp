#include "node/commands.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "node/api/common.hpp"
#include "node/http/server.hpp"
#include "node/node.hpp"
#include "node/storage/txn.hpp"

namespace relay::node {

namespace {

std::optional<config::NodeConfig> load_config(const std::filesystem::path& path) {
  auto loaded = config::load_node_config(path);
  if (!loaded) {
    std::cerr << loaded.error_text() << "\n";
    return std::nullopt;
  }
  return std::move(loaded).value();
}

void setup_logging(const config::NodeConfig& config) {
  if (config.log.file) spdlog::set_default_logger(spdlog::basic_logger_mt("relay", config.log.file->string()));
  spdlog::set_level(static_cast<spdlog::level::level_enum>(static_cast<int>(config.log.level)));
  spdlog::flush_on(spdlog::level::info);
}

// Opens the node for a one-shot command; errors go to stderr.
template <class F>
int with_node(const std::filesystem::path& config_path, F fn) {
  auto config = load_config(config_path);
  if (!config) return 2;
  try {
    spdlog::set_level(spdlog::level::warn);
    Node node(std::move(*config));
    return fn(node);
  } catch (const std::exception& e) {
    std::cerr << "relay-node: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int run_init(const InitOptions& options) {
  try {
    auto result = init_node(options);
    if (!result.ok) {
      std::cerr << "relay-node init: " << result.error << "\n";
      return 2;
    }
    std::cout << "initialised node '" << options.name << "' in " << result.config_path.parent_path().string()
              << "\nconfig:        " << result.config_path.string()
              << "\nadmin token:   " << (result.config_path.parent_path() / "admin_token").string()
              << "\nauditor token: " << (result.config_path.parent_path() / "auditor_token").string() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "relay-node init: " << e.what() << "\n";
    return 1;
  }
}

int run_serve(const std::filesystem::path& config_path) {
  auto config = load_config(config_path);
  if (!config) return 2;
  try {
    setup_logging(*config);
    Node node(std::move(*config));
    auto router = api::build_router(node);
    const auto& c = node.config();
    http::ServerOptions options{c.listen.address, c.listen.port, c.http.max_body_bytes, c.http.max_header_bytes,
                                c.http.read_timeout_ms, c.http.idle_timeout_ms, static_cast<int>(c.http.threads)};
    http::Server server(options, [&router](const http::Request& request) { return router.handle(request); });
    server.listen();
    node.start_background();
    // The "listening" line is machine-read by tests and scripts: keep its shape.
    spdlog::info("listening on {}:{} as {}", c.listen.address, server.port(), c.node.name);
    std::cout << "relay-node listening on http://" << c.listen.address << ":" << server.port() << std::endl;
    server.run(true);
    node.stop_background();
    spdlog::info("stopped");
    return 0;
  } catch (const std::exception& e) {
    spdlog::critical("relay-node serve: {}", e.what());
    std::cerr << "relay-node serve: " << e.what() << "\n";
    return 1;
  }
}

int run_member_add(const std::filesystem::path& config_path, const std::string& name) {
  return with_node(config_path, [&](Node& node) {
    auto result = node.writer().submit_wait([&](storage::WriteTxn& txn) { return node.members().admit(txn, name); });
    if (result.error == members::AdmitError::duplicate_name) {
      std::cerr << "relay-node member add: NAME: a member with this name exists\n";
      return 2;
    }
    if (!result.admitted) {
      std::cerr << "relay-node member add: NAME: must be 1..200 characters of text\n";
      return 2;
    }
    const auto& m = result.admitted->member;
    std::cout << "member:     " << m.id << "\nname:       " << m.name << "\napi key:    " << result.admitted->api_key
              << "   (shown once)\nrelay link: " << node.config().node.public_url << "/r/" << m.link_token << "\n";
    return 0;
  });
}

int run_member_list(const std::filesystem::path& config_path) {
  return with_node(config_path, [&](Node& node) {
    auto txn = node.env().begin_read();
    for (const auto& m : node.members().list(txn)) {
      auto a = node.credits().account(txn, m.id);
      std::cout << m.id << "\t" << (m.active ? "active" : "suspended") << "\tcredits=" << a.balance()
                << "\treferrals=" << a.counted << "\t" << m.name << "\n";
    }
    return 0;
  });
}

int run_member_set_active(const std::filesystem::path& config_path, const std::string& id, bool active) {
  return with_node(config_path, [&](Node& node) {
    auto change = node.writer().submit_wait([&](storage::WriteTxn& txn) { return node.members().set_active(txn, id, active); });
    if (change == members::StatusChange::not_found) {
      std::cerr << "relay-node member: ID: no member " << id << "\n";
      return 2;
    }
    std::cout << id << " " << (active ? "active" : "suspended") << "\n";
    return 0;
  });
}

int run_peer_add(const std::filesystem::path& config_path, const std::string& name, const std::string& url,
                 const std::string& fingerprint) {
  return with_node(config_path, [&](Node& node) {
    auto error = node.writer().submit_wait(
        [&](storage::WriteTxn& txn) { return node.federation().peers().add(txn, name, url, fingerprint); });
    switch (error) {
      case federation::AddError::none:
        std::cout << "peer " << name << " added (" << url << ")\n";
        return 0;
      case federation::AddError::bad_name: std::cerr << "relay-node peer add: NAME: lower-case letters, digits, '.' and '-'\n"; break;
      case federation::AddError::bad_url: std::cerr << "relay-node peer add: URL: must be http://host[:port]\n"; break;
      case federation::AddError::bad_fingerprint: std::cerr << "relay-node peer add: FINGERPRINT: 64 lower-case hex digits\n"; break;
      case federation::AddError::duplicate: std::cerr << "relay-node peer add: NAME: already a peer\n"; break;
      case federation::AddError::is_self: std::cerr << "relay-node peer add: NAME: that is this node\n"; break;
    }
    return 2;
  });
}

int run_peer_list(const std::filesystem::path& config_path) {
  return with_node(config_path, [&](Node& node) {
    auto txn = node.env().begin_read();
    for (const auto& p : node.federation().peers().list(txn))
      std::cout << p.name << "\t" << (p.active ? "active" : "suspended") << "\t" << p.url << "\t" << p.fingerprint << "\n";
    return 0;
  });
}

int run_peer_set_active(const std::filesystem::path& config_path, const std::string& name, bool active) {
  return with_node(config_path, [&](Node& node) {
    bool found = node.writer().submit_wait(
        [&](storage::WriteTxn& txn) { return node.federation().peers().set_active(txn, name, active); });
    if (!found) {
      std::cerr << "relay-node peer: NAME: no peer " << name << "\n";
      return 2;
    }
    std::cout << name << " " << (active ? "active" : "suspended") << "\n";
    return 0;
  });
}

int run_identity(const std::filesystem::path& config_path) {
  return with_node(config_path, [&](Node& node) {
    auto keys = node.keys().current();
    std::cout << "name:        " << node.config().node.name << "\nurl:         " << node.config().node.public_url
              << "\nfingerprint: " << keys->signing.public_key.fingerprint() << "\nvkey:        "
              << node.ledger().verifier_key() << "\n";
    return 0;
  });
}

}  // namespace relay::node
