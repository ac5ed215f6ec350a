#include "node/identity/key_store.hpp"

#include <sys/stat.h>

#include <algorithm>

#include "crypto/hash.hpp"
#include "crypto/key_file.hpp"

namespace relay::node::identity {

namespace fs = std::filesystem;

NodeKeys NodeKeys::generate() {
  return NodeKeys{crypto::Ed25519KeyPair::generate(),       crypto::X25519KeyPair::generate(),
                  crypto::random_secret<crypto::AeadKey>(), crypto::random_secret<crypto::MacKey>(),
                  crypto::random_secret<crypto::MacKey>(),  {}};
}

void NodeKeys::save(const fs::path& dir) const {
  fs::create_directories(dir);
  ::chmod(dir.c_str(), 0700);
  auto seed = signing.seed();
  crypto::write_secret_file(dir / "signing.key", seed.view());
  crypto::write_secret_file(dir / "encryption.key", encryption.secret_key.view());
  crypto::write_secret_file(dir / "data.key", data_key.view());
  crypto::write_secret_file(dir / "pseudonym.key", pseudonym_key.view());
  crypto::write_secret_file(dir / "token.key", token_key.view());
}

NodeKeys NodeKeys::load(const fs::path& dir) {
  auto seed = crypto::read_secret_file<crypto::Ed25519Seed>(dir / "signing.key");
  auto enc = crypto::read_secret_file<crypto::X25519SecretKey>(dir / "encryption.key");
  NodeKeys keys{crypto::Ed25519KeyPair::from_seed(seed),
                crypto::X25519KeyPair::from_secret(enc),
                crypto::read_secret_file<crypto::AeadKey>(dir / "data.key"),
                crypto::read_secret_file<crypto::MacKey>(dir / "pseudonym.key"),
                crypto::read_secret_file<crypto::MacKey>(dir / "token.key"),
                {}};
  auto retired = dir / "retired";
  if (fs::exists(retired)) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(retired))
      if (entry.path().filename().string().rfind("encryption-", 0) == 0)
        files.push_back(entry.path());
    std::sort(files.begin(), files.end());  // a stable order; every retired key is tried anyway
    for (const auto& f : files)
      keys.retired_encryption.push_back(
          crypto::X25519KeyPair::from_secret(crypto::read_secret_file<crypto::X25519SecretKey>(f)));
  }
  return keys;
}

NodeKeys NodeKeys::rotated(crypto::Ed25519KeyPair signing_key,
                           crypto::X25519KeyPair encryption_key) const {
  NodeKeys next{std::move(signing_key), std::move(encryption_key), data_key.clone(),
                pseudonym_key.clone(),  token_key.clone(),         {}};
  next.retired_encryption.reserve(retired_encryption.size() + 1);
  for (const auto& old : retired_encryption)
    next.retired_encryption.push_back(crypto::X25519KeyPair::from_secret(old.secret_key));
  next.retired_encryption.push_back(crypto::X25519KeyPair::from_secret(encryption.secret_key));
  return next;
}

void complete_staged_rotation(const fs::path& keys_dir) {
  auto staged = keys_dir / "next";
  if (!fs::exists(staged / "signing.key")) return;
  for (const char* name : {"signing.key", "encryption.key"})
    fs::rename(staged / name, keys_dir / name);
  fs::remove_all(staged);
}

std::string token_digest(const crypto::MacKey& key, std::string_view token) {
  return crypto::to_hex_public(crypto::blake2b_keyed(key, crypto::as_bytes(token)));
}

}  // namespace relay::node::identity
