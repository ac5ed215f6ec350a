#include "node/storage/file_tail.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace relay::node::storage {

FileTail::FileTail(const std::filesystem::path& file, std::size_t page_size) noexcept
    : page_size_(page_size) {
  fd_ = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) {
    give_up("open", errno);
    return;
  }
  // Set on this descriptor only: reads through it cache the page asked for and nothing more.
  if (int err = ::posix_fadvise(fd_, 0, 0, POSIX_FADV_RANDOM); err != 0) give_up("fadvise", err);
}

FileTail::~FileTail() {
  if (fd_ >= 0) ::close(fd_);
}

void FileTail::give_up(const char* what, int err) noexcept {
  try {
    spdlog::warn("storage: cannot ready data.mdb's tail ({}: {}); LMDB writes as before", what,
                 std::strerror(err));
  } catch (...) {
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void FileTail::ready(std::uint64_t used_end, std::uint64_t limit) noexcept {
  if (fd_ < 0 || page_size_ == 0) return;
  const std::uint64_t target = std::min(used_end + kAhead, limit);
  const std::uint64_t from = std::max(ready_end_, used_end);
  if (ready_end_ >= used_end + kAhead / 2 || from >= target) return;
  struct stat file {};
  if (::fstat(fd_, &file) != 0) return give_up("fstat", errno);
  // Only ever longer: the write lock is held, so no other process is extending it meanwhile.
  if (static_cast<std::uint64_t>(file.st_size) < target &&
      ::ftruncate(fd_, static_cast<off_t>(target)) != 0) {
    return give_up("ftruncate", errno);
  }
  std::vector<char> page(page_size_);
  for (std::uint64_t at = from - from % page_size_; at < target; at += page_size_) {
    if (::pread(fd_, page.data(), page_size_, static_cast<off_t>(at)) < 0) {
      return give_up("pread", errno);
    }
  }
  ready_end_ = target;
}

}  // namespace relay::node::storage
