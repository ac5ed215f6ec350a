// node/referrals/referral: what a member sees of a referral, written as text
// (write_member_json, which lists of referrals use) is the object the API always answered:
// the tree the earlier to_member_json() built, for every combination of optional fields. The
// stored record is read and written back byte for byte as the tree's dump() wrote it.
#include "node/referrals/referral.hpp"

#include <doctest/doctest.h>

#include <string>

#include "node/domain_fixture.hpp"
#include "node/storage/txn.hpp"

namespace ref = relay::node::referrals;

namespace {

// to_member_json() as it was written before the text form.
nlohmann::json built_before(const ref::Referral& r) {
  nlohmann::json j = {
      {"id", r.id}, {"status", r.status}, {"counted", r.counted}, {"created_ms", r.created_ms}};
  if (r.verified_ms) j["verified_ms"] = r.verified_ms;
  if (!r.application_id.empty()) j["application_id"] = r.application_id;
  if (!r.job_category.empty()) j["job_category"] = r.job_category;
  j["kind"] = r.kind;
  if (!r.stage.empty()) j["stage"] = r.stage;
  if (r.hold_until_ms) j["hold_until_ms"] = r.hold_until_ms;
  return j;
}

}  // namespace

TEST_CASE("referral: the member's view as text is the tree it always was") {
  for (int mask = 0; mask < 64; ++mask) {
    ref::Referral r;
    r.id = "r_0123456789abcdef";
    r.member_id = "m_secret";
    r.candidate_id = "c_secret";
    r.pseudonym = "pseudonym-secret";
    r.created_ms = 1764720000000;
    r.status = mask & 1 ? ref::ReferralStatus::verified : ref::ReferralStatus::pending;
    r.counted = mask & 2;
    if (mask & 4) r.verified_ms = 1764720000500;
    if (mask & 8) r.application_id = "app-\"7\"\\x";
    if (mask & 16) r.job_category = "B";
    if (mask & 32) {
      r.kind = "alumni";
      r.stage = "held";
      r.hold_until_ms = 1765324800000;
    }
    std::string text;
    relay::protocol::JsonWriter w(text);
    r.write_member_json(w);
    CHECK(text == built_before(r).dump());
    CHECK(r.to_member_json() == built_before(r));
    // Never the candidate, the pseudonym or the member.
    CHECK(text.find("secret") == std::string::npos);
  }
}

TEST_CASE("referral: stored records read and write back byte for byte") {
  // As dump() wrote the record's tree: keys sorted, every field present.
  const std::string records[] = {
      R"({"application_id":"","candidate":"c_000000000001","counted":false,)"
      R"("created_ms":1764720000000,"hold_until_ms":0,"id":"r_000000000001","job_category":"",)"
      R"("kind":"rejection","member":"m_kobe","pseudonym":"ab12","stage":"","status":"pending",)"
      R"("verified_ms":0})",
      R"({"application_id":"app-\"7\"","candidate":"c_000000000002","counted":true,)"
      R"("created_ms":1764720000000,"hold_until_ms":1765324800000,"id":"r_000000000002",)"
      R"("job_category":"B","kind":"alumni","member":"m_kobe","pseudonym":"cd34",)"
      R"("stage":"counted","status":"verified","verified_ms":1764720000500})"};
  relay::test::Domain d;
  const auto db = d.env.database("referrals");
  for (const auto& stored : records) {
    const auto id = nlohmann::json::parse(stored).at("id").get<std::string>();
    auto written = d.write([&](relay::node::storage::WriteTxn& txn) {
      txn.put(db, id, stored);
      auto r = d.referrals.find(txn, id);
      REQUIRE(r);
      d.referrals.save(txn, *r);
      return *txn.get(db, id);
    });
    CHECK(written == stored);
  }
}
