#pragma once
// The operator's and the auditor's bearer tokens, each kept in one file of the data directory
// (admin_token, auditor_token: one line, mode 0600).
//
// TokenFile is the file as the running node sees it: digest() re-reads the file whenever it
// changed (another inode, size, mode or modification time: `relay-node rotate-token` replaces it by
// an atomic rename), so a rotated token takes effect at the next request and the old one stops
// working, with no restart and no signal. A file that becomes unreadable, too short or readable
// by group or others matches no token at all until it is fixed (fail closed; logged once).
//
// Threads: digest() from any thread (a mutex guards the cached digest; one stat() per call).
#include <sys/types.h>

#include <filesystem>
#include <mutex>
#include <string>

#include "node/identity/key_ring.hpp"

namespace relay::node::identity {

// Reads a token file (first line, trailing spaces trimmed). Throws std::runtime_error naming
// the file if it is missing, shorter than 20 characters, or readable by group or others (with
// the chmod that fixes it). The message never holds the token.
std::string read_token_file(const std::filesystem::path& path);

// Writes a fresh random token to path (0600, atomic rename) and returns nothing: the token is
// read from the file by whoever needs it, never printed. Throws std::system_error.
void write_new_token_file(const std::filesystem::path& path);

class TokenFile {
 public:
  // Reads the file once now (throws like read_token_file: a node does not start with a bad
  // token file). keys: the ring whose token key digests tokens.
  TokenFile(std::filesystem::path path, const KeyRing& keys);

  // The keyed digest of the token the file holds now; "" (matches nothing) if the file has
  // become unusable.
  std::string digest() const;

 private:
  struct Stamp {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    mode_t mode = 0;
    long long mtime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  static Stamp stamp_of(const std::filesystem::path& path, bool& ok);

  std::filesystem::path path_;
  const KeyRing& keys_;
  mutable std::mutex mutex_;
  mutable Stamp stamp_;
  mutable std::string digest_;
};

}  // namespace relay::node::identity
