// C2SP tlog-checkpoint: formatting, strict parsing, signing and opening, against the vectors.
#include "protocol/checkpoint.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "crypto/bytes.hpp"
#include "support/vectors.hpp"

namespace {

using namespace relay::protocol;

Hash hash_b64(const std::string& text) {
  auto bytes = relay::crypto::from_base64(text);
  REQUIRE(bytes);
  REQUIRE(bytes->size() == 32);
  Hash h{};
  std::copy(bytes->begin(), bytes->end(), h.begin());
  return h;
}

relay::crypto::Ed25519KeyPair key_pair_from_hex(const std::string& seed_hex) {
  auto seed = relay::crypto::from_hex(seed_hex);
  REQUIRE(seed);
  return relay::crypto::Ed25519KeyPair::from_seed(
      relay::crypto::Ed25519Seed(std::span<const std::uint8_t, 32>(seed->data(), 32)));
}

}  // namespace

TEST_CASE("checkpoint of the RFC 6962 test tree, signed and cosigned (vectors)") {
  const auto notes = relay::test::load_json("signed-note/notes.json");
  const auto tree = relay::test::load_json("merkle/tree.json");
  const auto& sign_case = notes["sign"][1];
  const auto& cosign_case = notes["cosign"][0];

  const Checkpoint checkpoint{
      "kobe.relay.example/ledger", 8, hash_b64(tree["roots"]["8"].get<std::string>()), {}};
  CHECK(format_checkpoint(checkpoint) == sign_case["text"].get<std::string>());
  const auto parsed = parse_checkpoint(sign_case["text"].get<std::string>());
  REQUIRE(parsed);
  CHECK(*parsed.checkpoint == checkpoint);

  const auto pair = key_pair_from_hex(sign_case["seed_hex"].get<std::string>());
  const auto log_key = *parse_vkey(sign_case["vkey"].get<std::string>());
  const auto note = sign_checkpoint(checkpoint, log_key.name, pair.secret_key, log_key.key_id);
  REQUIRE(note);
  CHECK(*note == sign_case["note"].get<std::string>());

  const auto witness_key = *parse_vkey(cosign_case["vkey"].get<std::string>());
  const std::string cosigned = cosign_case["cosigned"].get<std::string>();
  const std::vector<NoteVerifierKey> witnesses{witness_key};

  auto opened = open_checkpoint(cosigned, checkpoint.origin, log_key, witnesses);
  REQUIRE_MESSAGE(opened, opened.error);
  CHECK(opened.opened->checkpoint == checkpoint);
  REQUIRE(opened.opened->verified.size() == 2);
  CHECK(opened.opened->verified[0].name == log_key.name);
  CHECK(opened.opened->verified[1].name == witness_key.name);
  CHECK(opened.opened->verified[1].timestamp == cosign_case["timestamp"].get<std::uint64_t>());
  CHECK(opened.opened->note.signatures.size() == 2);

  CHECK(open_checkpoint(*note, checkpoint.origin, log_key));  // no witnesses needed to open
  CHECK_FALSE(open_checkpoint(cosigned, "other.example/log", log_key, witnesses));
  // Signed by the witness only: not a checkpoint of this log.
  const auto witness_only = parse_note(cosigned).note.value();
  Note stripped{witness_only.text, {witness_only.signatures[1]}};
  CHECK_FALSE(open_checkpoint(format_note(stripped), checkpoint.origin, log_key, witnesses));
  // The log key must be a note key, not a cosigner key.
  CHECK_FALSE(open_checkpoint(cosigned, checkpoint.origin, witness_key));
  // Tampering with the root breaks the log signature.
  std::string tampered = cosigned;
  tampered[tampered.find("Xcn")] = 'Y';
  CHECK_FALSE(open_checkpoint(tampered, checkpoint.origin, log_key, witnesses));
  // A bad witness cosignature from a known witness rejects the whole checkpoint.
  auto bad_witness = parse_note(cosigned).note.value();
  bad_witness.signatures[1].signature[20] ^= 1;
  CHECK_FALSE(open_checkpoint(format_note(bad_witness), checkpoint.origin, log_key, witnesses));
  CHECK(open_checkpoint(format_note(bad_witness), checkpoint.origin, log_key));  // unknown: ignored
}

