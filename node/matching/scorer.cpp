#include "node/matching/scorer.hpp"

#include <algorithm>
#include <functional>
#include <queue>

namespace relay::node::matching {

namespace {

template <class List>
bool contains(const List& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Collects nothing: the ranking pass only sums points.
struct NoReasons {
  void add(const char*, int, const auto&) {}
};

// Builds each reason's texts only when asked (for the top matches).
struct ReasonList {
  std::vector<Reason>* out;
  template <class Texts>
  void add(const char* feature, int points, const Texts& texts) {
    auto [ja, en] = texts();
    out->push_back(Reason{feature, std::move(ja), std::move(en), points});
  }
};

std::string quoted_ja(std::string_view s) {
  return "「" + std::string(s) + "」";
}
std::string quoted_en(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

using Texts = std::pair<std::string, std::string>;

}  // namespace

AnonymisedProfile from_circulated(const candidates::Profile& profile, std::string ref,
                                  std::string holder) {
  AnonymisedProfile p;
  p.ref = std::move(ref);
  p.holder = std::move(holder);
  p.job_category = profile.job_category;
  p.skills = profile.skills;
  p.prefecture = profile.prefecture;
  p.experience_band = profile.experience_band;
  p.desired_roles = profile.desired_roles;
  p.age_band = profile.age_band;
  return p;
}

AnonymisedProfile offer_as_profile(const Criteria& offer, const Criteria& requisition,
                                   std::string ref, std::string holder) {
  AnonymisedProfile p;
  p.ref = std::move(ref);
  p.holder = std::move(holder);
  p.job_category = offer.category;
  p.skills = offer.required_skills;
  for (const auto& skill : offer.preferred_skills)
    if (!contains(p.skills, skill)) p.skills.push_back(skill);
  for (const auto& pref : offer.prefectures)
    if (contains(requisition.prefectures, pref)) {
      p.prefecture = pref;
      break;
    }
  if (p.prefecture.empty() && !offer.prefectures.empty()) p.prefecture = offer.prefectures.front();
  p.experience_band = offer.experience_band;
  return p;
}

nlohmann::json Reason::to_json() const {
  return {{"feature", feature}, {"ja", ja}, {"en", en}, {"points", points}};
}

nlohmann::json Match::to_json() const {
  nlohmann::json reasons_json = nlohmann::json::array();
  for (const auto& r : reasons) reasons_json.push_back(r.to_json());
  return {{"ref", ref}, {"holder", holder}, {"score", score}, {"reasons", std::move(reasons_json)}};
}

Scorer::Scorer(const config::Reference& reference) : reference_(reference) {
  for (const auto& band : reference.experience_bands) bands_.push_back(band.code);
}

int Scorer::band_index(std::string_view code) const {
  for (std::size_t i = 0; i < bands_.size(); ++i)
    if (bands_[i] == code) return static_cast<int>(i);
  return -1;
}

template <class Sink, class Profile>
int Scorer::evaluate(const Criteria& c, const Profile& p, Sink& sink) const {
  int total = 0;
  auto add = [&](const char* feature, int points, auto texts) {
    total += points;
    sink.add(feature, points, texts);
  };
  for (const auto& skill : c.required_skills) {
    if (contains(p.skills, skill))
      add("required_skill", Points::required_skill, [&] {
        return Texts{"必須スキル" + quoted_ja(skill), "Required skill " + quoted_en(skill)};
      });
    else
      add("required_skill_missing", Points::required_skill_missing, [&] {
        return Texts{"必須スキル" + quoted_ja(skill) + "なし",
                     "Lacks required skill " + quoted_en(skill)};
      });
  }
  for (const auto& skill : c.preferred_skills)
    if (contains(p.skills, skill))
      add("preferred_skill", Points::preferred_skill, [&] {
        return Texts{"歓迎スキル" + quoted_ja(skill), "Preferred skill " + quoted_en(skill)};
      });
  if (!c.category.empty() && p.job_category == c.category)
    add("category", Points::category, [&] {
      const auto* cat = reference_.find_job_category(c.category);
      return Texts{"希望職種が同じ（" + (cat ? cat->ja : c.category) + "）",
                   "Same job category (" + (cat ? cat->en : c.category) + ")"};
    });
  if (contains(c.prefectures, p.prefecture))
    add("prefecture", Points::prefecture, [&] {
      const auto* pref = reference_.find_prefecture(p.prefecture);
      const std::string code(p.prefecture);
      return Texts{"勤務地と同じ都道府県（" + (pref ? pref->ja : code) + "）",
                   "Same prefecture (" + (pref ? pref->en : code) + ")"};
    });
  if (!c.experience_band.empty()) {
    const int wanted = band_index(c.experience_band);
    const int has = band_index(p.experience_band);
    if (wanted >= 0 && has >= 0) {
      if (has >= wanted) {
        add("experience", Points::experience_met, [&] {
          return Texts{"経験年数が条件以上", "Experience meets the band"};
        });
      } else {
        const int short_by = wanted - has;
        add("experience_below", Points::experience_below * short_by, [&] {
          return Texts{"経験年数が条件より" + std::to_string(short_by) + "段階短い",
                       "Experience " + std::to_string(short_by) + " band(s) below"};
        });
      }
    }
  }
  // A desired role named in the title (both normalised as skill tags are: case-folded NFKC).
  // The title is the requisition's, not the candidate's: no personal data is read here.
  if (!c.title.empty()) {
    for (const auto& role : p.desired_roles) {
      if (!role.empty() && c.title.find(role) != std::string::npos) {
        add("desired_role", Points::desired_role, [&] {
          return Texts{"希望する職務" + quoted_ja(role) + "が求人名にある",
                       "Desired role " + quoted_en(role) + " is in the title"};
        });
        break;  // counted once
      }
    }
  }
  if (p.alumnus)
    add("alumni", Points::alumni, [&] {
      return Texts{"この会社の退職者（再雇用）", "Alumni of this company (re-hire, 再雇用)"};
    });
  return total;
}

Match Scorer::score(const Criteria& criteria, const AnonymisedProfile& profile) const {
  Match m;
  m.ref = profile.ref;
  m.holder = profile.holder;
  ReasonList sink{&m.reasons};
  m.score = evaluate(criteria, profile, sink);
  return m;
}

int Scorer::points(const Criteria& criteria, const AnonymisedProfile& profile) const {
  NoReasons sink;
  return evaluate(criteria, profile, sink);
}

int Scorer::points(const Criteria& criteria, const ProfileFeatures& profile) const {
  NoReasons sink;
  return evaluate(criteria, profile, sink);
}

std::vector<Match> Scorer::rank(const Criteria& criteria,
                                const std::vector<AnonymisedProfile>& profiles,
                                std::size_t limit) const {
  if (limit == 0) return {};
  // A min-heap of the best `limit` (score, -index): the weakest on top, ties broken so that the
  // earlier profile wins. Reasons are built for those alone.
  using Entry = std::pair<int, std::int64_t>;  // score, -index
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> best;
  for (std::size_t i = 0; i < profiles.size(); ++i) {
    Entry e{points(criteria, profiles[i]), -static_cast<std::int64_t>(i)};
    if (best.size() < limit) {
      best.push(e);
    } else if (e > best.top()) {
      best.pop();
      best.push(e);
    }
  }
  std::vector<Match> out(best.size());
  for (auto i = out.size(); i-- > 0;) {
    out[i] = score(criteria, profiles[static_cast<std::size_t>(-best.top().second)]);
    best.pop();
  }
  return out;
}

AnonymisedProfile ProfileFeatures::copy() const {
  AnonymisedProfile p;
  p.ref = ref;
  p.holder = holder;
  p.job_category = job_category;
  p.prefecture = prefecture;
  p.experience_band = experience_band;
  p.age_band = age_band;
  p.skills.assign(skills.begin(), skills.end());
  p.desired_roles.assign(desired_roles.begin(), desired_roles.end());
  p.alumnus = alumnus;
  return p;
}

TopMatches::TopMatches(const Scorer& scorer, const Criteria& criteria, std::size_t limit)
    : scorer_(scorer), criteria_(criteria), limit_(limit) {}

bool TopMatches::weaker(const Kept& a, const Kept& b) {
  return a.points != b.points ? a.points > b.points : a.order < b.order;
}

void TopMatches::offer(const ProfileFeatures& features, std::string_view note) {
  const auto order = seen_++;
  if (limit_ == 0) return;
  const int points = scorer_.points(criteria_, features);
  if (best_.size() == limit_) {
    if (points <= best_.front().points) return;
    std::pop_heap(best_.begin(), best_.end(), weaker);
    best_.pop_back();
  }
  best_.push_back({points, order, features.copy(), std::string(note)});
  std::push_heap(best_.begin(), best_.end(), weaker);
}

std::vector<TopMatches::Ranked> TopMatches::take() {
  std::sort_heap(best_.begin(), best_.end(), weaker);  // strongest first
  std::vector<Ranked> out;
  out.reserve(best_.size());
  for (auto& k : best_)
    out.push_back({scorer_.score(criteria_, k.profile), std::move(k.profile), std::move(k.note)});
  best_.clear();
  return out;
}

}  // namespace relay::node::matching
