// Canonical JSON (protocol/canonical_json.hpp): parse_strict never throws, and every value it
// accepts dumps canonically to a fixed point that parse_canonical accepts.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/canonical_json.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = relay::protocol::parse_strict(text);
  if (parsed) {
    auto dumped = relay::protocol::canonical_dump(*parsed.value);
    auto again = relay::protocol::parse_canonical(dumped);
    FUZZ_CHECK(again);
    FUZZ_CHECK(*again.value == *parsed.value);
    FUZZ_CHECK(relay::protocol::canonical_dump(*again.value) == dumped);
  } else {
    FUZZ_CHECK(parsed.error.offset <= size);
  }
  auto canonical = relay::protocol::parse_canonical(text);
  if (canonical) FUZZ_CHECK(relay::protocol::canonical_dump(*canonical.value) == text);
  return 0;
}
