// node/candidates/vault and the candidate Store: personal data sealed under per-candidate
// keys, bound to the candidate by associated data, unreadable once erased.
#include "node/candidates/vault.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/keys.hpp"
#include "node/candidates/mail_entry.hpp"
#include "node/domain_fixture.hpp"
#include "node/storage/index_marks.hpp"

using namespace relay::node;
using namespace relay::node::candidates;
using relay::test::Domain;

TEST_SUITE_BEGIN("vault");

TEST_CASE("vault: seal and open round trip") {
  auto key = new_candidate_key();
  nlohmann::json data = {{"name", "山田 花子"}, {"email", "hanako@example.jp"}};
  auto sealed = seal_json(key, data, "c_abc", "data");
  CHECK(sealed.find("hanako") == std::string::npos);
  auto bytes = relay::crypto::from_base64(sealed);
  REQUIRE(bytes);
  CHECK(relay::crypto::to_string(*bytes).find("hanako") == std::string::npos);
  auto opened = open_json(key, sealed, "c_abc", "data");
  REQUIRE(opened);
  CHECK(*opened == data);
  // A fresh nonce every time.
  CHECK(seal_json(key, data, "c_abc", "data") != sealed);
}

TEST_CASE("vault: the candidate id and purpose are bound as associated data") {
  auto key = new_candidate_key();
  auto sealed = seal_json(key, {{"email", "a@example.jp"}}, "c_one", "data");
  CHECK_FALSE(open_json(key, sealed, "c_two", "data"));
  CHECK_FALSE(open_json(key, sealed, "c_one", "mail"));
  CHECK_FALSE(open_json(key, sealed, "", "data"));
  CHECK(open_json(key, sealed, "c_one", "data"));
  // Another key, tampering, truncation and garbage all fail.
  CHECK_FALSE(open_json(new_candidate_key(), sealed, "c_one", "data"));
  auto bytes = *relay::crypto::from_base64(sealed);
  bytes[bytes.size() / 2] ^= 0x01;
  CHECK_FALSE(open_json(key, relay::crypto::to_base64(bytes), "c_one", "data"));
  bytes[bytes.size() / 2] ^= 0x01;
  bytes.pop_back();
  CHECK_FALSE(open_json(key, relay::crypto::to_base64(bytes), "c_one", "data"));
  CHECK_FALSE(open_json(key, "not base64!", "c_one", "data"));
  CHECK_FALSE(open_json(key, "", "c_one", "data"));
}

TEST_CASE("vault: sealed text opens as JSON whatever its layout; authentic non-JSON does not") {
  auto key = new_candidate_key();
  // Canonical text (what seal_json writes) takes the scan; other layouts the full parser.
  const std::vector<std::string> json_texts = {R"({"a":[1,2],"b":"é"})",
                                               R"({"a":[1,2],"b":"\u00e9"})",
                                               R"( { "b" : "é", "a" : [ 1, 2 ] } )"};
  for (const auto& text : json_texts) {
    CAPTURE(text);
    auto opened = open_json(key, seal_text(key, text, "c_one", "data"), "c_one", "data");
    REQUIRE(opened);
    CHECK(*opened == nlohmann::json{{"a", {1, 2}}, {"b", "é"}});
  }
  const std::vector<std::string> other_texts = {"not json", R"({"a":)", "",
                                                std::string("{\"a\":\"\xff\"}")};
  for (const auto& text : other_texts) {
    CAPTURE(text);
    CHECK_FALSE(open_json(key, seal_text(key, text, "c_one", "data"), "c_one", "data"));
  }
  // Base64 that from_base64 refuses (here: whitespace) is refused before opening.
  auto sealed = seal_json(key, {{"a", 1}}, "c_one", "data");
  CHECK_FALSE(open_json(key, sealed + "\n", "c_one", "data"));
  CHECK_FALSE(open_json(key, " " + sealed, "c_one", "data"));
}

