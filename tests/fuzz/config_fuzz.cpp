// node.json (config/node_config.hpp): any text is a config or a list of errors naming fields,
// never an exception; an accepted config written back out loads to the same text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/node_config.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace c = relay::config;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::filesystem::path path = "/nonexistent/relay-fuzz/node.json";
  auto loaded = c::parse_node_config(text, path);
  if (loaded) {
    auto written = c::to_json_text(loaded.value());
    auto again = c::parse_node_config(written, path);
    FUZZ_CHECK(again);
    FUZZ_CHECK(c::to_json_text(again.value()) == written);
  } else {
    FUZZ_CHECK(!loaded.errors().empty());
  }
  return 0;
}
