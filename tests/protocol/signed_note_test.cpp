// C2SP signed notes and tlog-cosignature/v1 against tests/vectors/signed-note/notes.json.
#include "protocol/signed_note.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/keys.hpp"
#include "support/vectors.hpp"

namespace {

using namespace relay::protocol;
using relay::crypto::Ed25519KeyPair;

Ed25519KeyPair key_pair_from_hex(const std::string& seed_hex) {
  auto seed = relay::crypto::from_hex(seed_hex);
  REQUIRE(seed);
  REQUIRE(seed->size() == 32);
  return Ed25519KeyPair::from_seed(
      relay::crypto::Ed25519Seed(std::span<const std::uint8_t, 32>(seed->data(), 32)));
}

NoteVerifierKey parse_vkey_or_fail(const std::string& vkey) {
  auto key = parse_vkey(vkey);
  REQUIRE_MESSAGE(key, vkey);
  return *key;
}

bool verifies(std::string_view note, const std::vector<NoteVerifierKey>& keys) {
  return static_cast<bool>(verify_note(note, keys));
}

// A throwaway key for structural tests.
struct TestSigner {
  Ed25519KeyPair pair = key_pair_from_hex(std::string(64, '7'));
  NoteVerifierKey key =
      *make_verifier_key("test.example/log", NoteKeyType::ed25519, pair.public_key);
  std::string sign(std::string_view text) const {
    auto note = sign_note(text, key.name, pair.secret_key, key.key_id);
    REQUIRE(note);
    return *note;
  }
};

}  // namespace

TEST_CASE("notes.json: verify cases") {
  const auto vectors = relay::test::load_json("signed-note/notes.json");
  std::size_t seen = 0;
  for (const auto& c : vectors["verify"]) {
    INFO(c["desc"].get<std::string>());
    const auto key = parse_vkey_or_fail(c["vkey"].get<std::string>());
    CHECK(make_vkey(key) == c["vkey"].get<std::string>());
    const std::string note = c["note"].get<std::string>();
    const auto result = verify_note(note, std::vector{key});
    CHECK(static_cast<bool>(result) == c["valid"].get<bool>());
    if (result) {
      REQUIRE(result.verified.size() == 1);
      CHECK(result.verified[0].name == key.name);
      CHECK(result.verified[0].key_id == key.key_id);
      CHECK_FALSE(result.verified[0].timestamp);
      // Every single-byte change makes the note fail, except in lines of other (unknown)
      // signers, which the spec says to ignore.
      const std::string own_line = "\xE2\x80\x94 " + key.name + " ";
      const std::size_t blank = note.rfind("\n\n");
      const std::size_t own_start = note.find(own_line, blank);
      const std::size_t own_end = note.find('\n', own_start) + 1;
      for (std::size_t i = 0; i < note.size(); ++i) {
        if (i >= blank + 2 && (i < own_start || i >= own_end)) continue;
        std::string bad = note;
        bad[i] = static_cast<char>(bad[i] ^ 0x01);
        INFO("flipped byte " << i);
        CHECK_FALSE(verifies(bad, {key}));
      }
    }
    ++seen;
  }
  CHECK(seen == 6);
}

TEST_CASE("notes.json: sign cases reproduce the note byte for byte") {
  const auto vectors = relay::test::load_json("signed-note/notes.json");
  std::size_t seen = 0;
  for (const auto& c : vectors["sign"]) {
    INFO(c["desc"].get<std::string>());
    const auto pair = key_pair_from_hex(c["seed_hex"].get<std::string>());
    const std::string name = c["name"].get<std::string>();
    const auto key = make_verifier_key(name, NoteKeyType::ed25519, pair.public_key);
    REQUIRE(key);
    CHECK(make_vkey(*key) == c["vkey"].get<std::string>());
    CHECK(*key == parse_vkey_or_fail(c["vkey"].get<std::string>()));
    const auto note = sign_note(c["text"].get<std::string>(), name, pair.secret_key, key->key_id);
    REQUIRE(note);
    CHECK(*note == c["note"].get<std::string>());
    CHECK(verifies(*note, {*key}));
    ++seen;
  }
  CHECK(seen == 2);
}

