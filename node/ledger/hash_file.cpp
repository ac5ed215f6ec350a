#include "node/ledger/hash_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#include "node/common/key_encoding.hpp"

namespace relay::node::ledger {

namespace {

constexpr std::string_view kMagic = "relaynode tree hashes v1";  // 24 bytes, then the count
constexpr off_t kHeader = 32;
constexpr std::size_t kHash = 32;

std::runtime_error failure(const std::filesystem::path& path, const char* what) {
  return std::runtime_error("ledger hash file " + path.string() + ": " + what + " (" +
                            std::strerror(errno) + ")");
}

void write_all(int fd, const void* data, std::size_t size, off_t at,
               const std::filesystem::path& path) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    auto n = ::pwrite(fd, p, size, at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw failure(path, "cannot write");
    p += n;
    size -= static_cast<std::size_t>(n);
    at += n;
  }
}

}  // namespace

std::uint64_t stored_hash_index(std::uint8_t level, std::uint64_t index) {
  // Level L's n'th hash follows level L+1's 2n+1'th; level 0's n'th sits at n + n/2 + n/4 ...
  for (auto l = level; l > 0; --l) index = 2 * index + 1;
  std::uint64_t i = 0;
  for (; index > 0; index >>= 1) i += index;
  return i + level;
}

std::uint64_t stored_hash_count(std::uint64_t n) {
  if (n == 0) return 0;
  std::uint64_t count = stored_hash_index(0, n - 1) + 1;
  for (auto i = n - 1; i & 1; i >>= 1) ++count;  // the parents leaf n-1 completes
  return count;
}

HashFile::HashFile(std::filesystem::path path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0) throw failure(path_, "cannot open");
  char header[kHeader] = {};
  auto n = ::pread(fd_, header, sizeof header, 0);
  if (n == kHeader && std::string_view(header, kMagic.size()) == kMagic) {
    auto leaves = common::from_be64(std::string_view(header + kMagic.size(), 8));
    // A count the file's length does not back (a truncated copy) starts again.
    struct stat st {};
    if (::fstat(fd_, &st) == 0 &&
        static_cast<std::uint64_t>(st.st_size) >= kHeader + stored_hash_count(leaves) * kHash)
      leaves_ = leaves;
    else
      restart();
  } else {
    restart();
  }
}

HashFile::~HashFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<protocol::Hash> HashFile::find(std::uint8_t level, std::uint64_t index) const {
  // Complete subtree (level, index) ends with leaf ((index + 1) << level) - 1.
  if (level >= 64 || index >= (leaves() >> level)) return std::nullopt;
  protocol::Hash h{};
  const auto at = kHeader + static_cast<off_t>(stored_hash_index(level, index) * kHash);
  ssize_t n;
  do n = ::pread(fd_, h.data(), h.size(), at);
  while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(h.size())) return std::nullopt;
  return h;
}

void HashFile::append(std::uint64_t n, std::span<const protocol::Hash> stored) {
  const auto from = leaves();
  const auto first = stored_hash_count(from);
  if (stored.size() != stored_hash_count(from + n) - first)
    throw std::logic_error("HashFile::append: hashes do not match the leaves");
  if (n == 0) return;
  write_all(fd_, stored.data(), stored.size() * kHash, kHeader + static_cast<off_t>(first * kHash),
            path_);
  // The hashes are durable before the count that covers them.
  if (::fdatasync(fd_) != 0) throw failure(path_, "cannot sync");
  write_count(from + n);
  leaves_.store(from + n, std::memory_order_release);
}

void HashFile::restart() {
  leaves_.store(0, std::memory_order_release);
  write_count(0);
  if (::ftruncate(fd_, kHeader) != 0) throw failure(path_, "cannot truncate");
}

void HashFile::write_count(std::uint64_t leaves) {
  char header[kHeader] = {};
  std::memcpy(header, kMagic.data(), kMagic.size());
  const auto count = common::be64(leaves);
  std::memcpy(header + kMagic.size(), count.data(), count.size());
  write_all(fd_, header, sizeof header, 0, path_);
}

}  // namespace relay::node::ledger
