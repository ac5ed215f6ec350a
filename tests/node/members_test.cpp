// node/members: admitting, suspending and authenticating member companies, with the ledger
// entries each change appends, on a real LMDB environment.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "node/common/text.hpp"
#include "node/domain_fixture.hpp"
#include "node/record_pages.hpp"
#include "node/storage/index_marks.hpp"
#include "protocol/ledger_entry.hpp"

using namespace relay::node;
using relay::test::Domain;

namespace {

// The kind and data of ledger entry `index`.
std::pair<std::string, nlohmann::json> entry_at(Domain& d, std::uint64_t index) {
  auto txn = d.env.begin_read();
  auto bytes = d.ledger.entry(txn, index);
  REQUIRE(bytes.has_value());
  auto parsed = relay::protocol::parse_entry(*bytes);
  REQUIRE(std::holds_alternative<relay::protocol::LedgerEntry>(parsed));
  const auto& entry = std::get<relay::protocol::LedgerEntry>(parsed);
  CHECK(entry.index == index);
  CHECK(relay::protocol::verify_entry(entry, d.keys.current()->signing.public_key));
  return {entry.kind, entry.data};
}

}  // namespace

TEST_SUITE_BEGIN("members");

TEST_CASE("members: admit stores the member, its key digest and a ledger entry") {
  Domain d;
  auto admitted = d.admit("  Kobe Steel KK  ");
  const auto& m = admitted.member;
  CHECK(m.name == "Kobe Steel KK");  // trimmed
  CHECK(m.active);
  CHECK(m.id.rfind("m_", 0) == 0);
  CHECK(m.link_token.size() >= 20);
  CHECK(admitted.api_key.rfind("rk_", 0) == 0);
  CHECK(admitted.api_key.size() >= 40);
  CHECK(m.created_ms > 0);

  CHECK(d.ledger_size() == 1);
  auto [kind, data] = entry_at(d, 0);
  CHECK(kind == "member_admitted");
  CHECK(data.dump().find(m.id) != std::string::npos);
  CHECK(data.dump().find(admitted.api_key) == std::string::npos);

  auto txn = d.env.begin_read();
  auto found = d.members.find(txn, m.id);
  REQUIRE(found);
  CHECK(found->name == m.name);
  CHECK(found->link_token == m.link_token);
  auto by_link = d.members.by_link_token(txn, m.link_token);
  REQUIRE(by_link);
  CHECK(by_link->id == m.id);
  CHECK_FALSE(d.members.by_link_token(txn, m.link_token + "x"));
  CHECK_FALSE(d.members.by_link_token(txn, ""));
  CHECK_FALSE(d.members.find(txn, "m_unknown"));
  CHECK_FALSE(d.members.find(txn, ""));
  // The API view never shows the key.
  CHECK(found->to_json().dump().find(admitted.api_key) == std::string::npos);
  CHECK(found->to_json()["status"] == "active");
}

TEST_CASE("members: names are unique and must be text") {
  Domain d;
  d.admit("Himeji Foods");
  auto duplicate =
      d.write([&](storage::WriteTxn& txn) { return d.members.admit(txn, "Himeji Foods"); });
  REQUIRE_FALSE(duplicate);
  CHECK(duplicate.error() == members::AdmitError::duplicate_name);
  // Trimmed before the comparison.
  auto padded =
      d.write([&](storage::WriteTxn& txn) { return d.members.admit(txn, " Himeji Foods\t"); });
  REQUIRE_FALSE(padded);
  CHECK(padded.error() == members::AdmitError::duplicate_name);

  for (std::string bad :
       {std::string(""), std::string("   "), std::string("Bad\x01Name"), std::string("Bad\nName"),
        std::string("\xff\xfe"), std::string(201, 'x')}) {
    auto r = d.write([&](storage::WriteTxn& txn) { return d.members.admit(txn, bad); });
    REQUIRE_FALSE(r);
    CHECK(r.error() == members::AdmitError::bad_name);
  }
  // 200 characters of Japanese text (600 bytes) is fine.
  std::string long_ja;
  for (int i = 0; i < 200; ++i) long_ja += "社";
  auto ok = d.write([&](storage::WriteTxn& txn) { return d.members.admit(txn, long_ja); });
  CHECK(ok.ok());
  CHECK(d.ledger_size() == 2);  // only the two admissions
  auto txn = d.env.begin_read();
  CHECK(d.members.list(txn).size() == 2);
}

TEST_CASE("members: suspend and reinstate change status once each and are logged") {
  Domain d;
  auto m = d.admit("Akashi Marine").member;
  auto other = d.admit("Ashiya Tech").member;
  auto set = [&](const std::string& id, bool active) {
    return d.write([&](storage::WriteTxn& txn) { return d.members.set_active(txn, id, active); });
  };
  CHECK(set(m.id, false) == members::StatusChange::changed);
  CHECK(set(m.id, false) == members::StatusChange::unchanged);
  CHECK(set("m_nobody", false) == members::StatusChange::not_found);
  {
    auto txn = d.env.begin_read();
    CHECK_FALSE(d.members.find(txn, m.id)->active);
    CHECK(d.members.find(txn, other.id)->active);
    CHECK(d.members.find(txn, m.id)->to_json()["status"] == "suspended");
  }
  CHECK(d.ledger_size() == 3);
  CHECK(entry_at(d, 2).first == "member_suspended");
  CHECK(set(m.id, true) == members::StatusChange::changed);
  CHECK(set(m.id, true) == members::StatusChange::unchanged);
  CHECK(d.ledger_size() == 4);
  CHECK(entry_at(d, 3).first == "member_reinstated");
  auto txn = d.env.begin_read();
  CHECK(d.members.find(txn, m.id)->active);
}