TEST_CASE("notes.json: tlog-cosignature/v1") {
  const auto vectors = relay::test::load_json("signed-note/notes.json");
  REQUIRE(vectors["cosign"].size() == 1);
  const auto& c = vectors["cosign"][0];
  const auto pair = key_pair_from_hex(c["seed_hex"].get<std::string>());
  const std::string witness = c["witness"].get<std::string>();
  const auto key = make_verifier_key(witness, NoteKeyType::cosignature_v1, pair.public_key);
  REQUIRE(key);
  CHECK(make_vkey(*key) == c["vkey"].get<std::string>());
  CHECK(*key == parse_vkey_or_fail(c["vkey"].get<std::string>()));

  const std::string checkpoint = c["checkpoint"].get<std::string>();
  const auto parsed = parse_note(checkpoint);
  REQUIRE(parsed);
  const std::string& text = parsed.note->text;
  const auto timestamp = c["timestamp"].get<std::uint64_t>();
  CHECK(cosignature_message(text, timestamp) == c["signed_message"].get<std::string>());

  const auto signature = cosign(text, witness, pair.secret_key, key->key_id, timestamp);
  REQUIRE(signature);
  CHECK(signature->signature.size() == 72);
  const std::string cosigned = checkpoint + format_signature_line(*signature);
  CHECK(cosigned == c["cosigned"].get<std::string>());
  CHECK(verify_cosignature(text, *signature, *key) == timestamp);

  // The whole cosigned note with both keys: the log's and the witness's.
  const auto log_key = parse_vkey_or_fail(vectors["sign"][1]["vkey"].get<std::string>());
  const auto both = verify_note(cosigned, std::vector{log_key, *key});
  REQUIRE(both);
  REQUIRE(both.verified.size() == 2);
  CHECK(both.verified[0].type == NoteKeyType::ed25519);
  CHECK(both.verified[1].type == NoteKeyType::cosignature_v1);
  CHECK(both.verified[1].timestamp == timestamp);
  // The witness alone also verifies the note (the log's line is then an unknown key).
  CHECK(verifies(cosigned, {*key}));
  for (std::size_t i = checkpoint.size(); i < cosigned.size(); ++i) {
    std::string bad = cosigned;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    INFO("flipped byte " << i);
    CHECK_FALSE(verifies(bad, {*key}));
  }

  SUBCASE("verify_cosignature refusals") {
    auto other_time = *signature;
    other_time.signature[7] ^= 0x01;  // timestamp changed: the signature no longer covers it
    CHECK_FALSE(verify_cosignature(text, other_time, *key));
    CHECK_FALSE(verify_cosignature(text + "x\n", *signature, *key));
    auto as_note_key = *key;
    as_note_key.type = NoteKeyType::ed25519;
    CHECK_FALSE(verify_cosignature(text, *signature, as_note_key));
    auto short_sig = *signature;
    short_sig.signature.pop_back();
    CHECK_FALSE(verify_cosignature(text, short_sig, *key));
    auto renamed = *signature;
    renamed.name = "other.example/witness";
    CHECK_FALSE(verify_cosignature(text, renamed, *key));
    CHECK_FALSE(cosign(text, witness, pair.secret_key, key->key_id, std::uint64_t{1} << 63));
    CHECK(cosign(text, witness, pair.secret_key, key->key_id, (std::uint64_t{1} << 63) - 1));
    auto huge = *cosign(text, witness, pair.secret_key, key->key_id, 0);
    huge.signature[0] = 0x80;  // timestamp >= 2^63 is refused before the signature is checked
    CHECK_FALSE(verify_cosignature(text, huge, *key));
    CHECK_FALSE(cosign("no newline", witness, pair.secret_key, key->key_id, 1));
    CHECK_FALSE(cosign(text, "bad name", pair.secret_key, key->key_id, 1));
  }
}

