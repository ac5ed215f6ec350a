// Secondment pairing (issue 14, item 1/"circulation"): a member's secondment offer ranked
// against other members' open secondment/transfer requisitions and back, with reasons that sum
// to the score; another member's offer answers not_found; only the other side's company,
// title, category, skills, prefectures and employment type are shown.
#include "node/services/secondment.hpp"

#include <doctest/doctest.h>

#include "node/domain_fixture.hpp"
#include "node/introductions/requisition.hpp"

using namespace relay::node;
using relay::test::Domain;
namespace intro = relay::node::introductions;

namespace {

struct Fixture {
  Domain d;
  intro::Requisitions reqs{d.env, d.ledger, d.reference, d.clock};
  services::Secondment secondment{d.env, d.members, reqs, d.reference};
  members::Member lender = d.admit("Lender KK").member;
  members::Member taker = d.admit("Taker KK").member;
  members::Member third = d.admit("Third KK").member;

  std::string open(const members::Member& m, const std::string& kind, const std::string& type,
                   std::vector<std::string> skills, std::vector<std::string> prefectures,
                   const std::string& band = "", const std::string& category = "H") {
    intro::RequisitionInput in;
    in.kind = kind;
    in.title = kind == "secondment_offer" ? "製造スタッフの出向" : "製造ラインの応援";
    in.category = category;
    in.required_skills = std::move(skills);
    in.prefectures = std::move(prefectures);
    in.experience_band = band;
    in.employment_type = type;
    auto r = d.write([&](storage::WriteTxn& txn) { return reqs.open(txn, m.id, in); });
    REQUIRE_MESSAGE(r, (r ? "" : r.error().field + ": " + r.error().message));
    return r->id;
  }
};

int sum(const matching::Match& m) {
  int total = 0;
  for (const auto& r : m.reasons) total += r.points;
  return total;
}

}  // namespace

TEST_SUITE_BEGIN("secondment");

TEST_CASE("secondment: an offer ranks other members' secondment/transfer requisitions") {
  Fixture f;
  auto offer = f.open(f.lender, "secondment_offer", "secondment", {"フォークリフト", "玉掛け"},
                      {"JP-27", "JP-28"}, "6-10");
  auto good = f.open(f.taker, "requisition", "secondment", {"フォークリフト"}, {"JP-28"}, "3-5");
  auto weaker = f.open(f.third, "requisition", "transfer", {"溶接"}, {"JP-13"}, "", "C");
  f.open(f.taker, "requisition", "regular", {"フォークリフト"}, {"JP-28"});      // not pairable
  f.open(f.lender, "requisition", "secondment", {"フォークリフト"}, {"JP-28"});  // its own

  auto r = f.secondment.offer_matches(f.lender, offer, 20);
  REQUIRE(r);
  REQUIRE(r->size() == 2);
  const auto& best = r->at(0);
  CHECK(best.id == good);
  CHECK(best.company == "Taker KK");
  CHECK(best.kind == "requisition");
  CHECK(best.employment_type == "secondment");
  // required skill +30, same category +20, same prefecture (JP-28) +10, experience met +5.
  CHECK(best.match.score == 65);
  CHECK(sum(best.match) == best.match.score);
  CHECK(r->at(1).id == weaker);
  CHECK(r->at(1).match.score < best.match.score);
  CHECK(sum(r->at(1).match) == r->at(1).match.score);
  auto j = best.to_json();
  for (const char* key : {"id", "company", "kind", "title", "category", "required_skills",
                          "preferred_skills", "prefectures", "employment_type", "score", "reasons"})
    CHECK(j.contains(key));
  CHECK(j.size() == 11);

  SUBCASE("the reverse gives the same score for the same pair") {
    auto back = f.secondment.requisition_pairings(f.taker, good, 20);
    REQUIRE(back);
    REQUIRE(back->size() == 1);
    CHECK(back->at(0).id == offer);
    CHECK(back->at(0).company == "Lender KK");
    CHECK(back->at(0).kind == "secondment_offer");
    CHECK(back->at(0).match.score == best.match.score);
    CHECK(back->at(0).match.reasons == best.match.reasons);
  }
  SUBCASE("limit keeps the best") {
    auto one = f.secondment.offer_matches(f.lender, offer, 1);
    REQUIRE(one);
    REQUIRE(one->size() == 1);
    CHECK(one->at(0).id == good);
  }
  SUBCASE("a closed requisition is not paired") {
    REQUIRE(f.d.write([&](storage::WriteTxn& txn) { return f.reqs.close(txn, f.taker.id, good); }));
    auto after = f.secondment.offer_matches(f.lender, offer, 20);
    REQUIRE(after);
    CHECK(after->size() == 1);
  }
}

TEST_CASE("secondment: another member's offer, or a requisition that is no offer, is not found") {
  Fixture f;
  auto offer = f.open(f.lender, "secondment_offer", "secondment", {"フォークリフト"}, {"JP-28"});
  auto regular = f.open(f.taker, "requisition", "regular", {"フォークリフト"}, {"JP-28"});
  auto wanted = f.open(f.taker, "requisition", "transfer", {"フォークリフト"}, {"JP-28"});

  auto theirs = f.secondment.offer_matches(f.taker, offer, 20);
  REQUIRE_FALSE(theirs);
  CHECK(theirs.error() == services::SecondmentError::offer_not_found);
  auto not_offer = f.secondment.offer_matches(f.taker, wanted, 20);
  REQUIRE_FALSE(not_offer);
  CHECK(not_offer.error() == services::SecondmentError::offer_not_found);

  auto other_req = f.secondment.requisition_pairings(f.lender, wanted, 20);
  REQUIRE_FALSE(other_req);
  CHECK(other_req.error() == services::SecondmentError::requisition_not_found);
  auto offer_as_req = f.secondment.requisition_pairings(f.lender, offer, 20);
  REQUIRE_FALSE(offer_as_req);
  CHECK(offer_as_req.error() == services::SecondmentError::requisition_not_found);
  auto not_pairable = f.secondment.requisition_pairings(f.taker, regular, 20);
  REQUIRE_FALSE(not_pairable);
  CHECK(not_pairable.error() == services::SecondmentError::not_pairable);
  auto fine = f.secondment.requisition_pairings(f.taker, wanted, 20);
  REQUIRE(fine);
  CHECK(fine->size() == 1);
}

TEST_CASE("matching: offer_as_profile maps an offer onto the scorer's profile") {
  matching::Criteria offer;
  offer.category = "H";
  offer.required_skills = {"a", "b"};
  offer.preferred_skills = {"b", "c"};
  offer.prefectures = {"JP-01", "JP-28"};
  offer.experience_band = "6-10";
  matching::Criteria req;
  req.prefectures = {"JP-28"};
  auto p = matching::offer_as_profile(offer, req, "o1", "m1");
  CHECK(p.ref == "o1");
  CHECK(p.holder == "m1");
  CHECK(p.skills == std::vector<std::string>{"a", "b", "c"});
  CHECK(p.prefecture == "JP-28");
  CHECK(p.job_category == "H");
  CHECK(p.experience_band == "6-10");
  CHECK_FALSE(p.alumnus);
  req.prefectures = {"JP-13"};
  CHECK(matching::offer_as_profile(offer, req, "o1", "m1").prefecture == "JP-01");
}

TEST_SUITE_END();
