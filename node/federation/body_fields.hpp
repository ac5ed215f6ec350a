#pragma once
// Strict reading of message bodies received from peers (profile exchange, handoffs): an
// exact field set, strings that are clean text of bounded length, non-negative integers.
// Anything else is refused by the handler as 400 bad_body.
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "node/common/text.hpp"
#include "node/members/member.hpp"

namespace relay::node::federation::body {

// True if j is an object with exactly these fields.
inline bool has_exactly(const nlohmann::json& j, std::initializer_list<const char*> fields) {
  if (!j.is_object() || j.size() != fields.size()) return false;
  for (const char* f : fields)
    if (!j.contains(f)) return false;
  return true;
}

// j[field] if it is a string of 1..max_chars code points of clean text, unchanged by
// cleaning (no surrounding space, no control characters).
inline std::optional<std::string> text(const nlohmann::json& j, const char* field,
                                       std::size_t max_chars) {
  if (!j.is_object() || !j.contains(field) || !j[field].is_string()) return std::nullopt;
  const auto& s = j[field].get_ref<const std::string&>();
  auto cleaned = common::clean_text(s, max_chars);
  if (!cleaned || *cleaned != s) return std::nullopt;
  return cleaned;
}

// True if s is 1..max_chars code points of clean text, unchanged by cleaning (a field of a
// typed message body, see protocol/federation_messages.hpp).
inline bool clean(const std::string& s, std::size_t max_chars) {
  auto cleaned = common::clean_text(s, max_chars);
  return cleaned && *cleaned == s;
}

// As text(), but the empty string is allowed too.
inline std::optional<std::string> optional_text(const nlohmann::json& j, const char* field,
                                                std::size_t max_chars) {
  if (!j.is_object() || !j.contains(field) || !j[field].is_string()) return std::nullopt;
  if (j[field].get_ref<const std::string&>().empty()) return std::string();
  return text(j, field, max_chars);
}

// j[field] if it is an integer >= 0.
inline std::optional<std::int64_t> non_negative(const nlohmann::json& j, const char* field) {
  if (!j.is_object() || !j.contains(field) || !j[field].is_number_integer()) return std::nullopt;
  if (j[field].is_number_unsigned() && j[field].get<std::uint64_t>() > INT64_MAX)
    return std::nullopt;
  auto v = j[field].get<std::int64_t>();
  if (v < 0) return std::nullopt;
  return v;
}

// An id chosen by a peer (handoff ids): 1..64 of [A-Za-z0-9_-].
inline bool valid_id(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  return true;
}

}  // namespace relay::node::federation::body