TEST_CASE("key names and vkeys") {
  CHECK(is_valid_key_name("example.com/foo"));
  CHECK(is_valid_key_name("PeterNeumann"));
  CHECK(is_valid_key_name("\xE2\x80\x94\xC3\xA9"));  // non-ASCII is fine
  CHECK_FALSE(is_valid_key_name(""));
  CHECK_FALSE(is_valid_key_name("a+b"));
  CHECK_FALSE(is_valid_key_name("a b"));
  CHECK_FALSE(is_valid_key_name("a\tb"));
  CHECK_FALSE(
      is_valid_key_name("a\xC2\xA0"
                        "b"));  // U+00A0 no-break space
  CHECK_FALSE(
      is_valid_key_name("a\xE3\x80\x80"
                        "b"));  // U+3000 ideographic space
  CHECK_FALSE(
      is_valid_key_name("a\xE2\x80\xA8"
                        "b"));  // U+2028 line separator
  CHECK_FALSE(
      is_valid_key_name("a\x01"
                        "b"));
  CHECK_FALSE(is_valid_key_name("a\xFF"));

  const std::string good = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
  const auto key = parse_vkey_or_fail(good);
  CHECK(key.name == "PeterNeumann");
  CHECK(key.key_id == 0xc74f20a3u);
  CHECK(key.type == NoteKeyType::ed25519);
  CHECK(note_key_id(key.name, key.type, key.public_key) == key.key_id);

  const std::vector<std::string> bad = {
      "",
      "PeterNeumann",
      "PeterNeumann+c74f20a3",
      "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",               // empty name
      "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  // space
      "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",   // upper-case hex
      "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",    // 7 hex digits
      "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",   // wrong key ID
      "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX",   // wrong key
      "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",    // bad base64
      "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW ",  // trailing space
      "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy",       // 31-byte key
      "PeterNeumann+c74f20a3+AhpjZHFBw4TEHoMcW84SqoIF+xWSaqr8sMTiLNbLXRNY",   // type 0x02
      "PeterNeumann+c74f20a3+",
  };
  for (const auto& vkey : bad) {
    INFO(vkey);
    CHECK_FALSE(parse_vkey(vkey));
  }
  // Same key, other type: a different key ID, and the vkey round-trips.
  auto cosigner = make_verifier_key("PeterNeumann", NoteKeyType::cosignature_v1, key.public_key);
  REQUIRE(cosigner);
  CHECK(cosigner->key_id != key.key_id);
  CHECK(parse_vkey(make_vkey(*cosigner)) == cosigner);
  CHECK_FALSE(make_verifier_key("bad+name", NoteKeyType::ed25519, key.public_key));
}

TEST_CASE("parse_note is strict") {
  const TestSigner signer;
  const std::string note = signer.sign("hello\n\nworld\n");
  auto parsed = parse_note(note);
  REQUIRE(parsed);
  CHECK(parsed.note->text == "hello\n\nworld\n");  // the last blank line splits
  REQUIRE(parsed.note->signatures.size() == 1);
  CHECK(parsed.note->signatures[0].signature.size() == 64);
  CHECK(format_note(*parsed.note) == note);

  const std::string line = format_signature_line(parsed.note->signatures[0]);
  const std::vector<std::pair<std::string, std::string>> malformed = {
      {"no blank line", "hello\n" + line},
      {"no signature lines", "hello\n\n"},
      {"missing final newline", note.substr(0, note.size() - 1)},
      {"blank line after signatures", note + "\n"},
      {"hyphen instead of em dash", "hello\n\n- test.example/log AAAAAAE=\n"},
      {"no space after dash", "hello\n\n\xE2\x80\x94test.example/log AAAAAAE=\n"},
      {"no signature", "hello\n\n\xE2\x80\x94 test.example/log\n"},
      {"empty signature", "hello\n\n\xE2\x80\x94 test.example/log \n"},
      {"empty name", "hello\n\n\xE2\x80\x94  AAAAAAE=\n"},
      {"plus in name", "hello\n\n\xE2\x80\x94 a+b AAAAAAE=\n"},
      {"signature of 4 bytes", "hello\n\n\xE2\x80\x94 a AAAAAA==\n"},
      {"unpadded base64", "hello\n\n\xE2\x80\x94 a AAAAAAE\n"},
      {"two spaces", "hello\n\n\xE2\x80\x94 a  AAAAAAE=\n"},
      {"trailing space", "hello\n\n\xE2\x80\x94 a AAAAAAE= \n"},
      {"carriage return", "hello\r\n\n" + line},
      {"tab in text", "hel\tlo\n\n" + line},
      {"NUL in text", std::string("hel\0lo\n\n", 9) + line},
      {"invalid UTF-8", "hel\xC3lo\n\n" + line},
      {"text line then garbage line", note + "garbage\n"},
  };
  for (const auto& [label, text] : malformed) {
    INFO(label);
    auto r = parse_note(text);
    CHECK_FALSE(r);
    CHECK(r.error == NoteError::malformed);
    CHECK_FALSE(verifies(text, {signer.key}));
  }

  // Up to kMaxNoteSignatures lines are accepted; one more is refused.
  std::string many = note;
  while (parse_note(many).note->signatures.size() < kMaxNoteSignatures) many += line;
  CHECK(parse_note(many));
  CHECK(verifies(many, {signer.key}));
  auto too_many = parse_note(many + line);
  CHECK_FALSE(too_many);
  CHECK(too_many.error == NoteError::too_many_signatures);
}

