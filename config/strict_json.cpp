#include "config/strict_json.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <system_error>

namespace relay::config::detail {
namespace {

using json = nlohmann::json;

// Tracks where the parser is, so that a duplicate key can be reported with its path.
// nlohmann's callback sees object/array starts and ends, keys and scalar values.
class DuplicateKeyFinder {
 public:
  explicit DuplicateKeyFinder(ErrorSink& sink) : sink_(&sink) {}

  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        frames_.push_back(Frame{false, {}, {}, 0});
        break;
      case json::parse_event_t::array_start:
        frames_.push_back(Frame{true, {}, {}, 0});
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!frames_.empty()) frames_.pop_back();
        element_done();
        break;
      case json::parse_event_t::key: {
        if (frames_.empty() || !parsed.is_string()) break;
        auto& top = frames_.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second) {
          sink_->add(path(), "duplicate key (each key may appear only once in an object)");
        }
        break;
      }
      case json::parse_event_t::value:
        element_done();
        break;
    }
    return true;  // keep everything; the duplicate is an error but parsing goes on
  }

 private:
  struct Frame {
    bool is_array;
    std::set<std::string> keys;
    std::string key;
    std::size_t index;
  };

  void element_done() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().index;
  }

  std::string path() const {
    std::string out;
    for (const auto& f : frames_) {
      if (f.is_array) {
        out += "[" + std::to_string(f.index) + "]";
      } else {
        if (!out.empty()) out += '.';
        out += f.key;
      }
    }
    return out;
  }

  ErrorSink* sink_;
  std::vector<Frame> frames_;
};

// nlohmann's messages start with "[json.exception.parse_error.101] "; the operator does not
// need that part.
std::string strip_exception_prefix(const std::string& what) {
  if (!what.empty() && what.front() == '[') {
    if (auto end = what.find("] "); end != std::string::npos) return what.substr(end + 2);
  }
  return what;
}

std::string integer_kind(std::int64_t min) {
  if (min >= 1) return "a positive integer";
  if (min == 0) return "a non-negative integer";
  return "an integer";
}

}  // namespace

void ErrorSink::add(std::string field, std::string message) {
  errors_.push_back(ConfigError{source_, file_, std::move(field), std::move(message)});
}

void ErrorSink::move_into(std::vector<ConfigError>& out) {
  std::move(errors_.begin(), errors_.end(), std::back_inserter(out));
  errors_.clear();
}

std::optional<json> parse_strict(std::string_view text, ErrorSink& sink) {
  DuplicateKeyFinder finder(sink);
  try {
    return json::parse(text.begin(), text.end(), std::ref(finder), /*allow_exceptions=*/true,
                       /*ignore_comments=*/true);
  } catch (const json::exception& e) {
    sink.add("", "invalid JSON: " + strip_exception_prefix(e.what()));
    return std::nullopt;
  }
}

std::optional<std::string> read_text(ErrorSink& sink) {
  const auto& file = sink.file();
  std::error_code ec;
  const auto status = std::filesystem::status(file, ec);
  if (status.type() == std::filesystem::file_type::not_found) {
    sink.add("", "cannot read the file: no such file");
    return std::nullopt;
  }
  if (ec) {
    sink.add("", "cannot read the file: " + ec.message());
    return std::nullopt;
  }
  if (!std::filesystem::is_regular_file(status)) {
    sink.add("", "cannot read the file: not a regular file");
    return std::nullopt;
  }
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) {
    sink.add("", "cannot read the file: " + ec.message());
    return std::nullopt;
  }
  if (size > kMaxFileBytes) {
    sink.add("", "file is too large (" + std::to_string(size) + " bytes, at most " +
                     std::to_string(kMaxFileBytes) + ")");
    return std::nullopt;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    sink.add("", std::string("cannot read the file: ") + std::strerror(errno));
    return std::nullopt;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    sink.add("", "cannot read the file: read error");
    return std::nullopt;
  }
  return text;
}

