// `relay-node backup DIR` and `relay-node restore DIR --data-dir D`.
//
// A backup directory holds everything a node needs to start again elsewhere:
//   lmdb/data.mdb   LMDB's compacting hot copy (mdb_env_copy2 with MDB_CP_COMPACT), taken
//                   from its own read transaction while the node serves: one consistent
//                   snapshot, every write acknowledged before the copy began included
//   keys/...        the key files (retired keys included), 0600
//   admin_token, auditor_token   0600
//   candidate_keys  the candidates' key slots (candidates/key_slots.hpp), read after the copy
//   erasures        the erasure journal, read after candidate_keys: a key released after the
//                   copy began is zeroed in the copied slots and its erasure is in this journal
//                   (restore and the first start apply it again)
//   node.json       the configuration the node was started with
//   MANIFEST.json   format, node name, ledger size and root of the copy, each file's size and
//                   SHA-256 (restore checks them all before writing anything)
// Every directory is 0700 and every file 0600: the backup holds the node's secrets.
//
// The key files are read before and after the LMDB copy; if a key rotation changed them in
// between, the copy is taken again, so keys and ledger always belong together.
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "config/node_config.hpp"
#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "crypto/key_file.hpp"
#include "node/candidates/candidate_store.hpp"
#include "node/commands.hpp"
#include "node/common/clock.hpp"
#include "node/identity/key_ring.hpp"
#include "node/ledger/ledger.hpp"
#include "node/storage/environment.hpp"

namespace relay::node {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr std::string_view kFormat = "relaynode-backup/1";

// Small files copied byte for byte, by their path relative to the data directory.
using SmallFiles = std::map<std::string, std::string>;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The key files and tokens, as they are now.
SmallFiles read_secrets(const fs::path& data_dir) {
  SmallFiles files;
  for (const auto& entry : fs::recursive_directory_iterator(data_dir / "keys")) {
    if (!entry.is_regular_file()) continue;
    auto name = entry.path().filename().string();
    if (name.ends_with(".tmp")) continue;  // an atomic write in progress
    files[fs::relative(entry.path(), data_dir).string()] = read_file(entry.path());
  }
  for (const char* token : {"admin_token", "auditor_token"})
    files[token] = read_file(data_dir / token);
  return files;
}

void make_private_dir(const fs::path& dir) {
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
}

std::string sha256_of_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  crypto::Sha256 hash;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    auto n = static_cast<std::size_t>(in.gcount());
    hash.update(crypto::ByteView(reinterpret_cast<const std::uint8_t*>(buffer.data()), n));
  }
  return crypto::to_hex(hash.finish());
}

bool empty_or_absent(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return true;
  return fs::is_directory(dir, ec) && fs::is_empty(dir, ec);
}

std::string utc_now() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

struct LedgerFacts {
  std::uint64_t size = 0;
  std::string root;
};

// Reads the ledger size and root of the copy (opening it as the restored node will).
LedgerFacts ledger_facts(const fs::path& lmdb_dir, const config::NodeConfig& config,
                         const identity::KeyRing& keys) {
  LedgerFacts facts;
  {
    auto env = storage::Environment::open(lmdb_dir);
    common::SystemClock clock;
    ledger::Ledger ledger(env, config.node.name, keys, clock);
    auto txn = env.begin_read();
    facts.size = ledger.size(txn);
    facts.root = crypto::to_base64(ledger.root(txn, facts.size));
  }
  fs::remove(lmdb_dir / "lock.mdb");  // the restored node makes its own
  return facts;
}

}  // namespace

int run_backup(const fs::path& config_path, const fs::path& dir) {
  auto loaded = config::load_node_config(config_path);
  if (!loaded) {
    std::cerr << loaded.error_text() << "\n";
    return 2;
  }
  if (!empty_or_absent(dir)) {
    std::cerr << "relay-node backup: DIR: " << dir.string() << " exists and is not empty\n";
    return 2;
  }
  try {
    spdlog::set_level(spdlog::level::warn);
    const auto config = std::move(loaded).value();
    const auto& data_dir = config.data_dir;
    identity::KeyRing keys(identity::NodeKeys::load(data_dir / "keys"));
    auto env = storage::Environment::open(
        data_dir / "lmdb",
        storage::EnvironmentOptions{.map_size_bytes = config.storage.map_size_mb << 20});
    make_private_dir(dir);

    SmallFiles secrets;
    for (int attempt = 0;; ++attempt) {
      secrets = read_secrets(data_dir);
      env.copy_to(dir / "lmdb", true);
      if (read_secrets(data_dir) == secrets) break;
      if (attempt == 3) throw std::runtime_error("the key files kept changing during the copy");
      fs::remove_all(dir / "lmdb");  // a key rotation ran meanwhile: take both again
    }
    fs::permissions(dir / "lmdb" / "data.mdb", fs::perms::owner_read | fs::perms::owner_write,
                    fs::perm_options::replace);
    // After the copy, the key file and then the journal (key_slots.hpp: journal before zeroing).
    for (const char* name : {"candidate_keys", "erasures"})
      if (fs::exists(data_dir / name)) secrets[name] = read_file(data_dir / name);
    secrets["node.json"] = read_file(config_path);
    for (const auto& [name, bytes] : secrets) {
      make_private_dir((dir / name).parent_path());
      crypto::write_secret_file(dir / name, crypto::as_bytes(bytes));
    }

    auto facts = ledger_facts(dir / "lmdb", config, keys);
    json files = json::array();
    secrets["lmdb/data.mdb"];  // listed with the others, hashed from its file
    for (const auto& [name, bytes] : secrets) {
      files.push_back({{"path", name},
                       {"bytes", fs::file_size(dir / name)},
                       {"sha256", sha256_of_file(dir / name)}});
    }
    json manifest = {{"format", kFormat},         {"node", config.node.name},
                     {"created", utc_now()},      {"ledger_size", facts.size},
                     {"ledger_root", facts.root}, {"files", files}};
    crypto::write_secret_file(dir / "MANIFEST.json", crypto::as_bytes(manifest.dump(2) + "\n"));
    std::cout << "backup of '" << config.node.name << "' written to " << dir.string()
              << "\nledger:  " << facts.size << " entries, root " << facts.root
              << "\nbytes:   " << fs::file_size(dir / "lmdb" / "data.mdb")
              << " (compacted LMDB copy)\nrestore: relay-node restore " << dir.string()
              << " --data-dir <new empty directory>\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "relay-node backup: " << e.what() << "\n";
    return 1;
  }
}

