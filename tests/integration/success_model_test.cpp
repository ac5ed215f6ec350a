// The success model end to end (issue 16), on a real relay-node process with real LMDB: a
// member introduces ten candidates, they accept on their pages, the member reports outcomes
// through the API (two hires retained 6 months after a restart six months on, and not_hired
// for others). Below matching.success_min_outcomes resolved outcomes (here 8, to keep the test
// short) the matches carry no `success` field, even after the model's retraining ran; at the
// minimum every match carries a probability with its drivers, and the score's reasons stay.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "support/names.hpp"
#include "support/node_process.hpp"

using relay::test::eventually;
using relay::test::NodeProcess;
using relay::test::path_of;
using relay::test::TestCandidate;
using relay::test::TestMember;
using relay::test::unique;

namespace {

nlohmann::json matches(const NodeProcess& node, const TestMember& m, const std::string& req) {
  auto r = node.get("/api/v1/requisitions/" + req + "/matches?limit=50", m.api_key);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return r.json().at("matches");
}

int outcome(const NodeProcess& node, const TestMember& m, const std::string& id,
            const std::string& what) {
  auto r =
      node.post_json("/api/v1/introductions/" + id + "/outcomes", {{"outcome", what}}, m.api_key);
  INFO(r.body);
  return r.status;
}

bool log_has(const NodeProcess& node, const std::string& text) {
  return node.log_tail(std::size_t{1} << 24).find(text) != std::string::npos;
}

}  // namespace

TEST_SUITE_BEGIN("introductions");

TEST_CASE("success model: no estimate below the minimum of outcomes; then every match has one") {
  auto options = relay::test::options("success.example", "JP-28");
  options.configure = [](nlohmann::json& j) { j["matching"]["success_min_outcomes"] = 8; };
  NodeProcess x{options};
  auto referrer = x.admit_member("Referrer KK");
  auto hirer = x.admit_member("Hirer KK");
  auto granted =
      x.post_json("/api/v1/members/" + hirer.id + "/credits",
                  {{"credits", 10}, {"reason", "再就職支援プログラム"}}, x.admin_token());
  REQUIRE_MESSAGE(granted.status == 201, granted.body);

  // Ten candidates: forklift drivers in Hyogo and Osaka, and office workers in Tokyo.
  std::vector<TestCandidate> people;
  for (int i = 0; i < 10; ++i) {
    auto tag = unique("success");
    const bool driver = i % 2 == 0;
    people.push_back({"候補 " + tag,
                      tag + "@example.jp",
                      {{"job_category", driver ? "H" : "C"},
                       {"skills", driver ? "フォークリフト" : "Excel"},
                       {"prefecture", i % 4 == 0 ? "JP-28" : (driver ? "JP-27" : "JP-13")},
                       {"experience_band", i % 3 == 0 ? "1-2" : "6-10"}}});
    x.register_and_confirm(path_of(referrer.relay_link), people.back());
  }
  auto opened = relay::test::open_requisition(x, hirer,
                                              {{"title", "フォークリフト作業員"},
                                               {"category", "H"},
                                               {"required_skills", {"フォークリフト"}},
                                               {"headcount", 2}});
  REQUIRE_MESSAGE(opened.status == 201, opened.body);
  const auto req = opened.json().at("id").get<std::string>();
  auto before = matches(x, hirer, req);
  REQUIRE(before.size() == 10);
  for (const auto& m : before) CHECK_FALSE(m.contains("success"));

  // The hirer introduces all ten (a person decides: nothing is introduced automatically).
  std::vector<std::string> intros;
  for (const auto& m : before) {
    auto r = x.post_json("/api/v1/introductions",
                         {{"requisition", req}, {"node", "success.example"}, {"ref", m.at("ref")}},
                         hirer.api_key);
    REQUIRE_MESSAGE(r.status == 201, r.body);
    intros.push_back(r.json().at("id").get<std::string>());
  }
  // Each candidate accepts the request on their page (the link in the request mail).
  std::set<std::string> accepted;
  for (const auto& p : people) {
    auto links = x.wait_mail_links(p.email, "/r/m/", 2);
    REQUIRE(links.size() >= 2);
    auto manage = path_of(links.back());
    auto page = x.get(manage);
    REQUIRE(page.status == 200);
    for (const auto& id : intros)
      if (page.body.find("/requests/" + id) != std::string::npos) {
        CHECK(x.post_form(manage + "/requests/" + id, {{"decision", "accept"}}).status < 400);
        accepted.insert(id);
      }
  }
  REQUIRE(accepted.size() == 10);

  // Two hires, retained six months (the node restarted with its clock six months on).
  CHECK(outcome(x, hirer, intros[0], "hired") == 200);
  CHECK(outcome(x, hirer, intros[1], "hired") == 200);
  ::setenv("RELAY_TEST_CLOCK_OFFSET_MS", std::to_string(190LL * 86400 * 1000).c_str(), 1);
  x.restart();
  ::unsetenv("RELAY_TEST_CLOCK_OFFSET_MS");
  for (int i : {0, 1}) {
    CHECK(outcome(x, hirer, intros[i], "retained_3m") == 200);
    CHECK(outcome(x, hirer, intros[i], "retained_6m") == 200);
  }
  // Five not hired: seven resolved outcomes, one short of the minimum.
  for (int i = 2; i < 7; ++i) CHECK(outcome(x, hirer, intros[i], "not_hired") == 200);
  REQUIRE(eventually([&] {
    return log_has(x, "success model: not trained (7 resolved outcome(s), 2 successful");
  }));
  for (const auto& m : matches(x, hirer, req)) {
    CHECK_FALSE(m.contains("success"));
    CHECK_FALSE(m.at("reasons").empty());
  }

  // The eighth: the model trains (woken by the outcome) and every match carries an estimate.
  CHECK(outcome(x, hirer, intros[7], "not_hired") == 200);
  nlohmann::json after;
  REQUIRE(eventually([&] {
    after = matches(x, hirer, req);
    return !after.empty() && after[0].contains("success");
  }));
  CHECK(log_has(x, "success model: trained (8 resolved outcome(s), 2 successful"));
  REQUIRE(after.size() == 10);
  const std::set<std::string> known = {
      "category_match",  "same_prefecture",  "same_region",  "experience_fit", "experience_gap",
      "required_skills", "preferred_skills", "desired_role", "alumni",         "category_prior"};
  int previous_score = 1 << 30;
  for (const auto& m : after) {
    REQUIRE(m.contains("success"));
    const auto& s = m.at("success");
    const double p = s.at("probability").get<double>();
    CHECK(p > 0);
    CHECK(p < 1);
    CHECK_FALSE(m.at("reasons").empty());  // the score's reasons stay
    // The score still ranks; the estimate only breaks ties.
    CHECK(m.at("score").get<int>() <= previous_score);
    previous_score = m.at("score").get<int>();
    double last = 1e9;
    for (const auto& d : s.at("drivers")) {
      CHECK(known.count(d.at("feature").get<std::string>()) == 1);
      CHECK_FALSE(d.at("label_ja").get<std::string>().empty());
      CHECK_FALSE(d.at("label_en").get<std::string>().empty());
      CHECK(std::abs(d.at("effect").get<double>()) <= last + 1e-9);
      last = std::abs(d.at("effect").get<double>());
    }
  }
  // A forklift driver in Hyogo has drivers (category, prefecture, skills at least).
  CHECK_FALSE(after[0].at("success").at("drivers").empty());
}