TEST_CASE("members: authenticate by API key") {
  Domain d;
  auto a = d.admit("Alpha KK");
  auto b = d.admit("Beta KK");
  {
    auto txn = d.env.begin_read();
    auto who = d.members.authenticate(txn, a.api_key);
    REQUIRE(who);
    CHECK(who->id == a.member.id);
    CHECK(d.members.authenticate(txn, b.api_key)->id == b.member.id);
    CHECK_FALSE(d.members.authenticate(txn, a.api_key + "x"));
    CHECK_FALSE(d.members.authenticate(txn, a.api_key.substr(0, a.api_key.size() - 1)));
    CHECK_FALSE(d.members.authenticate(txn, ""));
    CHECK_FALSE(d.members.authenticate(txn, std::string(300, 'a')));
    // The link token is no API key.
    CHECK_FALSE(d.members.authenticate(txn, a.member.link_token));
  }
  // A suspended member still authenticates (callers answer 403, not 401).
  d.write([&](storage::WriteTxn& txn) { return d.members.set_active(txn, a.member.id, false); });
  auto txn = d.env.begin_read();
  auto who = d.members.authenticate(txn, a.api_key);
  REQUIRE(who);
  CHECK_FALSE(who->active);
  // Asked again with nothing changed, the parsed member is shared, not parsed or copied anew.
  CHECK(d.members.authenticate(txn, a.api_key) == who);
  // A change shows at once: the shared member is the one parsed from the record as stored.
  d.write([&](storage::WriteTxn& w) {
    return d.members.set_contact_email(w, a.member.id, "hr@alpha.example");
  });
  auto after = d.env.begin_read();
  auto changed = d.members.authenticate(after, a.api_key);
  REQUIRE(changed);
  CHECK(changed != who);
  CHECK(changed->contact_email == "hr@alpha.example");
  CHECK(who->contact_email.empty());  // a reader holding the old one keeps it whole
  CHECK(d.members.shared(after, a.member.id) == changed);
  CHECK_FALSE(d.members.shared(after, "m_nobody"));
}

TEST_CASE("members: the store keeps only a digest of the API key") {
  Domain d;
  auto a = d.admit("Digest KK");
  auto txn = d.env.begin_read();
  auto keys_db = d.env.database("member_keys");
  CHECK(txn.count(keys_db) == 1);
  bool plaintext = false;
  for (const char* name : {"members", "member_keys", "member_names", "member_links"}) {
    txn.for_each_prefix(d.env.database(name), "", [&](std::string_view k, std::string_view v) {
      if (k.find(a.api_key) != std::string_view::npos ||
          v.find(a.api_key) != std::string_view::npos)
        plaintext = true;
    });
  }
  CHECK_FALSE(plaintext);
}

TEST_CASE("members: clean_text") {
  using relay::node::common::clean_text;
  CHECK(clean_text("  a b  ", 10) == "a b");
  CHECK(clean_text("日本語", 3) == "日本語");
  CHECK_FALSE(clean_text("日本語", 2));
  CHECK_FALSE(clean_text("", 10));
  CHECK_FALSE(clean_text(" \t\r\n", 10));
  CHECK_FALSE(clean_text("a\x7f", 10));
  CHECK_FALSE(clean_text("a\tb", 10));
  CHECK_FALSE(clean_text("\xc3\x28", 10));  // invalid UTF-8
  // ASCII is checked on its bytes, everything else code point by code point: the same rules.
  CHECK(clean_text("\t\x0b a@b.jp \r\n", 6) == "a@b.jp");
  CHECK_FALSE(clean_text("\t\x0b a@b.jp \r\n", 5));
  CHECK_FALSE(clean_text("a\x1f", 10));
  CHECK_FALSE(
      clean_text("a\x01"
                 "b",
                 10));
  CHECK(clean_text("\xe3\x80\x80"
                   "a b\xc2\xa0",
                   3) == "a b");  // ideographic space, NBSP
  CHECK_FALSE(
      clean_text("a\xe2\x80\xae"
                 "b",
                 10));  // a bidi override
  CHECK_FALSE(
      clean_text("a\xc2\x85"
                 "b",
                 10));  // NEL inside: a C1 control
}

namespace {

// The ids of every page of `size`, one after another from the first (newest_first: the last
// admitted first).
std::vector<std::string> member_pages(Domain& d, std::size_t size, bool newest_first) {
  auto txn = d.env.begin_read();
  return relay::test::walk_record_pages(size, [&](const std::string& after) {
    return d.members.page(txn, size, after, newest_first);
  });
}

}  // namespace

