// Explained matching (issue 14): the score is the sum of its reasons, follows the README's
// table, and never changes with fields that must not matter.
#include <doctest/doctest.h>

#include <numeric>

#include "domain_fixture.hpp"
#include "node/matching/scorer.hpp"

namespace matching = relay::node::matching;

namespace {

const relay::config::Reference& reference() {
  static const auto ref = relay::test::load_test_reference();
  return ref;
}

matching::Criteria forklift() {
  matching::Criteria c;
  c.title = "倉庫内フォークリフト作業";
  c.category = "I";
  c.required_skills = {"フォークリフト", "玉掛け"};
  c.preferred_skills = {"クレーン"};
  c.prefectures = {"JP-28"};
  c.experience_band = "3-5";
  return c;
}

matching::AnonymisedProfile profile() {
  matching::AnonymisedProfile p;
  p.ref = "c1";
  p.job_category = "I";
  p.skills = {"フォークリフト", "クレーン"};
  p.prefecture = "JP-28";
  p.experience_band = "1-2";
  p.desired_roles = {"フォークリフト"};
  p.age_band = "25-34";
  p.name = "山田 太郎";
  p.age = 29;
  p.gender = "male";
  p.nationality = "JP";
  p.email = "taro@example.jp";
  return p;
}

int sum(const matching::Match& m) {
  return std::accumulate(m.reasons.begin(), m.reasons.end(), 0,
                         [](int acc, const matching::Reason& r) { return acc + r.points; });
}

}  // namespace

TEST_SUITE_BEGIN("node");

TEST_CASE("matching: every point has a reason, and the reasons follow the README's table") {
  matching::Scorer scorer(reference());
  auto m = scorer.score(forklift(), profile());
  REQUIRE(m.reasons.size() == 7);
  CHECK(m.reasons[0] == matching::Reason{"required_skill", "必須スキル「フォークリフト」",
                                         "Required skill \"フォークリフト\"", 30});
  CHECK(m.reasons[1].feature == "required_skill_missing");
  CHECK(m.reasons[1].points == -10);
  CHECK(m.reasons[2].feature == "preferred_skill");
  CHECK(m.reasons[2].points == 10);
  CHECK(m.reasons[3].feature == "category");
  CHECK(m.reasons[3].ja == "希望職種が同じ（輸送・機械運転の職業）");
  CHECK(m.reasons[3].points == 20);
  CHECK(m.reasons[4].feature == "prefecture");
  CHECK(m.reasons[4].en == "Same prefecture (Hyogo)");
  CHECK(m.reasons[5] == matching::Reason{"experience_below", "経験年数が条件より1段階短い",
                                         "Experience 1 band(s) below", -5});
  CHECK(m.reasons[6].feature == "desired_role");
  CHECK(m.reasons[6].points == 15);
  CHECK(m.score == 30 - 10 + 10 + 20 + 10 - 5 + 15);
  CHECK(m.score == sum(m));
  CHECK(scorer.points(forklift(), profile()) == m.score);
  auto json = m.to_json();
  CHECK(json["score"] == m.score);
  CHECK(json["reasons"].size() == 7);

  auto senior = profile();
  senior.experience_band = "21-";
  auto s = scorer.score(forklift(), senior);
  CHECK(s.reasons[5] ==
        matching::Reason{"experience", "経験年数が条件以上", "Experience meets the band", 5});
  auto novice = profile();
  novice.experience_band = "0";
  CHECK(scorer.score(forklift(), novice).reasons[5].points == -10);
}

TEST_CASE("matching: name, age, age band, gender, nationality and contact never change a score") {
  matching::Scorer scorer(reference());
  const auto base = scorer.score(forklift(), profile());
  std::vector<matching::AnonymisedProfile> variants;
  for (int i = 0; i < 6; ++i) variants.push_back(profile());
  variants[0].name = "Maria Santos";
  variants[1].age = 64;
  variants[2].age_band = "65-";
  variants[3].gender = "female";
  variants[4].nationality = "VN";
  variants[5].email = "someone.else@example.com";
  auto all = profile();
  all.name = "Nguyen Van A";
  all.age = 19;
  all.age_band = "-24";
  all.gender = "other";
  all.nationality = "BR";
  all.email = "x@example.org";
  variants.push_back(all);
  for (const auto& v : variants) {
    auto m = scorer.score(forklift(), v);
    CHECK(m.score == base.score);
    CHECK(m.reasons == base.reasons);
  }
  // ...while each consented feature does change it (the test can fail).
  auto moved = profile();
  moved.prefecture = "JP-13";
  CHECK(scorer.score(forklift(), moved).score != base.score);
}

TEST_CASE("matching: rank keeps the best, highest first, ties in input order, reasons built") {
  matching::Scorer scorer(reference());
  std::vector<matching::AnonymisedProfile> pool;
  for (int i = 0; i < 50; ++i) {
    auto p = profile();
    p.ref = "c" + std::to_string(i);
    if (i % 3 == 0) p.skills.push_back("玉掛け");  // +40 over the base
    if (i % 5 == 0) p.prefecture = "JP-01";        // -10
    pool.push_back(p);
  }
  auto top = scorer.rank(forklift(), pool, 5);
  REQUIRE(top.size() == 5);
  for (std::size_t i = 1; i < top.size(); ++i) CHECK(top[i - 1].score >= top[i].score);
  CHECK(top[0].ref == "c3");  // c0 has the skill but the wrong prefecture
  CHECK(top[1].ref == "c6");
  for (const auto& m : top) {
    CHECK(m.score == sum(m));
    CHECK(m.score == scorer.points(forklift(), pool[std::stoul(m.ref.substr(1))]));
  }
  CHECK(scorer.rank(forklift(), pool, 0).empty());
  CHECK(scorer.rank(forklift(), pool, 500).size() == 50);
}

TEST_CASE("matching: a circulated profile keeps its features and carries no personal data") {
  relay::node::candidates::Profile cp;
  cp.job_category = "H";
  cp.skills = {"溶接"};
  cp.prefecture = "JP-23";
  cp.age_band = "35-44";
  cp.experience_band = "6-10";
  cp.desired_roles = {"溶接工"};
  auto p = matching::from_circulated(cp, "ref-9", "peer-osaka");
  CHECK(p.ref == "ref-9");
  CHECK(p.holder == "peer-osaka");
  CHECK(p.skills == cp.skills);
  CHECK(p.name.empty());
  CHECK(p.email.empty());
}

TEST_SUITE_END();
