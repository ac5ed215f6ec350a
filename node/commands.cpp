#include "node/commands.hpp"

#include <fcntl.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "node/api/common.hpp"
#include "node/candidates/candidate_store.hpp"
#include "node/common/freed_pages.hpp"
#include "node/common/log_format.hpp"
#include "node/common/public_links.hpp"
#include "node/http/client.hpp"
#include "node/http/server.hpp"
#include "node/identity/token_file.hpp"
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

// Logs go to stderr (or log.file), never stdout: stdout carries the command's own answer (and
// serve's "listening" line). log.format json: one JSON object per line (common/log_format.hpp).
void setup_logging(const config::NodeConfig& config) {
  std::shared_ptr<spdlog::logger> logger;
  if (config.log.file)
    logger = spdlog::basic_logger_mt("relay", config.log.file->string());
  else
    logger = spdlog::stderr_logger_mt("relay");
  if (config.log.format == config::LogFormat::json)
    logger->set_formatter(std::make_unique<common::JsonLogFormatter>());
  spdlog::set_default_logger(logger);
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

// Writes bytes to a new file only its owner can read; false (nothing left behind) if the file
// exists or cannot be written.
bool write_private_file(const std::filesystem::path& path, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = ::fchmod(fd, 0600) == 0;  // whatever the umask
  for (std::size_t done = 0; ok && done < bytes.size();) {
    auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok) ::unlink(path.c_str());
  return ok;
}

}  // namespace

int run_init(const InitOptions& options) {
  try {
    auto result = init_node(options);
    if (!result.ok) {
      std::cerr << "relay-node init: " << result.error << "\n";
      return 2;
    }
    std::cout << "initialised node '" << options.name << "' in "
              << result.config_path.parent_path().string()
              << "\nconfig:        " << result.config_path.string()
              << "\nadmin token:   " << (result.config_path.parent_path() / "admin_token").string()
              << "\nauditor token: "
              << (result.config_path.parent_path() / "auditor_token").string() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "relay-node init: " << e.what() << "\n";
    return 1;
  }
}

int run_serve(const std::filesystem::path& config_path) {
  auto config = load_config(config_path);
  if (!config) return 2;
  common::keep_freed_pages();
  try {
    setup_logging(*config);
    Node node(std::move(*config));
    auto router = api::build_router(node.services());
    const auto& c = node.config();
    std::optional<http::TlsFiles> tls;
    if (c.tls.enabled()) tls = http::TlsFiles{*c.tls.certificate_file, *c.tls.key_file};
    http::ServerOptions options{c.listen.address,
                                c.listen.port,
                                c.http.max_body_bytes,
                                c.http.max_header_bytes,
                                c.http.read_timeout_ms,
                                c.http.idle_timeout_ms,
                                static_cast<int>(c.http.threads),
                                tls,
                                c.http.behind_proxy,
                                c.http.max_connections};
    http::Server server(options,
                        [&router](const http::Request& request) { return router.handle(request); });
    server.listen();
    node.start_background();
    // The "listening" line is machine-read by tests and scripts: keep its shape.
    spdlog::info("listening on {}:{} as {}", c.listen.address, server.port(), c.node.name);
    std::cout << "relay-node listening on " << (c.tls.enabled() ? "https://" : "http://")
              << c.listen.address << ":" << server.port() << std::endl;
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
    auto admitted = node.services().membership.admit(name);
    if (!admitted) {
      if (admitted.error() == members::AdmitError::duplicate_name)
        std::cerr << "relay-node member add: NAME: a member with this name exists\n";
      else
        std::cerr << "relay-node member add: NAME: must be 1..200 characters of text\n";
      return 2;
    }
    const auto& m = admitted->view.member;
    std::cout << "member:     " << m.id << "\nname:       " << m.name
              << "\napi key:    " << admitted->api_key
              << "   (shown once)\nrelay link: " << node.config().node.public_url
              << common::relay_path(m.link_token) << "\n";
    return 0;
  });
}

int run_member_list(const std::filesystem::path& config_path) {
  return with_node(config_path, [&](Node& node) {
    for (const auto& v : node.services().membership.list()) {
      const auto& m = v.member;
      std::cout << m.id << "\t" << (m.active ? "active" : "suspended")
                << "\tcredits=" << v.credits.balance() << "\treferrals=" << v.credits.counted
                << "\t" << m.name << "\n";
    }
    return 0;
  });
}

