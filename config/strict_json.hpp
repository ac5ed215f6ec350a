#pragma once
// Internal to config/: strict reading of operator-edited JSON files (node.json and the
// reference files). Comments are allowed; everything else that is likely a mistake is
// reported: syntax errors, duplicate keys (nlohmann would silently keep the last one), keys
// nobody reads (typos), values of the wrong type or out of range. Problems go to an
// ErrorSink so that one pass reports all of them; nothing here throws for bad input.
// Not thread-safe; one sink and its readers belong to one load call.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/errors.hpp"

namespace relay::config::detail {

// Files larger than this are refused unread (a config or reference file is a few KiB).
inline constexpr std::uintmax_t kMaxFileBytes = 1024 * 1024;

// Collects the errors found in one file.
class ErrorSink {
 public:
  ErrorSink(std::string source, std::filesystem::path file)
      : source_(std::move(source)), file_(std::move(file)) {}

  void add(std::string field, std::string message);
  const std::filesystem::path& file() const { return file_; }
  std::size_t count() const { return errors_.size(); }
  // Moves the collected errors out (appending them to out).
  void move_into(std::vector<ConfigError>& out);

 private:
  std::string source_;
  std::filesystem::path file_;
  std::vector<ConfigError> errors_;
};

// Parses text (comments allowed). Syntax errors are reported and give nullopt; duplicate
// keys are reported with their field path and the document is still returned (so that the
// other checks run too).
std::optional<nlohmann::json> parse_strict(std::string_view text, ErrorSink& sink);

// Reads the sink's file (at most kMaxFileBytes) and parses it as parse_strict does.
std::optional<std::string> read_text(ErrorSink& sink);
std::optional<nlohmann::json> read_strict(ErrorSink& sink);

// A short one-line rendering of a value for "got ..." in messages (JSON, truncated).
std::string describe(const nlohmann::json& value);

// Reads the members of one JSON object, remembering which keys were asked for; finish()
// reports every other key as unknown, with a suggestion when one is close to a known key.
// A reader may be "absent" (the object is not in the file: required fields are reported
// missing) or "broken" (the value is not an object: reported once, nothing else is).
class ObjectReader {
 public:
  ObjectReader(const nlohmann::json* value, std::string path, ErrorSink& sink);

  // The path of a member: "http" + "threads" -> "http.threads".
  std::string field(std::string_view key) const;
  // True when the object exists and is an object.
  bool present() const { return state_ == State::present; }

  // The member, or nullptr when absent (or the reader is not present). Marks key as known.
  const nlohmann::json* get(std::string_view key);
  // A nested object reader for key.
  ObjectReader object(std::string_view key);
  // A string member. Absent: reported if required, nullopt. Wrong type: reported, nullopt.
  // `expected` describes a valid value, e.g. "an http:// or https:// URL".
  std::optional<std::string> string(std::string_view key, bool required, std::string_view expected);
  // An integer member within [min, max]; reports wrong types (floats, strings, booleans)
  // and values out of range.
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max,
                                      bool required = false);

  // Reports "expected <expected>, got <the member's value>" for key.
  void invalid(std::string_view key, std::string_view expected);
  // Reports a custom message for key.
  void report(std::string_view key, std::string message);
  // Reports members that were never asked for. Call once, after reading every member.
  void finish();

 private:
  enum class State { present, absent, broken };
  const nlohmann::json* value_;
  std::string path_;
  ErrorSink* sink_;
  State state_;
  std::set<std::string, std::less<>> known_;
};

// Optimal-string-alignment edit distance (a transposition counts as one edit), ASCII
// case-insensitive; used to suggest the key the operator probably meant.
std::size_t edit_distance(std::string_view a, std::string_view b);

// True if s contains a byte < 0x20 or 0x7f (control characters, including NUL).
bool has_control_chars(std::string_view s);

}  // namespace relay::config::detail
