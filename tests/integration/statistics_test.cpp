// The seeds' KPIs, rejection insight and federated statistics across two real relay-node
// processes on loopback (issue 16): a known workload at kobe (member A refers seven people, six
// consenting to statistics; member B introduces one and hires them) gives exact KPIs for A, B
// and the node; neither member sees the other's figures in JSON or CSV; the insight suppresses
// A's one destination; kobe publishes its monthly table to osaka, which stores only the cell
// that passed the thresholds (each person once) and shows it in the consortium view.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/names.hpp"
#include "support/node_process.hpp"

using relay::test::eventually;
using relay::test::funnel_stage;
using relay::test::NodeProcess;
using relay::test::path_of;
using relay::test::TestCandidate;
using relay::test::TestMember;
using relay::test::unique;

namespace {

nlohmann::json get_json(const NodeProcess& node, const std::string& path,
                        const std::string& bearer) {
  auto r = node.get(path, bearer);
  REQUIRE_MESSAGE(r.status == 200, (path + ": " + r.body));
  return r.json();
}

nlohmann::json kpi(const nlohmann::json& reply, const std::string& id) {
  for (const auto& k : reply.at("kpis"))
    if (k.at("id") == id) return k;
  FAIL("no KPI " << id);
  return {};
}

TestCandidate person(const std::string& job_category, bool stats) {
  auto tag = unique("stats");
  TestCandidate c{"統計 " + tag, tag + "@example.jp", {{"job_category", job_category}}};
  if (stats) c.extra.emplace_back("consent_stats", "yes");
  return c;
}

}  // namespace

TEST_SUITE_BEGIN("statistics");