TEST_CASE("verify_note: unknown keys ignored, known bad signatures fatal") {
  const TestSigner signer;
  const auto other_pair = key_pair_from_hex(std::string(64, '3'));
  const auto other =
      *make_verifier_key("other.example/key", NoteKeyType::ed25519, other_pair.public_key);
  const std::string text = "statement\n";
  const std::string note = signer.sign(text);
  const auto other_line =
      format_signature_line(*sign_note_text(text, other.name, other_pair.secret_key, other.key_id));

  CHECK(verifies(note, {signer.key}));
  CHECK(verifies(note + other_line, {signer.key}));         // unknown extra line ignored
  CHECK(verifies(note + other_line, {signer.key, other}));  // both known, both good
  CHECK(verify_note(note + other_line, std::vector{signer.key, other}).verified.size() == 2);

  auto only_unknown = verify_note(note, std::vector{other});
  CHECK_FALSE(only_unknown);
  CHECK(only_unknown.error == NoteError::no_known_signature);
  CHECK_FALSE(verifies(note, {}));

  // Same name, other key ID: an unknown key, ignored (so nothing verified here).
  auto same_name = signer.key;
  same_name.key_id ^= 1;
  CHECK_FALSE(verifies(note, {same_name}));
  CHECK(verify_note(note, std::vector{same_name}).error == NoteError::no_known_signature);

  // A known key's bad signature rejects the note even when another known key verified.
  auto forged = parse_note(note + other_line).note.value();
  forged.signatures[1].signature[10] ^= 0x40;
  const auto result = verify_note(format_note(forged), std::vector{signer.key, other});
  CHECK_FALSE(result);
  CHECK(result.error == NoteError::bad_signature);
  CHECK(verifies(format_note(forged), {signer.key}));  // "other" unknown: its line is ignored

  // A known key that signed twice: every line is checked, the key is reported once.
  const std::string line = format_signature_line(parse_note(note).note->signatures[0]);
  const auto twice = verify_note(note + line, std::vector{signer.key});
  REQUIRE(twice);
  CHECK(twice.verified.size() == 1);
  auto bad_second = parse_note(note + line).note.value();
  bad_second.signatures[1].signature[0] ^= 1;
  CHECK_FALSE(verifies(format_note(bad_second), {signer.key}));

  // A known key whose signature has the wrong length is a bad signature, not a crash.
  auto truncated = parse_note(note).note.value();
  truncated.signatures[0].signature.resize(63);
  CHECK(verify_note(format_note(truncated), std::vector{signer.key}).error ==
        NoteError::bad_signature);

  // Signing refuses what could not be parsed back.
  CHECK_FALSE(sign_note("", signer.key.name, signer.pair.secret_key, signer.key.key_id));
  CHECK_FALSE(sign_note("no newline", signer.key.name, signer.pair.secret_key, signer.key.key_id));
  CHECK_FALSE(sign_note("a\rb\n", signer.key.name, signer.pair.secret_key, signer.key.key_id));
  CHECK_FALSE(sign_note("ok\n", "bad name", signer.pair.secret_key, signer.key.key_id));
  // Text ending in blank lines still round-trips (the last blank line splits).
  const std::string trailing = signer.sign("a\n\n");
  REQUIRE(parse_note(trailing));
  CHECK(parse_note(trailing).note->text == "a\n\n");
  CHECK(verifies(trailing, {signer.key}));
  CHECK(to_string(NoteError::bad_signature) == "bad_signature");
}
