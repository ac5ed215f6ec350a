#include "node/ledger/export.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "crypto/bytes.hpp"
#include "node/storage/txn.hpp"
#include "protocol/canonical_json.hpp"
#include "protocol/checkpoint.hpp"
#include "protocol/signed_note.hpp"

namespace relay::node::ledger {

namespace fs = std::filesystem;

namespace {

// A new file written through a 1 MiB buffer, fsynced on close. Throws std::system_error.
class OutputFile {
 public:
  explicit OutputFile(fs::path path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("create");
    buffer_.reserve(kBuffer);
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile() {
    if (fd_ >= 0) ::close(fd_);
  }

  void write(std::string_view data) {
    if (buffer_.size() + data.size() > kBuffer) flush();
    if (data.size() >= kBuffer)
      write_all(data);
    else
      buffer_.append(data);
  }

  // Writes what is buffered, fsyncs and closes.
  void close() {
    flush();
    if (::fsync(fd_) != 0) fail("fsync");
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("close");
  }

 private:
  static constexpr std::size_t kBuffer = std::size_t{1} << 20;

  [[noreturn]] void fail(const char* what) const {
    throw std::system_error(errno, std::generic_category(),
                            std::string("export: ") + what + " " + path_.string());
  }
  void flush() {
    write_all(buffer_);
    buffer_.clear();
  }
  void write_all(std::string_view data) {
    while (!data.empty()) {
      auto n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("write");
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  fs::path path_;
  int fd_ = -1;
  std::string buffer_;
};

void write_file(const fs::path& path, std::string_view content) {
  OutputFile file(path);
  file.write(content);
  file.close();
}

void fsync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    throw std::system_error(err, std::generic_category(), "export: fsync " + dir.string());
  }
  ::close(fd);
}

ExportResult refuse(ExportError error, std::string message) {
  ExportResult result;
  result.error = error;
  result.message = std::move(message);
  return result;
}

// The key document: what /audit/v1/key answers, canonical, one line.
std::string key_document(const std::string& origin, const std::string& vkey_text) {
  auto vkey = protocol::parse_vkey(vkey_text);
  if (!vkey) throw std::runtime_error("export: the ledger's verifier key does not parse");
  return protocol::canonical_dump({{"origin", origin},
                                   {"vkey", vkey_text},
                                   {"public_key", crypto::to_base64(vkey->public_key.bytes)},
                                   {"fingerprint", vkey->public_key.fingerprint()}}) +
         "\n";
}

}  // namespace

ExportResult export_ledger(storage::Environment& env, const Ledger& ledger,
                           const BalancesView& balances, const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec))
      return refuse(ExportError::not_a_directory, dir.string() + ": exists and is not a directory");
    if (!fs::is_empty(dir, ec))
      return refuse(ExportError::not_empty, dir.string() + ": exists and is not empty");
  }
  fs::create_directories(dir);

  auto txn = env.begin_read();
  // The checkpoint is signed with the key in force now; a rotation racing this export would
  // make the note and the key document disagree, so both are taken until they match.
  SignedCheckpoint checkpoint;
  std::string vkey;
  for (int attempt = 0;; ++attempt) {
    vkey = ledger.verifier_key();
    checkpoint = ledger.checkpoint(txn);
    if (ledger.verifier_key() == vkey) break;
    if (attempt == 3) throw std::runtime_error("export: the signing key keeps changing");
  }
  const auto members = balances(txn);

  OutputFile entries(dir / "entries.jsonl");
  protocol::RootAccumulator root;
  for (std::uint64_t i = 0; i < checkpoint.size; ++i) {
    auto bytes = ledger.entry(txn, i);
    if (!bytes || bytes->empty() || bytes->find('\n') != std::string::npos)
      throw std::runtime_error("export: ledger entry " + std::to_string(i) +
                               " is missing or malformed in storage");
    root.add(protocol::leaf_hash(crypto::as_bytes(*bytes)));
    entries.write(*bytes);
    entries.write("\n");
  }
  txn.abort();
  // Never hand an auditor an export that contradicts its own checkpoint.
  if (root.root() != checkpoint.root)
    throw std::runtime_error("export: the stored entries do not hash to the stored tree");
  entries.close();

  write_file(dir / "checkpoint", checkpoint.note);
  write_file(dir / "key.json", key_document(ledger.origin(), vkey));
  write_file(
      dir / "balances.json",
      protocol::canonical_dump({{"ledger_size", checkpoint.size}, {"members", members}}) + "\n");
  fsync_directory(dir);

  ExportResult result;
  result.summary =
      ExportSummary{checkpoint.size, checkpoint.root,
                    protocol::parse_vkey(vkey)->public_key.fingerprint(), members.size()};
  return result;
}

}  // namespace relay::node::ledger
