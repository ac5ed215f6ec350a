#include "node/mail/mailer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <system_error>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"

namespace relay::node::mail {

namespace fs = std::filesystem;

namespace {
class OneByOne final : public MailSession {
 public:
  explicit OneByOne(Mailer& mailer) : mailer_(mailer) {}
  Attempt send(const Mail& mail) override { return mailer_.deliver(mail); }

 private:
  Mailer& mailer_;
};
}  // namespace

std::unique_ptr<MailSession> Mailer::session() {
  return std::make_unique<OneByOne>(*this);
}

namespace {
// Appends v to out with every CR and LF dropped, or, with crlf, every LF written as CRLF and
// every CR dropped. Runs between them are appended whole: a byte at a time was a third of the
// instructions formatting a mail took (callgrind).
void append_lines(std::string& out, std::string_view v, bool crlf) {
  std::size_t at = 0;
  while (at < v.size()) {
    std::size_t end = at;
    while (end < v.size() && v[end] != '\r' && v[end] != '\n') ++end;
    out.append(v.data() + at, end - at);
    if (end == v.size()) break;
    if (crlf && v[end] == '\n') out += "\r\n";
    at = end + 1;
  }
}

// Header values must not carry CR/LF (header injection); callers validate addresses, this
// is the last line of defence.
std::string header_safe(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  append_lines(out, v, false);
  return out;
}

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

// RFC 2047: an encoded-word is at most 75 characters and holds whole characters, so a long
// subject becomes several words on folded lines (decoders join adjacent words).
std::string encode_subject(std::string_view subject) {
  auto safe = header_safe(subject);
  if (is_ascii(safe)) return safe;
  constexpr std::size_t kMaxBytes = 45;  // 60 base64 characters + 12 of delimiters <= 75
  std::string_view rest(safe);
  std::string out;
  while (!rest.empty()) {
    std::size_t n = std::min(kMaxBytes, rest.size());
    while (n < rest.size() && n > 0 && (static_cast<unsigned char>(rest[n]) & 0xC0) == 0x80) --n;
    if (n == 0) n = std::min(kMaxBytes, rest.size());  // not UTF-8 after all: cut anywhere
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + crypto::to_base64(crypto::as_bytes(rest.substr(0, n))) + "?=";
    rest.remove_prefix(n);
  }
  return out;
}

// The spool directory, open for one batch: its files are created, renamed and synced
// relative to it, not each by its full path (a path walk for every open and rename).
class SpoolDir {
 public:
  explicit SpoolDir(const fs::path& dir)
      : dir_(dir), fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_ < 0) fail("mail spool");
  }
  ~SpoolDir() { ::close(fd_); }
  SpoolDir(const SpoolDir&) = delete;
  SpoolDir& operator=(const SpoolDir&) = delete;

  // Written, not yet synced: the caller syncs a batch at once. With `replace`, a file already
  // there (left by a crash while this same message was being spooled) is started over: removed
  // only when found, not on the chance (an unlink for every mail, 7% of the mail thread).
  void write(const std::string& name, const std::string& data, bool replace) const {
    int fd = ::openat(fd_, name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST && replace) {
      ::unlinkat(fd_, name.c_str(), 0);
      fd = ::openat(fd_, name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    }
    if (fd < 0) fail("mail spool", name.c_str());
    std::size_t done = 0;
    while (done < data.size()) {
      auto n = ::write(fd, data.data() + done, data.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd);
        errno = err;
        fail("mail spool write", name.c_str());
      }
      done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) fail("mail spool close", name.c_str());
  }
  void rename(const std::string& from, const std::string& to) const {
    if (::renameat(fd_, from.c_str(), fd_, to.c_str()) != 0)
      fail("mail spool rename", from.c_str());
  }
  // Flushes the file system that holds the directory (every file just written).
  void sync_files() const {
    if (::syncfs(fd_) != 0) fail("mail spool sync");
  }
  // Flushes the directory's entries (the renames).
  void sync_names() const {
    if (::fsync(fd_) != 0) fail("mail spool sync");
  }

 private:
  // Names the directory, or the file in it. errno is read first: building the message could
  // change it.
  [[noreturn]] void fail(const char* what, const char* name = nullptr) const {
    const int err = errno;
    const auto path = name ? dir_ / name : dir_;
    throw std::system_error(err, std::generic_category(), std::string(what) + " " + path.string());
  }
  const fs::path& dir_;
  int fd_;
};
}  // namespace

std::string format_rfc5322(const Mail& mail, const std::string& message_id, long long unix_time) {
  char date[64];
  std::time_t t = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  std::string out;
  out.reserve(512 + mail.body.size() + mail.body.size() / 16);
  // Header values lose every CR and LF (header_safe's rule), appended in place.
  out += "From: ";
  append_lines(out, mail.from, false);
  out += "\r\nTo: ";
  append_lines(out, mail.to, false);
  out += "\r\nSubject: ";
  out += encode_subject(mail.subject);
  out += "\r\nDate: ";
  out += date;
  out += "\r\nMessage-ID: <";
  append_lines(out, message_id, false);
  out += ">\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=UTF-8\r\n";
  out += "Content-Transfer-Encoding: 8bit\r\n";
  out += "\r\n";
  // Bodies use CRLF line ends, as RFC 5322 requires.
  append_lines(out, mail.body, true);
  if (!out.ends_with("\r\n")) out += "\r\n";
  return out;
}

SpoolMailer::SpoolMailer(fs::path dir) : dir_(std::move(dir)) {
  fs::create_directories(dir_);
  fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::replace);
}

std::string SpoolMailer::send(const Mail& mail) {
  return send_all({mail}).front();
}

std::vector<std::string> SpoolMailer::send_all(const std::vector<Mail>& mails) {
  auto now = std::chrono::system_clock::now();
  auto unix_time = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  std::vector<std::string> ids;
  if (mails.empty()) return ids;
  const SpoolDir dir(dir_);
  for (const auto& mail : mails) {
    bool named = !mail.key.empty() && mail.key.find('/') == std::string::npos &&
                 mail.key.front() != '.' && mail.key.size() <= 128;
    std::string id = named ? mail.key : std::to_string(unix_time) + "-" + crypto::random_token(12);
    auto domain = mail.from.substr(mail.from.find('@') + 1);
    dir.write("." + id + ".tmp", format_rfc5322(mail, id + "@" + domain, unix_time), named);
    ids.push_back(id);
  }
  // Contents durable before any file gets its final name, names durable before returning.
  dir.sync_files();
  for (auto& id : ids) {
    dir.rename("." + id + ".tmp", id + ".eml");
    id += ".eml";
  }
  dir.sync_names();
  return ids;
}

bool SpoolMailer::discard(const std::string& id) {
  if (id.empty() || id.find('/') != std::string::npos || id.front() == '.') return false;
  std::error_code ec;
  return fs::remove(dir_ / id, ec);
}

std::size_t SpoolMailer::sweep(const std::string& prefix) {
  if (prefix.empty() || prefix.find('/') != std::string::npos) return 0;
  std::vector<fs::path> doomed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    auto name = entry.path().filename().string();
    // "<key>.eml", and ".<key>.tmp" left by a crash in the middle of spooling.
    if (name.starts_with(prefix) || name.starts_with("." + prefix)) doomed.push_back(entry.path());
  }
  std::size_t removed = 0;
  for (const auto& path : doomed) removed += fs::remove(path, ec) ? 1 : 0;
  return removed;
}

}  // namespace relay::node::mail