int run_member_set_active(const std::filesystem::path& config_path, const std::string& id,
                          bool active) {
  return with_node(config_path, [&](Node& node) {
    auto changed = node.services().membership.set_active(id, active);
    if (!changed) {
      std::cerr << "relay-node member: ID: no member " << id << "\n";
      return 2;
    }
    std::cout << id << " " << (active ? "active" : "suspended") << "\n";
    return 0;
  });
}

int run_member_new_key(const std::filesystem::path& config_path, const std::string& id) {
  return with_node(config_path, [&](Node& node) {
    auto replaced = node.services().membership.replace_api_key(id);
    if (!replaced) {
      std::cerr << "relay-node member new-key: ID: no member " << id << "\n";
      return 2;
    }
    std::cout << "member:     " << id << "\napi key:    " << replaced->api_key
              << "   (shown once; the key before it no longer works)\n";
    return 0;
  });
}

int run_peer_add(const std::filesystem::path& config_path, const std::string& name,
                 const std::string& url, const std::string& fingerprint) {
  return with_node(config_path, [&](Node& node) {
    auto added = node.services().peering.add(name, url, fingerprint, services::KeyFetch::later);
    if (added) {
      std::cout << "peer " << name << " added (" << url << ")\n";
      return 0;
    }
    switch (added.error()) {
      case federation::AddError::bad_name:
        std::cerr << "relay-node peer add: NAME: lower-case letters, digits, '.' and '-'\n";
        break;
      case federation::AddError::bad_url:
        std::cerr << "relay-node peer add: URL: must be https://host[:port] (or http:// to a "
                     "loopback host), without a path\n";
        break;
      case federation::AddError::plain_http:
        std::cerr << "relay-node peer add: URL: http:// only to a loopback host; use https://, "
                     "or set federation.allow_plain_http on a private network\n";
        break;
      case federation::AddError::bad_fingerprint:
        std::cerr << "relay-node peer add: FINGERPRINT: 64 lower-case hex digits\n";
        break;
      case federation::AddError::duplicate:
        std::cerr << "relay-node peer add: NAME: already a peer\n";
        break;
      case federation::AddError::is_self:
        std::cerr << "relay-node peer add: NAME: that is this node\n";
        break;
      case federation::AddError::none:
        break;
    }
    return 2;
  });
}

int run_peer_list(const std::filesystem::path& config_path) {
  return with_node(config_path, [&](Node& node) {
    for (const auto& p : node.services().peering.list())
      std::cout << p.name << "\t" << (p.active ? "active" : "suspended") << "\t" << p.url << "\t"
                << p.fingerprint << "\n";
    return 0;
  });
}

int run_peer_set_active(const std::filesystem::path& config_path, const std::string& name,
                        bool active) {
  return with_node(config_path, [&](Node& node) {
    auto changed = node.services().peering.set_active(name, active);
    if (!changed) {
      std::cerr << "relay-node peer: NAME: no peer " << name << "\n";
      return 2;
    }
    std::cout << name << " " << (active ? "active" : "suspended") << "\n";
    return 0;
  });
}

int run_identity(const std::filesystem::path& config_path) {
  return with_node(config_path, [&](Node& node) {
    auto key = node.services().audit.key();
    std::cout << "name:        " << node.config().node.name
              << "\nurl:         " << node.config().node.public_url
              << "\nfingerprint: " << key.fingerprint << "\nvkey:        " << key.vkey << "\n";
    return 0;
  });
}

