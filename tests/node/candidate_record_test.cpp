// node/candidates/candidate_record: the typed record reads and writes the stored form the
// untyped record wrote (literal JSON in that format, as nlohmann dumped it: keys sorted), and
// its methods change a record as the raw JSON edits in federation/ did.
#include "node/candidates/candidate_record.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "node/domain_fixture.hpp"
#include "node/storage/txn.hpp"

using namespace relay::node;
using namespace relay::node::candidates;
using relay::test::Domain;

namespace {

// A local candidate after registration and confirmation, before any handoff.
const std::string kLive =
    R"({"consent":{"at_ms":1690000001000,"peers":true,"region":true,"stats":false,)"
    R"("version":"2026-11-01"},"created_ms":1690000000000,"data":"c2VhbGVkIGRhdGE=",)"
    R"("id":"c_000000000001","key":"d3JhcHBlZCBrZXk=","origin":"local","pseudonym":"ab12",)"
    R"("spool":["spool-1"],"status":"active","tokens":["digest-1","digest-2"],)"
    R"("verified_ms":1690000001000})";

// The same candidate after two accepted handoffs, the first one receipted.
const std::string kDisclosed =
    R"({"consent":{"at_ms":1690000001000,"peers":true,"region":true,"stats":false,)"
    R"("version":"2026-11-01"},"created_ms":1690000000000,"data":"c2VhbGVkIGRhdGE=",)"
    R"("disclosures":[{"at_ms":1695000000000,"company":"Kobe Steel KK",)"
    R"("consent_version":"2026-11-01","erasure":"","handoff":"h_aaaaaaaaaaaa",)"
    R"("node":"kobe.example","receipt_ms":1695000001000,"region":"JP-28"},)"
    R"({"at_ms":1696000000000,"company":"Osaka Gas","consent_version":"2026-11-01",)"
    R"("erasure":"","handoff":"h_bbbbbbbbbbbb","node":"osaka.example","region":"JP-27"}],)"
    R"("id":"c_000000000001","key":"d3JhcHBlZCBrZXk=","origin":"local","pseudonym":"ab12",)"
    R"("spool":["spool-1"],"status":"active","tokens":["digest-1","digest-2"],)"
    R"("verified_ms":1690000001000})";

// Erased at 1700000000500; Kobe confirmed, Osaka overdue.
const std::string kTombstone =
    R"({"consent":{"at_ms":1700000000500,"peers":false,"region":false,"stats":false,)"
    R"("version":"2026-11-01"},"created_ms":1690000000000,)"
    R"("disclosures":[{"at_ms":1695000000000,"company":"Kobe Steel KK",)"
    R"("consent_version":"2026-11-01","erasure":"","handoff":"h_aaaaaaaaaaaa",)"
    R"("node":"kobe.example","receipt_ms":1695000001000,"region":"JP-28"},)"
    R"({"at_ms":1696000000000,"company":"Osaka Gas","consent_version":"2026-11-01",)"
    R"("erasure":"","handoff":"h_bbbbbbbbbbbb","node":"osaka.example","region":"JP-27"}],)"
    R"("erased_ms":1700000000500,"erasure":{"requested_ms":1700000000500,"requests":[)"
    R"({"company":"Kobe Steel KK","confirmed_ms":1700000003000,"handoff":"h_aaaaaaaaaaaa",)"
    R"("overdue":false,"peer":"kobe.example","receipt_signature":"c2lnbmF0dXJl",)"
    R"("requested_ms":1700000000500},{"company":"Osaka Gas","confirmed_ms":0,)"
    R"("handoff":"h_bbbbbbbbbbbb","overdue":true,"peer":"osaka.example",)"
    R"("requested_ms":1700000000500}]},"id":"c_000000000001","origin":"local",)"
    R"("pseudonym":"ab12","status":"erased","verified_ms":1690000001000})";

// Handed over by osaka.example through handoff h_cccccccccccc.
const std::string kReceived =
    R"({"consent":{"at_ms":1695000000000,"peers":false,"region":false,"stats":false,)"
    R"("version":"2026-11-01"},"created_ms":1695000000000,"data":"c2VhbGVkIGRhdGE=",)"
    R"("evidence":"c2VhbGVkIGV2aWRlbmNl","expires_ms":1697592000000,)"
    R"("handoff":"h_cccccccccccc","id":"c_000000000002","key":"d3JhcHBlZCBrZXk=",)"
    R"("member":"m_kobe","origin":"osaka.example","pseudonym":"cd34","spool":[],)"
    R"("status":"active","tokens":[],"verified_ms":1695000000000})";

// Puts the literal bytes, reads the record through the store, saves it and returns the bytes.
std::string round_trip(Domain& d, const std::string& stored) {
  auto db = d.env.database("candidates");
  auto id = nlohmann::json::parse(stored).at("id").get<std::string>();
  return d.write([&](storage::WriteTxn& txn) {
    txn.put(db, id, stored);
    auto record = d.candidates.find(txn, id);
    REQUIRE(record);
    d.candidates.save(txn, *record);
    return *txn.get(db, id);
  });
}

std::string stored_bytes(Domain& d, const std::string& id) {
  auto txn = d.env.begin_read();
  return *txn.get(d.env.database("candidates"), id);
}

Disclosure disclosure(const std::string& handoff, const std::string& company,
                      const std::string& node, const std::string& region, std::int64_t at_ms) {
  return {handoff, company, node, region, at_ms, "2026-11-01", "", std::nullopt};
}

}  // namespace