TEST_CASE("vault: candidate keys are wrapped by the data key for one candidate") {
  auto data_key = relay::crypto::random_secret<relay::crypto::AeadKey>();
  auto key = new_candidate_key();
  auto wrapped = wrap_key(data_key, key, "c_one");
  auto unwrapped = unwrap_key(data_key, wrapped, "c_one");
  REQUIRE(unwrapped);
  CHECK(*unwrapped == key);
  CHECK_FALSE(unwrap_key(data_key, wrapped, "c_two"));
  CHECK_FALSE(unwrap_key(relay::crypto::random_secret<relay::crypto::AeadKey>(), wrapped, "c_one"));
  CHECK_FALSE(unwrap_key(data_key, "AAAA", "c_one"));
  // Two candidates never share a key.
  CHECK_FALSE(new_candidate_key() == new_candidate_key());
}

TEST_CASE("vault: the Store seals on create, opens, and shreds on erase") {
  Domain d;
  Registration reg;
  reg.personal = {"削除 次郎", "jiro@example.jp", "078-555-0199"};
  reg.profile.job_category = "D";
  reg.profile.skills = {"sales"};
  reg.profile.prefecture = "JP-27";
  reg.profile.age_band = "45-54";
  reg.profile.experience_band = "11-20";
  reg.consent = {true, false, true, "2026-11-01", 1};
  auto pseudonym = d.candidates.pseudonym_of("jiro@example.jp");
  CHECK(pseudonym.size() >= 32);
  CHECK(pseudonym == d.candidates.pseudonym_of("jiro@example.jp"));
  CHECK(pseudonym != d.candidates.pseudonym_of("jiro2@example.jp"));
  // The pseudonym is keyed: another node's keys give another pseudonym.
  Domain elsewhere;
  CHECK(pseudonym != elsewhere.candidates.pseudonym_of("jiro@example.jp"));

  auto created = d.write([&](storage::WriteTxn& txn) {
    auto r = d.candidates.create(txn, reg, pseudonym);
    d.candidates.queue_mail(txn, r, {"relay@unit", "jiro@example.jp", "件名", "本文 jiro"});
    return r;
  });
  CHECK(created.status == Status::pending);
  CHECK(to_stored(created).dump().find("jiro") == std::string::npos);
  {
    auto txn = d.env.begin_read();
    auto found = d.candidates.find(txn, created.id);
    REQUIRE(found);
    auto opened = d.candidates.open(*found);
    REQUIRE(opened);
    CHECK(opened->personal.name == "削除 次郎");
    CHECK(opened->personal.email == "jiro@example.jp");
    CHECK(opened->profile.prefecture == "JP-27");
    CHECK(d.candidates.find_by_pseudonym(txn, pseudonym)->id == created.id);
    auto queued = d.candidates.queued_mail(txn, 10);
    REQUIRE(queued.size() == 1);
    CHECK(queued[0].mail.to == "jiro@example.jp");
    CHECK(queued[0].mail.body == "本文 jiro");
  }
  // A record moved to another id cannot be opened (the key is bound to its candidate).
  {
    auto txn = d.env.begin_read();
    auto moved = *d.candidates.find(txn, created.id);
    moved.id = "c_somebodyelse";
    CHECK_FALSE(d.candidates.open(moved));
  }
  // Spooled mail is remembered so that erasure can remove it.
  auto seq = [&] {
    auto txn = d.env.begin_read();
    return d.candidates.queued_mail(txn, 10).at(0).seq;
  }();
  CHECK(d.write([&](storage::WriteTxn& txn) {
    return d.candidates.mail_spooled(txn, seq, created.id, "123-abc.eml");
  }));

  auto spool = d.write([&](storage::WriteTxn& txn) {
    auto r = d.candidates.find(txn, created.id);
    return d.candidates.erase(txn, *r);
  });
  CHECK(spool == std::vector<std::string>{"123-abc.eml"});
  auto txn = d.env.begin_read();
  auto erased = d.candidates.find(txn, created.id);
  REQUIRE(erased);
  CHECK(erased->status == Status::erased);
  CHECK_FALSE(d.candidates.open(*erased));
  CHECK_FALSE(d.candidates.find_by_pseudonym(txn, pseudonym));
  CHECK(d.candidates.queued_mail(txn, 10).empty());
  CHECK_FALSE(erased->consent.region);
  CHECK_FALSE(erased->consent.stats);
  // Mail spooled after the erasure is refused: the caller discards the file.
  CHECK_FALSE(d.write([&](storage::WriteTxn& t) {
    return d.candidates.mail_spooled(t, "late", created.id, "456-def.eml");
  }));
}

