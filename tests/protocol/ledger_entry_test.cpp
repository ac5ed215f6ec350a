// protocol: signed_bytes_of cuts from an entry's bytes exactly what signed_bytes serialises
// again, whatever the data holds (the auditor verifies signatures over the cut bytes).
#include "protocol/ledger_entry.hpp"

#include <doctest/doctest.h>

#include <variant>

#include "crypto/sign.hpp"

namespace protocol = relay::protocol;
using nlohmann::json;

TEST_CASE("ledger entry: signed_bytes_of equals signed_bytes of the parsed entry") {
  const auto key = relay::crypto::Ed25519KeyPair::generate();
  // Data that mimics the sig member, nested "sig" keys, escapes and non-ASCII text.
  const json datas[] = {
      json::object(),
      json{{"member", "m1"}, {"counted", true}, {"counted_total", 3}},
      json{{"sig", ",\"sig\":\"AAAA\",\"time\":1"}, {"note", "\"quoted\" \\ \n\t"}},
      json{{"nested", {{"sig", "x"}, {"list", {1, -2, "\u00e9\u6f22"}}}}, {"zz", nullptr}},
      json{{"text", ",\"sig\":\""}},
  };
  std::uint64_t index = 0;
  for (const auto& data : datas) {
    for (int version : {protocol::kOldestLedgerEntryVersion, protocol::kLedgerEntryVersion}) {
      const auto bytes = protocol::encode_entry(index++, 1'700'000'000'000, "node.example",
                                                "some_event", data, key, version);
      auto parsed = protocol::parse_entry(bytes);
      REQUIRE(std::holds_alternative<protocol::LedgerEntry>(parsed));
      const auto& entry = std::get<protocol::LedgerEntry>(parsed);
      INFO(bytes);
      CHECK(protocol::signed_bytes_of(bytes) == protocol::signed_bytes(entry));
      CHECK(relay::crypto::verify(
          key.public_key, relay::crypto::as_bytes(protocol::signed_bytes_of(bytes)), entry.sig));
      CHECK(protocol::verify_entry(entry, key.public_key));
    }
  }
}