TEST_SUITE_BEGIN("candidate record");

TEST_CASE("candidate record: stored records read and write back byte for byte") {
  Domain d;
  for (const auto* stored : {&kLive, &kDisclosed, &kTombstone, &kReceived})
    CHECK(round_trip(d, *stored) == *stored);
}

// Every optional field at once, the form nlohmann's dump() gives it (keys sorted): a received
// record in English with a key slot, a legacy wrapped key, a withdrawal and an erasure request
// with its reason, outcome and receipt; and its tombstone.
TEST_CASE("candidate record: every optional field is written where dump() puts it") {
  auto full = nlohmann::json::parse(kReceived);
  full["lang"] = "en";
  full["slot"] = std::uint32_t{7};  // as parsed: unsigned
  full["withdrawn_ms"] = 1696000000000;
  full["spool"] = {"spool-1", "spool-\"2\""};
  full["tokens"] = {"digest-1"};
  full["intake"] = {{"day", 19650},
                    {"form", "9f86d081"},
                    {"links", {{"r_b0000000", 1698000000000}, {"r_a0000000", 1697000000000}}},
                    {"mails", 3}};
  full["disclosures"] = nlohmann::json::parse(kDisclosed).at("disclosures");
  full["erasure"] = {{"requested_ms", 1697000000000},
                     {"requests",
                      {{{"company", "Kobe Steel KK"},
                        {"confirmed_ms", 1697000001000},
                        {"handoff", "h_aaaaaaaaaaaa"},
                        {"outcome", "kept_hired"},
                        {"overdue", false},
                        {"peer", "kobe.example"},
                        {"reason", "withdrawn"},
                        {"receipt_signature", "c2ln"},
                        {"requested_ms", 1697000000000}}}}};
  CHECK(stored_text(from_stored(full)) == full.dump());
  CHECK(to_stored(from_stored(full)) == full);
  CHECK(from_stored(full).intake->links.at("r_a0000000") == 1697000000000);
  // Without links, none is written (records from before read and write the same bytes).
  full["intake"].erase("links");
  CHECK(stored_text(from_stored(full)) == full.dump());

  auto tombstone = nlohmann::json::parse(kTombstone);
  tombstone["lang"] = "en";
  tombstone["withdrawn_ms"] = 1696000000000;
  CHECK(stored_text(from_stored(tombstone)) == tombstone.dump());
  // A tombstone keeps no intake state, even one read with it.
  auto with_intake = tombstone;
  with_intake["intake"] = full["intake"];
  CHECK(stored_text(from_stored(with_intake)) == tombstone.dump());
}