TEST_CASE(
    "vault: a spooled mail is recorded beside the record, not in it, and erasure returns every "
    "spool file, those older versions listed on the record too") {
  Domain d;
  Registration reg;
  reg.personal = {"Spool Saburo", "saburo@example.jp", ""};
  reg.consent = {true, false, false, "2026-11-01", 1};
  auto created = d.write([&](storage::WriteTxn& txn) {
    auto r = d.candidates.create(txn, reg, d.candidates.pseudonym_of("saburo@example.jp"));
    d.candidates.queue_mail(txn, r, {"relay@unit", "saburo@example.jp", "one", "1"});
    d.candidates.queue_mail(txn, r, {"relay@unit", "saburo@example.jp", "two", "2"});
    return r;
  });
  const auto candidates = d.env.database("candidates");
  auto record_bytes = [&] { return *d.env.begin_read().get(candidates, created.id); };
  const auto before = record_bytes();
  auto queued = d.candidates.queued_mail(d.env.begin_read(), 10);
  REQUIRE(queued.size() == 2);
  CHECK(d.write([&](storage::WriteTxn& txn) {
    return d.candidates.mail_spooled(txn, queued[0].seq, created.id, "c-1.eml") &&
           d.candidates.mail_spooled(txn, queued[1].seq, created.id, "");  // sent by SMTP
  }));
  CHECK(record_bytes() == before);
  CHECK(d.candidates.queued_mail_count(d.env.begin_read()) == 0);
  // The same mail recorded twice (it left the queue): refused, the caller discards the file.
  CHECK_FALSE(d.write([&](storage::WriteTxn& txn) {
    return d.candidates.mail_spooled(txn, queued[0].seq, created.id, "c-1-again.eml");
  }));
  // A record an older version spooled to lists its file itself.
  d.write([&](storage::WriteTxn& txn) {
    auto stored = nlohmann::json::parse(*txn.get(candidates, created.id));
    stored["spool"] = {"c-0.eml"};
    txn.put(candidates, created.id, stored.dump());
  });
  auto spool = d.write([&](storage::WriteTxn& txn) {
    auto r = d.candidates.find(txn, created.id);
    return d.candidates.erase(txn, *r);
  });
  CHECK(spool == std::vector<std::string>{"c-0.eml", "c-1.eml"});
  CHECK(d.env.begin_read().count(d.env.database("candidate_spool")) == 0);
}

TEST_CASE("vault: capability tokens are stored as digests and typed") {
  Domain d;
  Registration reg;
  reg.personal = {"Token Taro", "token@example.jp", ""};
  reg.consent = {true, false, false, "v", 1};
  auto pseudonym = d.candidates.pseudonym_of("token@example.jp");
  auto [id, token] = d.write([&](storage::WriteTxn& txn) {
    auto r = d.candidates.create(txn, reg, pseudonym);
    const std::string token = "manage-token-as-an-older-version-issued";
    d.candidates.bind_token(txn, token, r.id, "manage");
    return std::make_pair(r.id, token);
  });
  const nlohmann::json extra = {{"referral", "r_1"}, {"expires_ms", 1800000000000}};
  const std::string verify_token(24, 'v');
  d.write([&](storage::WriteTxn& txn) {
    d.candidates.bind_token(txn, verify_token, id, "verify", extra);
    return 0;
  });
  auto txn = d.env.begin_read();
  auto info = d.candidates.lookup_token(txn, token, "manage");
  REQUIRE(info);
  CHECK(info->candidate_id == id);
  CHECK(info->digest != token);
  // Stored as the compact dump of {candidate, kind, extra}, byte for byte.
  auto bound = d.candidates.lookup_token(txn, verify_token, "verify");
  REQUIRE(bound);
  CHECK(bound->extra == extra);
  CHECK(txn.get(d.env.database("candidate_tokens"), bound->digest) ==
        nlohmann::json({{"candidate", id}, {"kind", "verify"}, {"extra", extra}}).dump());
  CHECK(txn.get(d.env.database("candidate_tokens"), info->digest) ==
        nlohmann::json({{"candidate", id}, {"kind", "manage"}, {"extra", nlohmann::json::object()}})
            .dump());
  CHECK_FALSE(d.candidates.lookup_token(txn, token, "verify"));
  CHECK_FALSE(d.candidates.lookup_token(txn, token.substr(1), "manage"));
  CHECK_FALSE(d.candidates.lookup_token(txn, "short", "manage"));
  bool plaintext = false;
  txn.for_each_prefix(d.env.database("candidate_tokens"), "",
                      [&](std::string_view k, std::string_view v) {
                        plaintext = plaintext || k.find(token) != std::string_view::npos ||
                                    v.find(token) != std::string_view::npos;
                      });
  CHECK_FALSE(plaintext);
}