TEST_CASE("members: pages in the order admitted, either way, and the index is built once") {
  Domain d;
  std::vector<std::string> admitted;  // in the order admitted
  for (int i = 0; i < 9; ++i) {
    admitted.push_back(d.admit("Member " + std::to_string(i) + " KK").member.id);
    // Two share a millisecond: the index orders them by id.
    if (i != 4) d.clock.advance(std::chrono::milliseconds(1));
  }
  if (admitted[5] < admitted[4]) std::swap(admitted[4], admitted[5]);
  auto reversed = std::vector<std::string>(admitted.rbegin(), admitted.rend());
  for (std::size_t size = 1; size <= 10; ++size) {
    CAPTURE(size);
    CHECK(member_pages(d, size, false) == admitted);
    CHECK(member_pages(d, size, true) == reversed);
  }
  {
    // One page of everything says no more follow; an `after` that is no member is refused.
    auto txn = d.env.begin_read();
    auto all = d.members.page(txn, 100, "", false);
    REQUIRE(all);
    CHECK(all->total == 9);
    CHECK_FALSE(all->more);
    CHECK(all->records.size() == 9);
    CHECK_FALSE(d.members.page(txn, 3, "m_nobody", false));
    CHECK_FALSE(d.members.page(txn, 3, "m_nobody", true));
  }

  // A suspended member keeps its place.
  d.write([&](storage::WriteTxn& w) { return d.members.set_active(w, admitted[2], false); });
  CHECK(member_pages(d, 4, false) == admitted);

  // An older data directory: no index and no mark. Nothing is listed until the start-up build,
  // which restores the same pages; a second build does nothing.
  d.write([&](storage::WriteTxn& w) {
    w.clear(d.env.database("members_by_time"));
    w.clear(d.env.database(storage::kIndexMarks));
  });
  CHECK(member_pages(d, 4, false).empty());
  CHECK(d.write([&](storage::WriteTxn& w) { return d.members.index_existing(w); }) == 9);
  CHECK(member_pages(d, 4, false) == admitted);
  CHECK(member_pages(d, 4, true) == reversed);
  CHECK(d.write([&](storage::WriteTxn& w) { return d.members.index_existing(w); }) == 0);
}

// A leaked key is replaced: the old one authenticates nothing at once; only the digest of the
// current key is kept (on the record, never shown); no ledger event. A directory from before
// records kept their digest gets it once at start-up, so its old key dies too.
TEST_CASE("members: a replaced API key stops working; older records get their key digest once") {
  Domain d;
  auto admitted = d.admit("Key Change KK");
  auto bystander = d.admit("Bystander KK");
  const auto& id = admitted.member.id;
  auto authenticated = [&](const std::string& key) {
    auto txn = d.env.begin_read();
    auto m = d.members.authenticate(txn, key);
    return m ? m->id : std::string();
  };
  REQUIRE(authenticated(admitted.api_key) == id);
  const auto ledger = [&] {
    auto txn = d.env.begin_read();
    return d.ledger.size(txn);
  };
  const auto entries = ledger();
  auto key = d.write([&](storage::WriteTxn& w) { return d.members.replace_api_key(w, id); });
  REQUIRE(key);
  CHECK(key->rfind("rk_", 0) == 0);
  CHECK(authenticated(admitted.api_key).empty());
  CHECK(authenticated(*key) == id);
  CHECK(authenticated(bystander.api_key) == bystander.member.id);
  CHECK(ledger() == entries);
  {
    auto txn = d.env.begin_read();
    CHECK(txn.count(d.env.database("member_keys")) == 2);  // one key per member
    auto m = d.members.find(txn, id);
    REQUIRE(m);
    CHECK(m->link_token == admitted.member.link_token);
    CHECK(nlohmann::json::parse(*txn.get(d.env.database("members"), id)).contains("key_digest"));
    CHECK_FALSE(m->to_json().contains("key_digest"));
  }
  CHECK_FALSE(d.write([&](storage::WriteTxn& w) { return d.members.replace_api_key(w, "m_no"); }));

  // A start-up marks both builds done; an older directory's record has no digest, and no mark
  // says it was completed.
  d.write([&](storage::WriteTxn& w) { return d.members.index_existing(w); });
  const auto members_db = d.env.database("members");
  d.write([&](storage::WriteTxn& w) {
    auto stored = nlohmann::json::parse(*w.get(members_db, id));
    stored.erase("key_digest");
    w.put(members_db, id, stored.dump());
    w.del(d.env.database(storage::kIndexMarks), "member_key_digests");
  });
  CHECK(d.write([&](storage::WriteTxn& w) { return d.members.index_existing(w); }) == 1);
  CHECK(d.write([&](storage::WriteTxn& w) { return d.members.index_existing(w); }) == 0);
  auto fourth = d.write([&](storage::WriteTxn& w) { return d.members.replace_api_key(w, id); });
  REQUIRE(fourth);
  CHECK(authenticated(*key).empty());
  CHECK(authenticated(*fourth) == id);
}

TEST_SUITE_END();