std::optional<json> read_strict(ErrorSink& sink) {
  auto text = read_text(sink);
  if (!text) return std::nullopt;
  return parse_strict(*text, sink);
}

std::string describe(const json& value) {
  constexpr std::size_t kMax = 60;
  std::string s = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > kMax) {
    // Cut on a UTF-8 character boundary.
    std::size_t cut = kMax;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut) + "...";
  }
  return s;
}

ObjectReader::ObjectReader(const json* value, std::string path, ErrorSink& sink)
    : value_(value), path_(std::move(path)), sink_(&sink), state_(State::absent) {
  if (value_ == nullptr) return;
  if (value_->is_object()) {
    state_ = State::present;
  } else {
    state_ = State::broken;
    sink_->add(path_, "expected an object, got " + describe(*value_));
  }
}

std::string ObjectReader::field(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  return path_ + "." + std::string(key);
}

const json* ObjectReader::get(std::string_view key) {
  known_.emplace(key);
  if (state_ != State::present) return nullptr;
  auto it = value_->find(key);
  return it == value_->end() ? nullptr : &*it;
}

ObjectReader ObjectReader::object(std::string_view key) {
  const json* member = get(key);
  ObjectReader child(member, field(key), *sink_);
  // Inside a broken parent nothing more is said: the parent's error covers it.
  if (state_ == State::broken) child.state_ = State::broken;
  return child;
}

std::optional<std::string> ObjectReader::string(std::string_view key, bool required,
                                                std::string_view expected) {
  const json* v = get(key);
  if (v == nullptr) {
    if (required && state_ != State::broken) {
      sink_->add(field(key), "required field is missing (expected " + std::string(expected) + ")");
    }
    return std::nullopt;
  }
  if (!v->is_string()) {
    invalid(key, expected);
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::optional<std::int64_t> ObjectReader::integer(std::string_view key, std::int64_t min,
                                                  std::int64_t max, bool required) {
  const json* v = get(key);
  const std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (v == nullptr) {
    if (required && state_ != State::broken) {
      sink_->add(field(key), "required field is missing (expected " + range + ")");
    }
    return std::nullopt;
  }
  // number_unsigned above INT64_MAX cannot be in any of our ranges.
  const bool too_big = v->is_number_unsigned() &&
                       v->get<std::uint64_t>() >
                           static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (!v->is_number_integer()) {
    invalid(key, integer_kind(min));
    return std::nullopt;
  }
  if (too_big) {
    invalid(key, range);
    return std::nullopt;
  }
  const auto n = v->get<std::int64_t>();
  if (n < min || n > max) {
    invalid(key, range);
    return std::nullopt;
  }
  return n;
}

void ObjectReader::invalid(std::string_view key, std::string_view expected) {
  const json* v = nullptr;
  if (state_ == State::present) {
    auto it = value_->find(key);
    if (it != value_->end()) v = &*it;
  }
  std::string message = "expected " + std::string(expected);
  if (v != nullptr) message += ", got " + describe(*v);
  sink_->add(field(key), std::move(message));
}

void ObjectReader::report(std::string_view key, std::string message) {
  sink_->add(field(key), std::move(message));
}

void ObjectReader::finish() {
  if (state_ != State::present) return;
  for (const auto& [key, value] : value_->items()) {
    if (known_.contains(key)) continue;
    std::string message = "unknown key";
    std::string best;
    std::size_t best_distance = std::numeric_limits<std::size_t>::max();
    for (const auto& candidate : known_) {
      const auto d = edit_distance(key, candidate);
      if (d < best_distance) {
        best_distance = d;
        best = candidate;
      }
    }
    if (!best.empty() && best_distance <= 2 && best_distance < key.size()) {
      message += " (did you mean \"" + best + "\"?)";
    } else if (!known_.empty()) {
      message += " (known keys:";
      for (const auto& k : known_) message += " " + k;
      message += ")";
    }
    sink_->add(field(key), std::move(message));
  }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

bool has_control_chars(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace relay::config::detail