TEST_CASE("mail entry: bytes round trip; the JSON form of earlier versions; damage refused") {
  MailEntry e{"c_0123456789ab", 3, 1'796'050'800'123, {0x00, 0x7b, 0xff, 0x10}};
  auto stored = encode_mail_entry(e);
  auto back = decode_mail_entry(stored);
  REQUIRE(back);
  CHECK(back->candidate == e.candidate);
  CHECK(back->attempts == 3);
  CHECK(back->next_try_ms == e.next_try_ms);
  CHECK(back->sealed == e.sealed);
  // Every cut that leaves less than the fixed part is refused; a shorter seal is only a seal
  // that will not open.
  for (std::size_t n = 0; n < 2 + e.candidate.size() + 16; ++n)
    CHECK_FALSE(decode_mail_entry(std::string_view(stored).substr(0, n)));
  CHECK_FALSE(decode_mail_entry("\x02" + stored.substr(1)));  // unknown version
  CHECK_FALSE(decode_mail_entry("{\"candidate\": 1}"));
  CHECK_FALSE(decode_mail_entry("{\"candidate\": \"c_x\", \"mail\": \"not base64!\"}"));
  CHECK_FALSE(decode_mail_entry("{not json"));
  CHECK_THROWS_AS(encode_mail_entry({std::string(256, 'c'), 0, 0, {}}), std::invalid_argument);
  auto legacy =
      decode_mail_entry(R"({"attempts":2,"candidate":"c_old","mail":"AAEC","next_try_ms":99})");
  REQUIRE(legacy);
  CHECK(legacy->candidate == "c_old");
  CHECK(legacy->attempts == 2);
  CHECK(legacy->next_try_ms == 99);
  CHECK(legacy->sealed == relay::crypto::Bytes{0x00, 0x01, 0x02});
}

TEST_CASE("mail text: bytes round trip; the JSON text of earlier versions; damage refused") {
  const relay::node::mail::Mail m{"relay@unit", "花子 <hanako@example.jp>", "件名\n",
                                  std::string("body with \0 NUL and \xff", 21)};
  auto text = encode_mail_text(m);
  auto back = decode_mail_text(text);
  REQUIRE(back);
  CHECK(back->from == m.from);
  CHECK(back->to == m.to);
  CHECK(back->subject == m.subject);
  CHECK(back->body == m.body);
  CHECK(back->key.empty());
  // Every cut is refused, and so is anything after the body.
  for (std::size_t n = 0; n < text.size(); ++n)
    CHECK_FALSE(decode_mail_text(std::string_view(text).substr(0, n)));
  CHECK_FALSE(decode_mail_text(text + "x"));
  CHECK_FALSE(decode_mail_text("\x01" + text.substr(1)));  // unknown version
  // A length past the end, not a read past it.
  CHECK_FALSE(decode_mail_text(std::string("\x02\xff\xff\xff\xff", 5) + "abc"));

  auto legacy = decode_mail_text(R"({"body":"b","from":"f","subject":"s","to":"t"})");
  REQUIRE(legacy);
  CHECK(legacy->from == "f");
  CHECK(legacy->to == "t");
  CHECK(legacy->subject == "s");
  CHECK(legacy->body == "b");
  CHECK_FALSE(decode_mail_text(R"({"body":"b","from":"f","subject":"s"})"));
  CHECK_FALSE(decode_mail_text(R"({"body":1,"from":"f","subject":"s","to":"t"})"));
  CHECK_FALSE(decode_mail_text("{not json"));
  CHECK_FALSE(decode_mail_text("[]"));
}

