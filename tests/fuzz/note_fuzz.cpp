// C2SP signed notes and checkpoints (protocol/signed_note.hpp, checkpoint.hpp): the strict
// parsers never throw, and what they accept formats back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/checkpoint.hpp"
#include "protocol/signed_note.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto note = relay::protocol::parse_note(text)) {
    FUZZ_CHECK(relay::protocol::format_note(*note.note) == text);
    (void)relay::protocol::parse_checkpoint(note.note->text);
  }
  if (auto checkpoint = relay::protocol::parse_checkpoint(text)) {
    FUZZ_CHECK(relay::protocol::format_checkpoint(*checkpoint.checkpoint) == text);
  }
  if (auto key = relay::protocol::parse_vkey(text)) {
    FUZZ_CHECK(relay::protocol::make_vkey(*key) == text);
  }
  return 0;
}
