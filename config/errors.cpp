#include "config/errors.hpp"

namespace relay::config {

std::string ConfigError::text() const {
  std::string out = source + " " + file.string() + ": ";
  if (!field.empty()) out += field + ": ";
  out += message;
  return out;
}

}  // namespace relay::config
