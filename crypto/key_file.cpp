#include "crypto/key_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <system_error>

#include "crypto/random.hpp"

namespace relay::crypto {

namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

// Closes a file descriptor on scope exit unless released.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports the error: close() can be the first to report a failed write.
  int close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

void fsync_directory(const std::filesystem::path& dir, const std::filesystem::path& for_path) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno(errno, "cannot open directory of " + for_path.string());
  if (::fsync(fd.get()) != 0) throw_errno(errno, "cannot fsync directory of " + for_path.string());
}

// Writes data to path.tmp (created fresh, exclusive, with exactly `mode`), fsyncs it,
// renames it over path and fsyncs the directory, so a crash leaves either the old file or
// the complete new one. The error messages name the path, never the content.
void write_file_atomically(const std::filesystem::path& path, ByteView data, mode_t mode) {
  ensure_initialised();
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  const std::string what = "cannot write " + path.string();

  // A stale temp file from an earlier crash would make O_EXCL fail; it holds nothing
  // worth keeping because the rename never happened.
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) throw_errno(errno, what);

  Fd fd(::open(tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode));
  if (fd.get() < 0) throw_errno(errno, what);
  try {
    // The umask may have narrowed the mode (or widened nothing); set it exactly.
    if (::fchmod(fd.get(), mode) != 0) throw_errno(errno, what);
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno(errno, what);
      }
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) throw_errno(errno, what);
    if (fd.close() != 0) throw_errno(errno, what);
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno(errno, what);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  const auto parent = path.parent_path();
  fsync_directory(parent.empty() ? std::filesystem::path(".") : parent, path);
}

}  // namespace

void write_secret_file(const std::filesystem::path& path, ByteView data) {
  write_file_atomically(path, data, 0600);
}

void write_public_file(const std::filesystem::path& path, ByteView data) {
  write_file_atomically(path, data, 0644);
}

void read_secret_file_into(const std::filesystem::path& path, std::uint8_t* out, std::size_t size) {
  ensure_initialised();
  const std::string name = path.string();
  // Symlinks are followed on purpose (secret mounts are often symlinks); the checks
  // below are made with fstat on the opened file, so they apply to what is read.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno(errno, "cannot open secret file " + name);

  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno(errno, "cannot stat secret file " + name);
  if (!S_ISREG(st.st_mode)) {
    throw std::runtime_error("secret file " + name + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw std::runtime_error("secret file " + name + " is readable by group or others (mode " +
                             mode + "); chmod 600 it");
  }
  if (st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) != size) {
    throw std::runtime_error("secret file " + name + " must be exactly " + std::to_string(size) +
                             " bytes, found " + std::to_string(st.st_size));
  }

  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd.get(), out + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "cannot read secret file " + name);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  // Re-check against what was actually read, in case the file changed after fstat.
  std::uint8_t extra = 0;
  ssize_t more = 0;
  do {
    more = ::read(fd.get(), &extra, 1);
  } while (more < 0 && errno == EINTR);
  secure_zero(&extra, 1);
  if (done != size || more != 0) {
    secure_zero(out, size);
    throw std::runtime_error("secret file " + name + " changed size while being read");
  }
}

}  // namespace relay::crypto