int run_status(const std::filesystem::path& config_path, bool as_json) {
  return with_node(config_path, [&](Node& node) {
    const auto v = node.services().operations.vitals();
    const auto& c = node.config();
    const auto host = c.listen.address == "0.0.0.0" ? std::string("127.0.0.1")
                      : c.listen.address == "::"    ? std::string("[::1]")
                      : c.listen.address.find(':') != std::string::npos
                          ? "[" + c.listen.address + "]"
                          : c.listen.address;
    const auto url = "http://" + host + ":" + std::to_string(c.listen.port) + "/healthz";
    auto health = http::http_request("GET", url, {}, {}, std::chrono::milliseconds(2000));
    const bool serving = health && health.response->status == 200;
    nlohmann::json peers = nlohmann::json::object();
    for (const auto& [name, q] : v.peers)
      peers[name] = {{"active", q.active}, {"delivery", q.delivery.to_json()}};
    nlohmann::json j = {{"node", v.node},
                        {"serving", serving},
                        {"healthz", url},
                        {"ledger_size", v.ledger_size},
                        {"cosigned_size", v.cosigned_size ? nlohmann::json(*v.cosigned_size)
                                                          : nlohmann::json(nullptr)},
                        {"cosigners", v.cosigners},
                        {"witness_age_s", v.witness_age_s ? nlohmann::json(*v.witness_age_s)
                                                          : nlohmann::json(nullptr)},
                        {"peers", peers},
                        {"mail_queue", v.mail_queue},
                        {"alerts", v.alerts}};
    if (as_json) {
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    std::cout << "node:        " << v.node << "\nserving:     "
              << (serving ? "yes (" + url + " answered 200)" : "no answer at " + url)
              << "\nledger:      " << v.ledger_size << " entries\ncosigned:    ";
    if (v.cosigned_size) {
      std::cout << "checkpoint of " << *v.cosigned_size << " entries, by " << v.cosigners
                << " peer(s)";
      if (v.witness_age_s) std::cout << ", newest cosignature " << *v.witness_age_s << " s ago";
    } else {
      std::cout << "no checkpoint cosigned by a peer yet";
    }
    std::cout << "\npeers:       " << v.peers.size() << "\n";
    for (const auto& [name, q] : v.peers)
      std::cout << "  " << name << "\t" << (q.active ? "active" : "suspended")
                << "\toutbox queued=" << q.delivery.queued << " at_risk=" << q.delivery.at_risk
                << " refused=" << q.delivery.refused << " undelivered=" << q.delivery.undelivered
                << "\n";
    std::cout << "mail queue:  " << v.mail_queue << "\nalerts:      " << v.alerts
              << (v.alerts ? "   (GET /api/v1/alerts)" : "") << "\n";
    return 0;
  });
}

int run_rotate_token(const std::filesystem::path& config_path, const std::string& which) {
  auto config = load_config(config_path);
  if (!config) return 2;
  if (which != "admin" && which != "auditor") {
    std::cerr << "relay-node rotate-token: WHICH: admin or auditor\n";
    return 2;
  }
  const auto path = config->data_dir / (which + "_token");
  try {
    identity::write_new_token_file(path);
  } catch (const std::exception& e) {
    std::cerr << "relay-node rotate-token: " << e.what() << "\n";
    return 1;
  }
  std::cout << "new " << which << " token written to " << path.string()
            << " (mode 0600)\nthe running node accepts it from its next request and refuses the "
               "old one\n";
  return 0;
}

}  // namespace relay::node

namespace relay::node {

int run_evidence(const std::filesystem::path& config_path, const std::string& handoff_id,
                 const std::filesystem::path& out) {
  auto config = load_config(config_path);
  if (!config) return 2;
  try {
    spdlog::set_level(spdlog::level::warn);
    identity::KeyRing keys(identity::NodeKeys::load(config->data_dir / "keys"));
    auto env = storage::Environment::open(
        config->data_dir / "lmdb",
        storage::EnvironmentOptions{.map_size_bytes = config->storage.map_size_mb << 20});
    common::SystemClock clock;
    candidates::Store store(env, keys, clock);
    std::optional<std::string> evidence;
    std::string sender;
    {
      auto txn = env.begin_read();
      if (auto record = store.find_received(txn, handoff_id)) {
        evidence = store.open_evidence(*record);
        sender = record->origin;
      }
    }
    if (!evidence) {
      std::cerr << "relay-node evidence: no evidence held for handoff " << handoff_id
                << " (unknown, or its data was erased or has expired)\n";
      return 1;
    }
    if (!write_private_file(out, *evidence)) {
      std::cerr << "relay-node evidence: --out: cannot create " << out.string()
                << " (it must not exist yet): " << std::strerror(errno) << "\n";
      return 2;
    }
    std::cout << "evidence for handoff " << handoff_id << " from " << sender << " written to "
              << out.string() << " (mode 0600: it holds personal data)\nverify with: "
              << "relay-audit evidence " << out.string() << " --signer-key <" << sender
              << "'s signing key, base64>\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "relay-node evidence: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace relay::node