TEST_CASE("candidate record: the typed fields of a stored tombstone and a received record") {
  auto tombstone = from_stored(nlohmann::json::parse(kTombstone));
  CHECK(tombstone.status == Status::erased);
  CHECK(tombstone.erased_ms() == 1700000000500);
  REQUIRE(tombstone.disclosures().size() == 2);
  CHECK(tombstone.disclosures()[0].receipt_ms == 1695000001000);
  CHECK_FALSE(tombstone.disclosures()[1].receipt_ms);
  CHECK(tombstone.erasure_requested());
  REQUIRE(tombstone.erasure_requests().size() == 2);
  CHECK(tombstone.erasure_requests()[0].confirmed_ms == 1700000003000);
  CHECK(tombstone.erasure_requests()[1].overdue);
  CHECK_FALSE(tombstone.received());

  auto received = from_stored(nlohmann::json::parse(kReceived));
  REQUIRE(received.received());
  CHECK(received.received()->handoff == "h_cccccccccccc");
  CHECK(received.received()->member == "m_kobe");
  CHECK(received.received()->expires_ms == 1697592000000);
  CHECK(received.disclosures().empty());
  CHECK_FALSE(received.erasure_requested());
}

TEST_CASE("candidate record: disclosures, erasure and receipts give the stored form as before") {
  Domain d;
  d.clock.set(1700000000500);
  REQUIRE(round_trip(d, kLive) == kLive);
  d.write([&](storage::WriteTxn& txn) {
    auto r = *d.candidates.find(txn, "c_000000000001");
    r.add_disclosure(
        disclosure("h_aaaaaaaaaaaa", "Kobe Steel KK", "kobe.example", "JP-28", 1695000000000));
    r.add_disclosure(
        disclosure("h_bbbbbbbbbbbb", "Osaka Gas", "osaka.example", "JP-27", 1696000000000));
    r.add_disclosure(
        disclosure("h_dddddddddddd", "Withdrawn KK", "kobe.example", "JP-28", 1696500000000));
    CHECK(r.remove_disclosure("h_dddddddddddd"));  // dropped before it left
    CHECK_FALSE(r.remove_disclosure("h_dddddddddddd"));
    CHECK(r.mark_receipt("h_aaaaaaaaaaaa", 1695000001000));
    CHECK_FALSE(r.mark_receipt("h_unknown", 1695000001000));
    d.candidates.save(txn, r);
  });
  CHECK(stored_bytes(d, "c_000000000001") == kDisclosed);

  d.write([&](storage::WriteTxn& txn) {
    auto r = *d.candidates.find(txn, "c_000000000001");
    d.candidates.erase(txn, r);
    auto asked = r.request_erasure(d.clock.now_ms());
    REQUIRE(asked.size() == 2);
    CHECK(asked[0].peer == "kobe.example");
    CHECK(asked[1].handoff == "h_bbbbbbbbbbbb");
    CHECK(r.request_erasure(d.clock.now_ms() + 1).empty());  // incremental: nothing new
    // An outcome of "" keeps the stored form of records written before receipts kept it.
    CHECK(r.confirm_erasure("h_aaaaaaaaaaaa", "kobe.example", 1700000003000, "c2lnbmF0dXJl", ""));
    CHECK_FALSE(r.confirm_erasure("h_aaaaaaaaaaaa", "kobe.example", 1700000004000, "again", ""));
    CHECK_FALSE(r.confirm_erasure("h_bbbbbbbbbbbb", "kobe.example", 1700000004000, "wrong", ""));
    CHECK(r.mark_erasure_overdue("h_bbbbbbbbbbbb", "osaka.example"));
    d.candidates.save(txn, r);
  });
  CHECK(stored_bytes(d, "c_000000000001") == kTombstone);
}

TEST_CASE("candidate record: erasure requested without disclosures is kept (and asks nobody)") {
  auto r = from_stored(nlohmann::json::parse(kLive));
  CHECK_FALSE(r.erasure_requested());
  CHECK(r.request_erasure(5).empty());
  CHECK(r.erasure_requested());
  auto stored = to_stored(r);
  CHECK(stored.at("erasure") == nlohmann::json::parse(R"({"requested_ms":5,"requests":[]})"));
  CHECK_FALSE(stored.contains("disclosures"));
}

