#include "audit/log_source.hpp"

#include "audit/export_dir_source.hpp"
#include "audit/live_node_source.hpp"

namespace relay::audit {

bool is_url(std::string_view location) {
  return location.substr(0, 7) == "http://" || location.substr(0, 8) == "https://";
}

std::unique_ptr<LogSource> open_log_source(std::string_view location,
                                           const std::optional<std::string>& token) {
  if (!is_url(location)) return std::make_unique<ExportDirSource>(std::filesystem::path(location));
  auto url = parse_http_url(location);
  if (!url)
    throw SourceError(std::string(location) +
                      ": not a plain http://host[:port][/path] URL (https is not supported; "
                      "use a local TLS terminator)");
  std::string name(location);
  while (!name.empty() && name.back() == '/') name.pop_back();
  return std::make_unique<LiveNodeSource>(std::move(*url), std::move(name), token);
}

}  // namespace relay::audit
