#include "node/statistics/kpis.hpp"

namespace relay::node::statistics {

using nlohmann::json;

namespace {

json ratio(std::uint64_t numerator, std::uint64_t denominator) {
  if (denominator == 0) return nullptr;
  return static_cast<double>(numerator) / static_cast<double>(denominator);
}

json kpi(const char* id, const char* ja, const char* en, const char* unit, json value,
         json numerator, json denominator, std::string note_ja, std::string note_en) {
  return {{"id", id},
          {"label_ja", ja},
          {"label_en", en},
          {"unit", unit},
          {"value", std::move(value)},
          {"numerator", std::move(numerator)},
          {"denominator", std::move(denominator)},
          {"note_ja", std::move(note_ja)},
          {"note_en", std::move(note_en)}};
}

json stage(const char* id, const char* ja, const char* en, std::uint64_t count) {
  return {{"stage", id}, {"label_ja", ja}, {"label_en", en}, {"count", count}};
}

}  // namespace

json kpis_json(const KpiInputs& in) {
  const auto& c = in.counters;
  const auto days = std::to_string(in.reemployment_days);
  auto out = json::array();
  out.push_back(kpi("reemployment_rate", "再雇用率", "Re-employment rate", "ratio",
                    ratio(c.reemployed, c.verified), c.reemployed, c.verified,
                    "登録(本人確認済み)した候補者のうち、" + days +
                        "日以内に紹介経由または本人の報告で就職が確認された割合",
                    "Share of registered (confirmed) candidates known to be re-employed within " +
                        days + " days, through an introduction or their own report"));
  out.push_back(kpi("introduction_hire_share", "紹介経由採用率", "Introduction hire share", "ratio",
                    ratio(c.own_introduction_hires, c.own_hires), c.own_introduction_hires,
                    c.own_hires, "報告された採用のうち、紹介経由の採用の割合",
                    "Share of the reported hires that came through introductions"));
  // Fees avoided against what recruiting would have cost without the relay: a ratio 0..1.
  json value = nullptr;
  json numerator = nullptr;
  json denominator = nullptr;
  if (in.agency_fee_yen > 0) {
    const auto avoided = c.own_introduction_hires * in.agency_fee_yen;
    numerator = avoided;
    if (in.spend_yen) {
      denominator = *in.spend_yen + avoided;
      value = ratio(avoided, *in.spend_yen + avoided);
    }
  }
  out.push_back(
      kpi("cost_reduction_rate", "コスト削減率", "Cost reduction rate", "ratio", value, numerator,
          denominator,
          "紹介経由の採用数×紹介手数料(設定値)÷(入力された採用費+その額)。手数料か採用費が"
          "未入力なら空欄",
          "Introduction hires x the agency fee per hire (config), over the recruiting "
          "spend entered plus those fees; empty while either is unknown"));
  out.push_back(kpi("social_hiring_impact", "社会的採用貢献度", "Social hiring impact", "count",
                    in.impact_hired, in.impact_retained_6m, in.impact_hired,
                    "紹介した(不採用にした)人が他社に採用された人数。分子は6か月定着した人数",
                    "People referred who were hired elsewhere; the numerator: how many stayed 6 "
                    "months"));
  std::uint64_t measured = 0;
  for (const auto& [d, n] : c.days_to_hire) measured += n;
  auto median = c.median_days_to_hire();
  out.push_back(kpi("time_to_hire_days", "採用までの日数", "Time to hire", "days",
                    median ? json(*median) : json(nullptr), measured, nullptr,
                    "紹介から採用報告までの日数の中央値。分子は対象の採用数",
                    "Median days from the introduction to the reported hire; the numerator: "
                    "hires measured"));
  return out;
}

json funnel_json(const Counters& c) {
  return json::array({stage("rejections", "不採用連絡", "Rejections", c.rejections),
                      stage("registrations", "登録", "Registrations", c.registrations),
                      stage("verified", "本人確認済み", "Verified", c.verified),
                      stage("introduced", "紹介", "Introduced", c.introduced),
                      stage("hired", "採用", "Hired", c.hired),
                      stage("retained", "6か月定着", "Retained 6 months", c.retained)});
}

json trend_row(const std::string& period, const Counters& c) {
  return {{"period", period},
          {"registrations", c.registrations},
          {"verified", c.verified},
          {"introductions", c.introduced},
          {"hires", c.hired}};
}

}  // namespace relay::node::statistics
