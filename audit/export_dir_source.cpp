#include "audit/export_dir_source.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "audit/export_format.hpp"
#include "crypto/bytes.hpp"

namespace relay::audit {

namespace {

constexpr std::size_t kBatch = 4096;

// Closes a descriptor on scope exit.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

ExportDirSource::ExportDirSource(std::filesystem::path dir)
    : dir_(std::move(dir)), name_(dir_.string()) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir_, ec))
    throw SourceError(name_ + ": not a directory (expected an export directory)");
}

std::string ExportDirSource::read_file(std::string_view file) const {
  const auto path = dir_ / file;
  Fd in{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) throw SourceError("cannot read " + path.string() + ": " + std::strerror(errno));
  std::string out;
  char buffer[65536];
  for (;;) {
    auto n = ::read(in.fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw SourceError("cannot read " + path.string() + ": " + std::strerror(errno));
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

std::string ExportDirSource::key_document() {
  return read_file(export_format::key_file);
}

std::string ExportDirSource::checkpoint_note() {
  return read_file(export_format::checkpoint_file);
}

std::string ExportDirSource::balances_document() {
  return read_file(export_format::balances_file);
}

bool ExportDirSource::for_each_line(
    const std::function<bool(std::uint64_t, std::string&&)>& line) const {
  const auto path = dir_ / export_format::entries_file;
  Fd in{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) throw SourceError("cannot read " + path.string() + ": " + std::strerror(errno));
  std::string pending;
  std::uint64_t index = 0;
  std::vector<char> buffer(std::size_t{1} << 20);
  for (;;) {
    auto n = ::read(in.fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw SourceError("cannot read " + path.string() + ": " + std::strerror(errno));
    if (n == 0) break;
    std::string_view chunk(buffer.data(), static_cast<std::size_t>(n));
    for (auto eol = chunk.find('\n'); eol != std::string_view::npos; eol = chunk.find('\n')) {
      pending.append(chunk.substr(0, eol));
      chunk.remove_prefix(eol + 1);
      if (!line(index++, std::move(pending))) return false;
      pending.clear();
    }
    pending.append(chunk);
  }
  if (pending.empty()) return false;
  line(index, std::move(pending));
  return true;
}

void ExportDirSource::read_entries(std::uint64_t, const EntrySink& sink, ProblemList& problems) {
  std::vector<std::string> batch;
  batch.reserve(kBatch);
  const bool partial = for_each_line([&](std::uint64_t, std::string&& bytes) {
    batch.push_back(std::move(bytes));
    if (batch.size() == kBatch) {
      sink(batch);
      batch.clear();
    }
    return true;
  });
  if (!batch.empty()) sink(batch);
  if (partial)
    problems.add(std::string(export_format::entries_file),
                 "the last line does not end in a newline (truncated?)");
}

std::optional<std::string> ExportDirSource::entry(std::uint64_t index) {
  std::optional<std::string> found;
  for_each_line([&](std::uint64_t i, std::string&& bytes) {
    if (i == index) found = std::move(bytes);
    return i < index;
  });
  return found;
}

const HashTree& ExportDirSource::tree() {
  if (!tree_) {
    HashTree tree;
    for_each_line([&](std::uint64_t, std::string&& bytes) {
      tree.add(protocol::leaf_hash(crypto::as_bytes(bytes)));
      return true;
    });
    tree_ = std::move(tree);
  }
  return *tree_;
}

std::optional<std::vector<protocol::Hash>> ExportDirSource::inclusion_proof(std::uint64_t index,
                                                                            std::uint64_t size) {
  const auto& t = tree();
  if (size > t.size()) return std::nullopt;
  return protocol::inclusion_proof(t, index, size);
}

std::optional<std::vector<protocol::Hash>> ExportDirSource::consistency_proof(std::uint64_t m,
                                                                              std::uint64_t n) {
  const auto& t = tree();
  if (n > t.size()) return std::nullopt;
  return protocol::consistency_proof(t, m, n);
}

}  // namespace relay::audit