TEST_CASE(
    "candidate record: withdrawal asks every recipient once; erasure asks again only a "
    "recipient that kept the data for a hire") {
  auto r = from_stored(nlohmann::json::parse(kLive));
  r.add_disclosure(
      disclosure("h_aaaaaaaaaaaa", "Kobe Steel KK", "kobe.example", "JP-28", 1695000000000));
  r.add_disclosure(
      disclosure("h_bbbbbbbbbbbb", "Osaka Gas", "osaka.example", "JP-27", 1696000000000));
  CHECK(r.withdrawn_ms() == 0);
  r.mark_withdrawn(10);
  auto asked = r.request_erasure(10, "withdrawn");
  REQUIRE(asked.size() == 2);
  CHECK(asked[0].reason == "withdrawn");
  CHECK(r.request_erasure(11, "withdrawn").empty());
  // An erasure while both wait: nothing new (the receipts decide).
  CHECK(r.request_erasure(12).empty());
  CHECK(r.confirm_erasure("h_aaaaaaaaaaaa", "kobe.example", 20, "c2ln", "kept_hired"));
  CHECK(r.confirm_erasure("h_bbbbbbbbbbbb", "osaka.example", 21, "c2lo", "erased"));
  CHECK(r.request_erasure(22, "withdrawn").empty());  // withdrawing again asks nobody
  auto again = r.request_erasure(23);                 // erasing asks the one that kept it
  REQUIRE(again.size() == 1);
  CHECK(again[0].handoff == "h_aaaaaaaaaaaa");
  CHECK(again[0].reason.empty());
  CHECK(r.request_erasure(24).empty());

  // Stored and read back with reason, outcome and the withdrawal time.
  auto back = from_stored(to_stored(r));
  CHECK(back.withdrawn_ms() == 10);
  REQUIRE(back.erasure_requests().size() == 3);
  CHECK(back.erasure_requests()[0].outcome == "kept_hired");
  CHECK(back.erasure_requests()[0].reason == "withdrawn");
  CHECK(back.erasure_requests()[2].reason.empty());
  CHECK(to_stored(back) == to_stored(r));
  back.clear_withdrawn();
  CHECK_FALSE(to_stored(back).contains("withdrawn_ms"));
}

// New records go to the end of the candidates database (a burst's commit writes a few pages,
// not one per record); the 72 random bits after the time keep ids unguessable and unique.
TEST_CASE("candidate record: ids sort by creation time; two in the same millisecond differ") {
  Domain d;
  Registration reg;
  reg.personal = {"順番 一郎", "order@example.jp", ""};
  reg.consent = {true, false, false, "2026-11-01", 1};
  std::vector<std::string> ids;
  for (std::int64_t at : {1764720000000, 1764720000000, 1764720000001, 1764720100000,
                          17592186044415 /* the last millisecond 11 hex digits hold */}) {
    d.clock.set(at);
    ids.push_back(d.write([&](storage::WriteTxn& txn) {
      return d.candidates.create(txn, reg, d.candidates.pseudonym_of("order@example.jp")).id;
    }));
  }
  for (const auto& id : ids) {
    CAPTURE(id);
    REQUIRE(id.size() == 25);
    CHECK(id.substr(0, 2) == "c_");
    CHECK(id.substr(2, 11).find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                               13) == std::string::npos);
  }
  CHECK(ids[0].substr(0, 13) == "c_19ae1823c00");
  CHECK(ids[0] != ids[1]);
  CHECK(ids[0].substr(0, 13) == ids[1].substr(0, 13));
  CHECK(ids[1] < ids[2]);
  CHECK(ids[2] < ids[3]);
  CHECK(ids[3] < ids[4]);
  CHECK(ids[4].substr(0, 13) == "c_fffffffffff");
}

TEST_SUITE_END();