// Appends the erasure journal `from` to the restored node's and releases, offline, the key
// slot of every journaled candidate the backup still holds: the restored directory never holds
// their key, even before its first start (which then erases the records themselves).
std::size_t apply_erasures(const fs::path& data_dir, const fs::path& from) {
  auto config = config::load_node_config(data_dir / "node.json");
  if (!config) throw std::runtime_error("restored node.json does not load");
  identity::KeyRing keys(identity::NodeKeys::load(data_dir / "keys"));
  std::size_t shredded = 0;
  {
    auto env = storage::Environment::open(
        data_dir / "lmdb",
        storage::EnvironmentOptions{.map_size_bytes = config.value().storage.map_size_mb << 20});
    common::SystemClock clock;
    candidates::Store store(env, keys, clock, data_dir / "candidate_keys");
    if (!from.empty()) {
      std::vector<std::string> lines;
      std::ifstream in(from);
      for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
      store.key_slots().append_journal(lines);
    }
    auto txn = env.begin_write();
    shredded = store.shred_journaled(txn);
    store.key_slots().commit(txn);
  }
  fs::remove(data_dir / "lmdb" / "lock.mdb");
  return shredded;
}

int run_restore(const fs::path& backup_dir, const fs::path& data_dir_arg,
                const fs::path& erasures) {
  const auto data_dir = fs::absolute(data_dir_arg);
  if (!empty_or_absent(data_dir)) {
    std::cerr << "relay-node restore: --data-dir: " << data_dir.string()
              << " exists and is not empty (restore never overwrites a node)\n";
    return 2;
  }
  json manifest;
  try {
    manifest = json::parse(read_file(backup_dir / "MANIFEST.json"));
  } catch (const std::exception&) {
    std::cerr << "relay-node restore: DIR: " << backup_dir.string()
              << " holds no readable MANIFEST.json (not a relay-node backup)\n";
    return 2;
  }
  try {
    if (!manifest.is_object() || manifest.value("format", "") != kFormat ||
        !manifest.contains("files") || !manifest["files"].is_array()) {
      std::cerr << "relay-node restore: DIR: MANIFEST.json is not a " << kFormat << " manifest\n";
      return 2;
    }
    // Every file is checked before anything is written.
    std::vector<std::string> paths;
    for (const auto& f : manifest["files"]) {
      auto path = f.at("path").get<std::string>();
      auto rel = fs::path(path).lexically_normal();
      if (rel.is_absolute() || rel.string().starts_with("..")) {
        std::cerr << "relay-node restore: DIR: MANIFEST.json names a path outside the backup\n";
        return 2;
      }
      std::error_code ec;
      auto bytes = fs::file_size(backup_dir / rel, ec);
      if (ec || bytes != f.at("bytes").get<std::uintmax_t>() ||
          sha256_of_file(backup_dir / rel) != f.at("sha256").get<std::string>()) {
        std::cerr << "relay-node restore: DIR: " << path
                  << " is missing or differs from MANIFEST.json (damaged backup)\n";
        return 1;
      }
      paths.push_back(rel.string());
    }
    make_private_dir(data_dir);
    for (const auto& path : paths) {
      const auto from = backup_dir / path;
      const auto to = data_dir / path;
      make_private_dir(to.parent_path());
      if (path == "node.json") {
        // The restored node lives in its new directory, whatever data_dir the old one had.
        auto config = json::parse(read_file(from), nullptr, true, true);
        config["data_dir"] = ".";
        crypto::write_secret_file(to, crypto::as_bytes(config.dump(2) + "\n"));
      } else if (path == "lmdb/data.mdb") {
        fs::copy_file(from, to);
        fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write,
                        fs::perm_options::replace);
      } else {
        crypto::write_secret_file(to, crypto::as_bytes(read_file(from)));
      }
    }
    // A node that cannot load its restored config would only fail later at serve.
    auto check = config::load_node_config(data_dir / "node.json");
    if (!check) {
      std::cerr << "relay-node restore: restored node.json does not load:\n"
                << check.error_text() << "\n";
      return 1;
    }
    auto shredded = apply_erasures(data_dir, erasures);
    std::cout << "restored '" << manifest.value("node", "") << "' (backup of "
              << manifest.value("created", "") << ", ledger "
              << manifest.value("ledger_size", std::uint64_t{0}) << " entries) into "
              << data_dir.string() << "\nerasures applied again: " << shredded
              << " candidate key(s) destroyed (their records are erased at the first start)"
              << "\nstart with: relay-node serve --config " << (data_dir / "node.json").string()
              << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "relay-node restore: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace relay::node