TEST_CASE("format and parse round trip, extensions") {
  Checkpoint c{"example.com/log42", 0, empty_root(), {}};
  CHECK(format_checkpoint(c) ==
        "example.com/log42\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
  c.size = 18446744073709551615ULL;
  c.extensions = {"ext one", "\xE2\x80\x94 two"};
  const std::string text = format_checkpoint(c);
  const auto parsed = parse_checkpoint(text);
  REQUIRE_MESSAGE(parsed, parsed.error);
  CHECK(*parsed.checkpoint == c);
  // Origins need not look like URLs (clients must not assume a format).
  CHECK(parse_checkpoint("Any origin + spaces\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"));
}

TEST_CASE("parse_checkpoint is strict") {
  const std::string root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"empty", ""},
      {"no final newline", "o\n1\n" + root},
      {"two lines", "o\n1\n"},
      {"empty origin", "\n1\n" + root + "\n"},
      {"leading zero", "o\n01\n" + root + "\n"},
      {"double zero", "o\n00\n" + root + "\n"},
      {"sign", "o\n+1\n" + root + "\n"},
      {"negative", "o\n-1\n" + root + "\n"},
      {"space", "o\n 1\n" + root + "\n"},
      {"hex", "o\n0x1\n" + root + "\n"},
      {"empty size", "o\n\n" + root + "\n"},
      {"2^64", "o\n18446744073709551616\n" + root + "\n"},
      {"21 digits", "o\n100000000000000000000\n" + root + "\n"},
      {"31-byte root", "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuA==\n"},
      {"33-byte root", "o\n1\n" + root + "AA==\n"},
      {"unpadded root", "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n"},
      {"base64url root", "o\n1\n47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=\n"},
      {"non-zero trailing bits", "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n"},
      {"empty extension", "o\n1\n" + root + "\n\n"},
      {"empty extension between", "o\n1\n" + root + "\nx\n\ny\n"},
      {"control character", "o\t\n1\n" + root + "\n"},
      {"carriage return", "o\r\n1\n" + root + "\n"},
      {"invalid UTF-8", "o\xC3\n1\n" + root + "\n"},
  };
  for (const auto& [label, text] : bad) {
    INFO(label);
    const auto r = parse_checkpoint(text);
    CHECK_FALSE(r);
    CHECK_FALSE(r.error.empty());
  }
  CHECK(parse_checkpoint("o\n0\n" + root + "\n"));
  CHECK(parse_checkpoint("o\n18446744073709551615\n" + root + "\n"));
}

TEST_CASE("format_checkpoint refuses what cannot be written") {
  CHECK_THROWS_AS(format_checkpoint(Checkpoint{"", 1, {}, {}}), std::invalid_argument);
  CHECK_THROWS_AS(format_checkpoint(Checkpoint{"a\nb", 1, {}, {}}), std::invalid_argument);
  CHECK_THROWS_AS(format_checkpoint(Checkpoint{"a\tb", 1, {}, {}}), std::invalid_argument);
  CHECK_THROWS_AS(format_checkpoint(Checkpoint{"o", 1, {}, {""}}), std::invalid_argument);
  CHECK_THROWS_AS(format_checkpoint(Checkpoint{"o", 1, {}, {"a\nb"}}), std::invalid_argument);
  CHECK_THROWS_AS(format_checkpoint(Checkpoint{"\xFF", 1, {}, {}}), std::invalid_argument);
}

TEST_CASE("a log and a witness end to end over a MemoryTree") {
  const auto log_pair = key_pair_from_hex(std::string(64, 'a'));
  const auto witness_pair = key_pair_from_hex(std::string(64, 'b'));
  const auto log_key =
      *make_verifier_key("test.example/log", NoteKeyType::ed25519, log_pair.public_key);
  const auto witness_key = *make_verifier_key("test.example/witness", NoteKeyType::cosignature_v1,
                                              witness_pair.public_key);
  MemoryTree tree;
  std::string previous_note;
  for (int i = 0; i < 20; ++i) {
    tree.append(relay::crypto::as_bytes("event " + std::to_string(i)));
    const Checkpoint c{log_key.name, tree.size(), tree.root(), {}};
    const auto note = sign_checkpoint(c, log_key.name, log_pair.secret_key, log_key.key_id);
    REQUIRE(note);
    // The witness checks consistency from the last checkpoint it saw, then cosigns.
    const auto opened = open_checkpoint(*note, log_key.name, log_key);
    REQUIRE(opened);
    if (!previous_note.empty()) {
      const auto old = open_checkpoint(previous_note, log_key.name, log_key);
      REQUIRE(old);
      const auto proof = tree.consistency_proof(old.opened->checkpoint.size, c.size);
      REQUIRE(proof);
      CHECK(verify_consistency(old.opened->checkpoint.size, c.size, *proof,
                               old.opened->checkpoint.root, opened.opened->checkpoint.root));
    }
    const auto cosignature = cosign(opened.opened->note.text, witness_key.name,
                                    witness_pair.secret_key, witness_key.key_id, 1700000000 + i);
    REQUIRE(cosignature);
    const std::string cosigned = *note + format_signature_line(*cosignature);
    const std::vector<NoteVerifierKey> witnesses{witness_key};
    const auto both = open_checkpoint(cosigned, log_key.name, log_key, witnesses);
    REQUIRE(both);
    CHECK(both.opened->verified.size() == 2);
    previous_note = *note;
  }
}