// A queue left by a version that stored entries as JSON is still sent: read, attempted (the
// entry is then rewritten as bytes) and removed by erasure.
TEST_CASE("vault: mail queued as JSON by an earlier version is read, attempted and erased") {
  Domain d;
  Registration reg;
  reg.personal = {"旧 三郎", "saburo@example.jp", ""};
  reg.consent = {true, false, false, "2026-11-01", 1};
  const auto queue = d.env.database("mail_queue");
  auto [id, seq] = d.write([&](storage::WriteTxn& txn) {
    auto r = d.candidates.create(txn, reg, d.candidates.pseudonym_of("saburo@example.jp"));
    d.candidates.queue_mail(txn, r, {"relay@unit", "saburo@example.jp", "s", "old body"});
    std::string seq;
    std::string value;
    txn.for_each_prefix(queue, "", [&](std::string_view k, std::string_view v) {
      seq = std::string(k);
      value = std::string(v);
    });
    CHECK(value.front() == '\x01');
    CHECK(value.find("saburo") == std::string::npos);
    auto entry = *decode_mail_entry(value);
    // The text sealed as JSON too, as those versions sealed it.
    auto old_text = d.candidates.seal_for(r,
                                          {{"from", "relay@unit"},
                                           {"to", "saburo@example.jp"},
                                           {"subject", "s"},
                                           {"body", "old body"}},
                                          "mail");
    REQUIRE(old_text);
    nlohmann::json old = {{"candidate", entry.candidate},
                          {"mail", *old_text},
                          {"attempts", 1},
                          {"next_try_ms", 5'000}};
    txn.put(queue, seq, old.dump());
    // As that version left it: no index over the queue, built at start-up.
    txn.clear(d.env.database("mail_by_candidate"));
    txn.clear(d.env.database("mail_due"));
    txn.clear(d.env.database(storage::kIndexMarks));
    return std::make_pair(r.id, seq);
  });
  CHECK(d.write([&](storage::WriteTxn& txn) { return d.candidates.index_existing(txn); }) >= 1);
  {
    auto txn = d.env.begin_read();
    CHECK(d.candidates.queued_mail(txn, 10, 4'999).empty());  // not due yet
    auto due = d.candidates.queued_mail(txn, 10, 5'000);
    REQUIRE(due.size() == 1);
    CHECK(due[0].candidate_id == id);
    CHECK(due[0].attempts == 1);
    CHECK(due[0].mail.to == "saburo@example.jp");
    CHECK(due[0].mail.body == "old body");
  }
  CHECK(
      d.write([&](storage::WriteTxn& txn) { return d.candidates.mail_attempt(txn, seq, 9'000); }));
  {
    auto txn = d.env.begin_read();
    auto stored = txn.get(queue, seq);
    REQUIRE(stored);
    CHECK(stored->front() == '\x01');
    CHECK(decode_mail_entry(*stored)->attempts == 2);
    CHECK(d.candidates.queued_mail(txn, 10, 8'999).empty());
    CHECK(d.candidates.queued_mail(txn, 10, 9'000).at(0).mail.body == "old body");
  }
  d.write([&](storage::WriteTxn& txn) {
    auto r = d.candidates.find(txn, id);
    return d.candidates.erase(txn, *r);
  });
  auto txn = d.env.begin_read();
  CHECK(txn.count(queue) == 0);
  CHECK(txn.count(d.env.database("mail_due")) == 0);
  CHECK(txn.count(d.env.database("mail_by_candidate")) == 0);
}

TEST_SUITE_END();
