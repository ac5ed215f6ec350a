// node/candidates/record_cache: a cached parse answers only for the very bytes it came from,
// so Store::find never returns a record the txn does not hold (changed since, or written by a
// request that was rolled back).
#include "node/candidates/record_cache.hpp"

#include <doctest/doctest.h>

#include <string>

#include "node/domain_fixture.hpp"

using namespace relay::node;

TEST_SUITE_BEGIN("candidates");

TEST_CASE("record cache: a hit needs the same bytes; a full cache makes room") {
  candidates::RecordCache cache(2);
  candidates::CandidateRecord r;
  r.id = "c_one";
  r.pseudonym = "p1";
  CHECK_FALSE(cache.get("c_one", "bytes-1"));
  cache.put("c_one", "bytes-1", r);
  auto hit = cache.get("c_one", "bytes-1");
  REQUIRE(hit);
  CHECK(hit->pseudonym == "p1");
  CHECK_FALSE(cache.get("c_one", "bytes-2"));  // changed since: parsed again
  r.pseudonym = "p2";
  cache.put("c_one", "bytes-2", r);  // replaces the entry
  CHECK(cache.get("c_one", "bytes-2")->pseudonym == "p2");
  CHECK_FALSE(cache.get("c_one", "bytes-1"));
  cache.put("c_two", "x", r);
  cache.put("c_three", "y", r);  // over capacity: the one cached first went
  CHECK_FALSE(cache.get("c_one", "bytes-2"));
  CHECK(cache.get("c_two", "x"));
  CHECK(cache.get("c_three", "y"));
}

// The records read again are the ones just written (a registration's record, read back by the
// mail dispatcher and its confirmation): the evicting "arbitrary entry" was the newest one,
// and of the last 4,096 records cached 160 stayed.
TEST_CASE("record cache: a full cache keeps the records cached last") {
  candidates::RecordCache cache(4096);
  candidates::CandidateRecord r;
  for (int i = 0; i < 20'000; ++i) cache.put("c_" + std::to_string(i), "bytes", r);
  int kept = 0;
  for (int i = 20'000 - 4096; i < 20'000; ++i)
    kept += cache.get("c_" + std::to_string(i), "bytes") ? 1 : 0;
  CHECK(kept == 4096);
  CHECK_FALSE(cache.get("c_0", "bytes"));
  cache.put("c_19999", "changed", r);  // replaced in place: nothing evicted
  CHECK(cache.get("c_15904", "bytes"));
}

TEST_CASE("record cache: a shared record outlives its eviction and its replacement") {
  candidates::RecordCache cache(1);
  candidates::CandidateRecord r;
  r.pseudonym = "p1";
  auto put = cache.put("c_one", "bytes-1", r);
  auto found = cache.find("c_one", "bytes-1");
  REQUIRE(found);
  CHECK(found.get() == put.get());  // the cached record itself, not a copy
  CHECK_FALSE(cache.find("c_one", "bytes-2"));
  r.pseudonym = "p2";
  cache.put("c_one", "bytes-2", r);  // replaced
  cache.put("c_two", "x", r);        // and evicted
  CHECK(found->pseudonym == "p1");   // still whole for whoever holds it
  CHECK_FALSE(cache.find("c_one", "bytes-1"));
}

TEST_CASE("record cache: Store::find after a rolled-back save reads the committed record") {
  relay::test::Domain d;
  auto id = d.write([&](storage::WriteTxn& txn) {
    candidates::Registration reg;
    reg.personal.name = "Cache Person";
    reg.personal.email = "cache@example.jp";
    return d.candidates.create(txn, reg, d.candidates.pseudonym_of("cache@example.jp")).id;
  });
  {
    auto txn = d.env.begin_write();
    auto r = d.candidates.find(txn, id);
    REQUIRE(r);
    r->status = candidates::Status::active;
    d.candidates.save(txn, *r);
    CHECK(d.candidates.find(txn, id)->status == candidates::Status::active);  // its own write
  }                                                                           // aborted
  auto txn = d.env.begin_read();
  auto r = d.candidates.find(txn, id);
  REQUIRE(r);
  CHECK(r->status == candidates::Status::pending);
  CHECK(d.candidates.open(*r)->personal.name == "Cache Person");
}

// The same cache behind Referrals::find (GET /api/v1/referrals parses every referral of the
// member).
TEST_CASE("record cache: Referrals::find after a rolled-back save reads the committed referral") {
  relay::test::Domain d;
  auto member = d.admit("Cache KK").member.id;
  auto id = d.write([&](storage::WriteTxn& txn) {
    return d.referrals.create(txn, member, "c_cache", "p_cache", "app-cache", "C").id;
  });
  {
    auto txn = d.env.begin_write();
    auto r = d.referrals.find(txn, id);
    REQUIRE(r);
    r->status = referrals::ReferralStatus::verified;
    d.referrals.save(txn, *r);
    CHECK(d.referrals.find(txn, id)->status == referrals::ReferralStatus::verified);
  }  // aborted
  auto txn = d.env.begin_read();
  auto r = d.referrals.find(txn, id);
  REQUIRE(r);
  CHECK(r->status == referrals::ReferralStatus::pending);
  CHECK(r->application_id == "app-cache");
  CHECK(d.referrals.for_member(txn, member).size() == 1);
}

TEST_SUITE_END();