TEST_CASE("KPIs on a known workload, members isolated, suppressed cells never leave the node") {
  auto kobe_options = relay::test::options("kobe.example", "JP-28");
  kobe_options.configure = [](nlohmann::json& c) {
    c["statistics"] = {{"min_persons", 2},
                       {"min_companies", 1},
                       {"agency_fee_yen", 600000},
                       {"publish_minutes", 10080}};
  };
  NodeProcess kobe{kobe_options};
  NodeProcess osaka{relay::test::options("osaka.example", "JP-27")};
  relay::test::peer_by_api(kobe, osaka);
  relay::test::peer_by_api(osaka, kobe);
  auto a = kobe.admit_member("Referrer A KK");
  auto b = kobe.admit_member("Hirer B KK");

  // A refers seven people: three in job category B, two in D, one in H (all consenting to
  // statistics) and one in E who does not consent. (Not in B: the requisition's best match
  // must be one who consented, or the table and the insight would not count the hire.)
  std::vector<std::string> manage;
  for (const auto& [jc, stats] : std::vector<std::pair<std::string, bool>>{{"B", true},
                                                                           {"B", true},
                                                                           {"B", true},
                                                                           {"D", true},
                                                                           {"D", true},
                                                                           {"H", true},
                                                                           {"E", false}})
    manage.push_back(path_of(kobe.register_and_confirm(path_of(a.relay_link), person(jc, stats))));

  // B, with a granted credit, introduces the best match for a category-B requisition.
  REQUIRE(kobe.post_json("/api/v1/members/" + b.id + "/credits",
                         {{"credits", 1}, {"reason", "再就職支援プログラム"}}, kobe.admin_token())
              .status == 201);
  auto req = relay::test::open_requisition(kobe, b);
  REQUIRE_MESSAGE(req.status == 201, req.body);
  auto matches = get_json(kobe,
                          "/api/v1/requisitions/" + req.json().at("id").get<std::string>() +
                              "/matches?limit=5",
                          b.api_key)
                     .at("matches");
  REQUIRE(!matches.empty());
  CHECK(matches[0].at("profile").at("job_category") == "B");
  auto intro = kobe.post_json("/api/v1/introductions",
                              {{"requisition", req.json().at("id")},
                               {"node", "kobe.example"},
                               {"ref", matches[0].at("ref")}},
                              b.api_key);
  REQUIRE_MESSAGE(intro.status == 201, intro.body);
  const auto intro_id = intro.json().at("id").get<std::string>();
  // The person accepts on their page; B reports the hire.
  bool accepted = false;
  for (const auto& m : manage) {
    auto page = kobe.get(m);
    if (page.body.find("/requests/" + intro_id) == std::string::npos) continue;
    CHECK(kobe.post_form(m + "/requests/" + intro_id, {{"decision", "accept"}}).status < 400);
    accepted = true;
  }
  REQUIRE(accepted);
  auto hired = kobe.post_json("/api/v1/introductions/" + intro_id + "/outcomes",
                              {{"outcome", "hired"}}, b.api_key);
  REQUIRE_MESSAGE(hired.status == 200, hired.body);
  REQUIRE(
      kobe.request("PUT", "/api/v1/me/recruiting-spend", R"({"yen": 1800000})",
                   {{"Authorization", "Bearer " + b.api_key}, {"Content-Type", "application/json"}})
          .status == 200);

  {  // exact KPIs for each member and the node; neither member sees the other's
    auto ka = get_json(kobe, "/api/v1/kpis", a.api_key);
    CHECK(ka.at("scope") == "member");
    CHECK(ka.at("period") == "all");
    auto re = kpi(ka, "reemployment_rate");
    CHECK(re.at("numerator") == 1);
    CHECK(re.at("denominator") == 7);
    CHECK(re.at("value").get<double>() == doctest::Approx(1.0 / 7));
    CHECK(kpi(ka, "social_hiring_impact").at("value") == 1);
    CHECK(kpi(ka, "introduction_hire_share").at("value").is_null());  // A hired no one
    CHECK(funnel_stage(ka, "registrations") == 7);
    CHECK(funnel_stage(ka, "verified") == 7);
    CHECK(funnel_stage(ka, "introduced") == 1);
    CHECK(funnel_stage(ka, "hired") == 1);
    CHECK(ka.at("credits").at("earned") == 0);

    auto kb = get_json(kobe, "/api/v1/kpis", b.api_key);
    CHECK(kpi(kb, "introduction_hire_share").at("value").get<double>() == doctest::Approx(1.0));
    CHECK(kpi(kb, "cost_reduction_rate").at("value").get<double>() == doctest::Approx(0.25));
    CHECK(kpi(kb, "cost_reduction_rate").at("numerator") == 600000);
    CHECK(kpi(kb, "time_to_hire_days").at("value").get<double>() == doctest::Approx(0.0));
    CHECK(kpi(kb, "reemployment_rate").at("denominator") == 0);  // A's referrals are not B's
    CHECK(kpi(kb, "social_hiring_impact").at("value") == 0);
    CHECK(funnel_stage(kb, "registrations") == 0);
    CHECK(kb.at("credits").at("spent") == 1);

    // The CSV of each: the kpis array, header of the field names; B's has none of A's figures.
    auto csv_a = kobe.get("/api/v1/kpis?format=csv", a.api_key);
    REQUIRE(csv_a.status == 200);
    CHECK(csv_a.header("content-type") == "text/csv; charset=utf-8");
    CHECK(csv_a.header("content-disposition") == "attachment; filename=\"kpis-all.csv\"");
    CHECK(csv_a.body.rfind("\xEF\xBB\xBFid,label_ja,label_en,unit,value,numerator,denominator\r\n",
                           0) == 0);
    CHECK(csv_a.body.find("reemployment_rate,再雇用率,Re-employment rate,ratio,") !=
          std::string::npos);
    CHECK(csv_a.body.find(",1,7\r\n") != std::string::npos);
    auto csv_b = kobe.get("/api/v1/kpis?format=csv", b.api_key);
    REQUIRE(csv_b.status == 200);
    CHECK(csv_b.body.find(",1,7\r\n") == std::string::npos);
    CHECK(csv_b.body.find("reemployment_rate,再雇用率,Re-employment rate,ratio,,0,0\r\n") !=
          std::string::npos);

    // The operator sees the node: persons, not referrals.
    auto node = get_json(kobe, "/api/v1/kpis?period=all", kobe.admin_token());
    CHECK(node.at("scope") == "node");
    CHECK(funnel_stage(node, "registrations") == 7);
    CHECK(kpi(node, "reemployment_rate").at("numerator") == 1);
    CHECK(kpi(node, "social_hiring_impact").at("value") == 1);
    CHECK(node.at("credits").at("earned") == 1);
    // A month: the trend's last month is this one.
    auto month = ka.at("trend").back().at("period").get<std::string>();
    auto ka_month = get_json(kobe, "/api/v1/kpis?period=" + month, a.api_key);
    CHECK(ka_month.at("period") == month);
    CHECK(kpi(ka_month, "reemployment_rate").at("denominator") == 7);
    CHECK(kpi(ka_month, "social_hiring_impact").at("value") == 1);
  }

  {  // rejection insight: A's one destination is suppressed; retention compared
    auto ia = get_json(kobe, "/api/v1/insight", a.api_key);
    CHECK(ia.at("destinations").empty());
    CHECK(ia.at("suppressed_cells") == 1);
    CHECK(ia.at("retention").at("rejected_hired_elsewhere").at("hired") == 1);
    CHECK(ia.at("retention").at("own_hires").at("hired") == 0);
    CHECK(ia.at("retention").at("own_hires").at("rate").is_null());
    auto ib = get_json(kobe, "/api/v1/insight", b.api_key);
    CHECK(ib.at("suppressed_cells") == 0);
    CHECK(ib.at("retention").at("own_hires").at("hired") == 1);
    CHECK(ib.at("retention").at("rejected_hired_elsewhere").at("hired") == 0);
    auto csv = kobe.get("/api/v1/insight?format=csv", a.api_key);
    CHECK(csv.status == 200);
    CHECK(csv.body == "\xEF\xBB\xBFjob_category,prefecture,count\r\n");
  }

  {  // bad input answers 400 naming the field and changes nothing
    auto bad = kobe.get("/api/v1/kpis?period=2026-13", a.api_key);
    CHECK(bad.status == 400);
    CHECK(bad.error_code() == "bad_parameter");
    CHECK(bad.body.find("period") != std::string::npos);
    auto fmt = kobe.get("/api/v1/kpis?format=xml", a.api_key);
    CHECK(fmt.status == 400);
    CHECK(fmt.body.find("format") != std::string::npos);
    auto stats = kobe.get("/api/v1/statistics?period=all", kobe.admin_token());
    CHECK(stats.status == 400);
    CHECK(stats.body.find("period") != std::string::npos);
    auto spend = kobe.request(
        "PUT", "/api/v1/me/recruiting-spend", R"({"yen": 5, "period": "2026/12"})",
        {{"Authorization", "Bearer " + b.api_key}, {"Content-Type", "application/json"}});
    CHECK(spend.status == 400);
    CHECK(spend.body.find("period") != std::string::npos);
    auto kb = get_json(kobe, "/api/v1/kpis", b.api_key);
    CHECK(kpi(kb, "cost_reduction_rate").at("value").get<double>() == doctest::Approx(0.25));
    // Members never reach the operator's statistics, nor publish.
    CHECK(kobe.get("/api/v1/statistics", a.api_key).status == 403);
    CHECK(
        kobe.post_json("/api/v1/statistics/publish", nlohmann::json::object(), a.api_key).status ==
        403);
  }

  {  // the published table: only the released cell reaches the peer
    auto published =
        kobe.post_json("/api/v1/statistics/publish", nlohmann::json::object(), kobe.admin_token());
    REQUIRE_MESSAGE(published.status == 200, published.body);
    auto own = get_json(kobe, "/api/v1/statistics", kobe.admin_token()).at("own");
    const auto period = own.at("period").get<std::string>();
    // B (3 persons) passes; H (1) fails; D (2) would be revealed by the JP-28 total: held back.
    CHECK(own.at("suppressed_cells") == 2);
    REQUIRE(own.at("cells").size() == 1);

    nlohmann::json seen;
    REQUIRE(eventually([&] {
      seen = get_json(osaka, "/api/v1/statistics?period=" + period, osaka.admin_token());
      return seen.at("peers").size() == 1;
    }));
    CHECK(seen.at("peers")[0].at("peer") == "kobe.example");
    CHECK(seen.at("peers")[0].at("cells") == 1);
    // What osaka stored is the consortium view (it has no table of its own).
    auto cells = seen.at("consortium").at("cells");
    REQUIRE(cells.size() == 1);
    CHECK(cells[0] == nlohmann::json{{"job_category", "B"},
                                     {"prefecture", "JP-28"},
                                     {"age_band", "25-34"},
                                     {"experience_band", "3-5"},
                                     {"registrations", 3},  // each person once: the hired
                                     {"introductions", 1},  // one had three events
                                     {"hires", 1},
                                     {"retained_6m", 0}});
    const auto stored = seen.dump();
    CHECK(stored.find("\"job_category\":\"D\"") == std::string::npos);
    CHECK(stored.find("\"job_category\":\"H\"") == std::string::npos);
    auto csv = osaka.get("/api/v1/statistics?format=csv&period=" + period, osaka.admin_token());
    REQUIRE(csv.status == 200);
    CHECK(csv.body ==
          "\xEF\xBB\xBFjob_category,prefecture,age_band,experience_band,registrations,"
          "introductions,hires,retained_6m\r\nB,JP-28,25-34,3-5,3,1,1,0\r\n");
  }
}

TEST_SUITE_END();
