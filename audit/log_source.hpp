#pragma once
// Where an audited log comes from: an export directory (export_dir_source.hpp) or a live node
// over HTTP with the auditor token (live_node_source.hpp). Both give the same things: the
// node's published key, its signed checkpoint, its own balances, the entries in index order,
// and proofs. A source only reads and frames; it judges nothing (log_verifier.hpp does).
//
// Failures: what is wrong with the content (a bad entry, a truncated last line) is reported
// to the caller as data or as a Problem; what stops reading altogether (a missing file, an
// unreachable node, a refused token) throws SourceError, which relay-audit turns into exit
// code 2.
//
// Thread safety: one thread at a time.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "audit/problem_list.hpp"
#include "protocol/merkle.hpp"

namespace relay::audit {

class SourceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Receives entries in index order, a batch at a time (the sink may move the strings out).
using EntrySink = std::function<void(std::vector<std::string>& batch)>;

class LogSource {
 public:
  virtual ~LogSource() = default;

  // The directory or URL, for messages.
  virtual const std::string& name() const = 0;
  // True for an export: its documents are files whose exact bytes are checked.
  virtual bool is_export() const = 0;

  // The key document (key.json, /audit/v1/key).
  virtual std::string key_document() = 0;
  // The signed checkpoint note.
  virtual std::string checkpoint_note() = 0;
  // The node's balances document (balances.json, /audit/v1/balances).
  virtual std::string balances_document() = 0;

  // Streams the entries from index 0. A live node is read up to `wanted` entries (the size of
  // the checkpoint being verified: the node keeps growing); an export is read whole, so that
  // entries beyond its checkpoint show. Framing problems (a last line without "\n") go to
  // `problems`.
  virtual void read_entries(std::uint64_t wanted, const EntrySink& sink, ProblemList& problems) = 0;

  // Entry `index` as stored; nullopt if the log has no such entry.
  virtual std::optional<std::string> entry(std::uint64_t index) = 0;
  // An RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves, and a
  // consistency proof from size m to size n: served by a node, computed from an export's
  // entries. nullopt if the source cannot give one (index >= size, size beyond the log).
  virtual std::optional<std::vector<protocol::Hash>> inclusion_proof(std::uint64_t index,
                                                                     std::uint64_t size) = 0;
  virtual std::optional<std::vector<protocol::Hash>> consistency_proof(std::uint64_t m,
                                                                       std::uint64_t n) = 0;
};

// True for "http://..." (a live node), false for anything else (a path).
bool is_url(std::string_view location);

// Opens an export directory or, for an http:// URL, a live node (token: the auditor bearer
// token; required there). Throws SourceError if the directory is not an export or the URL is
// not a valid http URL.
std::unique_ptr<LogSource> open_log_source(std::string_view location,
                                           const std::optional<std::string>& token);

}  // namespace relay::audit
