#include "node/console/assets.hpp"

#include <map>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"

namespace relay::node::console {

namespace {

std::string type_of(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

const std::map<std::string, Asset, std::less<>>& table() {
  static const auto assets = [] {
    std::map<std::string, Asset, std::less<>> t;
    for (const auto& f : embedded_files()) {
      auto digest = crypto::sha256(crypto::as_bytes(f.bytes));
      t.emplace(std::string(f.name),
                Asset{f.name, f.bytes, type_of(f.name), "\"" + crypto::to_hex(digest) + "\""});
    }
    return t;
  }();
  return assets;
}

}  // namespace

const Asset* find_asset(std::string_view name) {
  const auto& t = table();
  auto it = t.find(name);
  return it == t.end() ? nullptr : &it->second;
}

}  // namespace relay::node::console
