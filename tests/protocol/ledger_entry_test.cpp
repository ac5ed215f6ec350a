// protocol: signed_bytes_of cuts from an entry's bytes exactly what signed_bytes serialises
// again, whatever the data holds (the auditor verifies signatures over the cut bytes).
#include "protocol/ledger_entry.hpp"

#include <doctest/doctest.h>

#include <limits>
#include <stdexcept>
#include <variant>

#include "crypto/bytes.hpp"
#include "crypto/sign.hpp"
#include "protocol/canonical_json.hpp"

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

TEST_CASE("ledger entry: encode_entry writes canonical_dump's bytes of the signed object") {
  // encode_entry writes the entry as text, not through a built object: byte for byte what
  // canonical_dump gives for the object, signed over the object without "sig" (Ed25519 is
  // deterministic, so the signature is the same too).
  const auto key = relay::crypto::Ed25519KeyPair::generate();
  const json datas[] = {
      json::object(),
      json{{"sig", ",\"sig\":\"AAAA\",\"time\":1"}, {"time", 5}, {"v", "\u00e9"}},
      json{{"nested", {{"b", {1, -2, "\x01\x1f"}}, {"a", json::array()}}}, {"zz", nullptr}},
  };
  const std::uint64_t indexes[] = {0, 7, std::numeric_limits<std::uint64_t>::max()};
  const std::int64_t times[] = {0, -1, 1'700'000'000'123};
  int n = 0;
  for (const auto& data : datas) {
    for (int version : {protocol::kOldestLedgerEntryVersion, protocol::kLedgerEntryVersion}) {
      const auto index = indexes[n % 3];
      const auto time = times[n++ % 3];
      json object{{"v", version},
                  {"index", index},
                  {"time", time},
                  {"node", "n.ex"},
                  {"kind", "k\"ind"},
                  {"data", data},
                  {"key", key.public_key.fingerprint()}};
      auto sig = relay::crypto::sign(key.secret_key,
                                     relay::crypto::as_bytes(protocol::canonical_dump(object)));
      object["sig"] = relay::crypto::to_base64(sig);
      CHECK(protocol::encode_entry(index, time, "n.ex", "k\"ind", data, key, version) ==
            protocol::canonical_dump(object));
    }
  }
  // What canonical_dump refuses, encode_entry refuses too.
  CHECK_THROWS_AS(protocol::encode_entry(0, 0, "n", "bad\xff", json::object(), key),
                  std::invalid_argument);
  CHECK_THROWS_AS(protocol::encode_entry(0, 0, "n\xc3", "k", json::object(), key),
                  std::invalid_argument);
  CHECK_THROWS_AS(protocol::encode_entry(0, 0, "n", "k", json::array(), key),
                  std::invalid_argument);
  CHECK_THROWS_AS(protocol::encode_entry(0, 0, "n", "k", json{{"f", 1.5}}, key),
                  std::invalid_argument);
}
