#pragma once
// What a failed load of a configuration or reference file reports, and the result type that
// carries either the loaded value or those errors. Expected failures (a typo in the file, a
// missing file) are values of this type, never exceptions.
#include <cassert>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace relay::config {

// One problem found in one file. Every error names the file; errors about a value also name
// its field path (e.g. "http.max_body_bytes", "entries[3].ja").
struct ConfigError {
  std::string source;          // what kind of file: "config" or "reference"
  std::filesystem::path file;  // the file the problem is in
  std::string field;           // dotted field path; empty when about the whole file
  std::string message;         // what was expected and what was found

  // "config /x/node.json: http.max_body_bytes: expected a positive integer, got \"abc\""
  std::string text() const;
};

// Either a loaded T or a non-empty list of errors. Invariant: exactly one of the two is set.
template <typename T>
class LoadResult {
 public:
  LoadResult(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  LoadResult(std::vector<ConfigError> errors) : errors_(std::move(errors)) {  // NOLINT
    assert(!errors_.empty());
  }

  // True when a value was loaded (and errors() is empty).
  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }

  // The loaded value; only valid when ok().
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T& value() & {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }

  // The problems found, in file order where possible; empty when ok().
  const std::vector<ConfigError>& errors() const { return errors_; }

  // Every error's text(), one per line (no trailing newline); empty when ok().
  std::string error_text() const {
    std::string out;
    for (const auto& e : errors_) {
      if (!out.empty()) out += '\n';
      out += e.text();
    }
    return out;
  }

 private:
  std::optional<T> value_;
  std::vector<ConfigError> errors_;
};

}  // namespace relay::config
