#include "node/identity/token_file.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include "crypto/key_file.hpp"
#include "crypto/random.hpp"
#include "node/identity/key_store.hpp"

namespace relay::node::identity {

std::string read_token_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw std::runtime_error("cannot read token file " + path.string());
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw std::runtime_error("secret file " + path.string() +
                             " is readable by group or others (mode " + mode +
                             "); fix it with: chmod 600 " + path.string());
  }
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read token file " + path.string());
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.size() < 20) throw std::runtime_error("token file " + path.string() + " is too short");
  return token;
}

void write_new_token_file(const std::filesystem::path& path) {
  auto token = crypto::random_token();
  crypto::write_secret_file(path, crypto::as_bytes(token + "\n"));
}

TokenFile::Stamp TokenFile::stamp_of(const std::filesystem::path& path, bool& ok) {
  struct stat st {};
  ok = ::stat(path.c_str(), &st) == 0;
  if (!ok) return {};
  return Stamp{st.st_dev, st.st_ino, st.st_size, st.st_mode,
               static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000LL + st.st_mtim.tv_nsec};
}

TokenFile::TokenFile(std::filesystem::path path, const KeyRing& keys)
    : path_(std::move(path)), keys_(keys) {
  bool ok = false;
  stamp_ = stamp_of(path_, ok);
  digest_ = token_digest(keys_.current()->token_key, read_token_file(path_));
}

std::string TokenFile::digest() const {
  bool ok = false;
  auto now = stamp_of(path_, ok);
  std::lock_guard lock(mutex_);
  if (ok && now == stamp_) return digest_;
  stamp_ = now;
  try {
    if (!ok) throw std::runtime_error("cannot read token file " + path_.string());
    digest_ = token_digest(keys_.current()->token_key, read_token_file(path_));
    spdlog::info("identity: token file {} changed: the new token is in effect", path_.string());
  } catch (const std::exception& e) {
    digest_.clear();
    spdlog::error("identity: {}: no token matches it until it is fixed", e.what());
  }
  return digest_;
}

}  // namespace relay::node::identity
