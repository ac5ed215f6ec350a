#pragma once
// Reading optional fields of records this node stored itself (not wire input: that is
// federation/body_fields.hpp, which validates). A missing field reads as empty / nullopt.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace relay::node::common {

// The string field `name`, or "" when it is missing or not a string.
inline std::string stored_text(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

// The integer field `name`, or nullopt when it is missing.
inline std::optional<std::int64_t> stored_number(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return std::nullopt;
  return it->get<std::int64_t>();
}

}  // namespace relay::node::common
