// Federation input (protocol/envelope.hpp, federation_messages.hpp, ledger_entry.hpp): envelopes,
// identity documents, ledger entries and every message body parse strictly and never throw.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "protocol/canonical_json.hpp"
#include "protocol/envelope.hpp"
#include "protocol/federation_messages.hpp"
#include "protocol/ledger_entry.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

template <typename... Message>
void parse_bodies(const nlohmann::json& body) {
  // A body a message accepts serialises to JSON that the same parser accepts again.
  (
      [&] {
        if (auto m = Message::parse(body)) FUZZ_CHECK(Message::parse(m->to_json()).has_value());
      }(),
      ...);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace p = relay::protocol;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto envelope = p::parse_envelope(bytes);
  if (std::holds_alternative<p::EnvelopeError>(envelope))
    FUZZ_CHECK(!std::get<p::EnvelopeError>(envelope).code.empty());
  (void)p::parse_identity(bytes);
  (void)p::parse_entry(bytes);
  if (auto json = p::parse_strict(bytes)) {
    parse_bodies<p::Ping, p::KeyRotated, p::ProfileUpsert, p::ProfileWithdraw, p::ProfilesSync,
                 p::HandoffRequest, p::HandoffDeliver, p::HandoffDeclined, p::LedgerConsistency,
                 p::CheckpointCosignature, p::ErasureRequest, p::ErasureOverdue,
                 p::IntroductionOutcome>(*json.value);
  }
  return 0;
}
