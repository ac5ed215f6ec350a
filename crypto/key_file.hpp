#pragma once
// Key material on disk: written atomically (temp file + fsync + rename) with mode 0600,
// read back with a check that the file is not readable by group or others.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "crypto/bytes.hpp"
#include "crypto/secret.hpp"

namespace relay::crypto {

// Throws std::system_error if the file cannot be written.
void write_secret_file(const std::filesystem::path& path, ByteView data);
// Non-secret files (public keys, identity documents) with mode 0644, same atomicity.
void write_public_file(const std::filesystem::path& path, ByteView data);

// Reads a secret file of exactly N bytes. Throws std::runtime_error naming the path if it is
// missing, the wrong size, or readable by group/others (mode & 077).
// S is the secret type, e.g. read_secret_file<AeadKey>(dir / "data.key").
void read_secret_file_into(const std::filesystem::path& path, std::uint8_t* out, std::size_t size);
template <class S>
S read_secret_file(const std::filesystem::path& path) {
  S secret;
  read_secret_file_into(path, secret.data(), S::size());
  return secret;
}

}  // namespace relay::crypto
