#pragma once
// Explained matching: an additive score of one anonymised profile against one requisition's
// criteria, with every contribution listed as a reason (feature, ja, en, signed points). The
// table of features and points is in node/matching/README.md; kPoints below is that table.
//
// Only the fields a candidate consents to circulate are features: job_category, skills,
// prefecture, experience_band, desired_roles. AnonymisedProfile may carry other fields (age
// band, and in tests name, exact age, gender, nationality, contact) so that a test can prove
// they never change a score: the scorer never reads them.
//
// Matching only proposes; a person decides. Pure functions of their inputs: no storage, no
// clock, no I/O.
//
// Threads: a Scorer is immutable after construction; score() and rank() may run on any number
// of threads at once.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/reference.hpp"
#include "node/candidates/registration_form.hpp"

namespace relay::node::matching {

// What a requisition (or a secondment offer) asks for. Skills are normalised tags
// (config::normalise_skill), prefectures ISO codes, category an MHLW major group code.
struct Criteria {
  std::string title;  // only to match desired roles against (never shown as a feature value)
  std::string category;
  std::vector<std::string> required_skills;
  std::vector<std::string> preferred_skills;
  std::vector<std::string> prefectures;
  std::string experience_band;  // the least experience wanted; "" = any
};

// A circulated profile, as matching sees it.
struct AnonymisedProfile {
  std::string ref;               // the holder's reference for the candidate (opaque)
  std::string holder = "local";  // "local" or the peer node that holds the candidate
  // Features (what the candidate consented to circulate).
  std::string job_category;
  std::vector<std::string> skills;  // normalised tags
  std::string prefecture;
  std::string experience_band;
  std::vector<std::string> desired_roles;
  // The member asking invited this candidate through its alumni link (退職者): a relation to
  // that member the candidate agreed to by registering that way, set only for that member's
  // requests (services/alumni.hpp), never for anyone else's.
  bool alumnus = false;
  // Never features.
  std::string age_band;
  std::string name;
  int age = 0;
  std::string gender;
  std::string nationality;
  std::string email;
};

// A candidate's circulated profile (candidates::Profile) as matching sees it; the age band is
// copied (it circulates) but is not a feature.
AnonymisedProfile from_circulated(const candidates::Profile& profile, std::string ref,
                                  std::string holder = "local");

// A secondment offer (people a member can lend) as a profile scored against a requisition's
// criteria: skills = the offer's required and preferred skills, category and experience band
// the offer's, prefecture the first of the offer's prefectures that the requisition lists (else
// its first). The requisition is always the criteria, so both directions of pairing (offer ->
// requisitions, requisition -> offers) give the same score for the same pair.
AnonymisedProfile offer_as_profile(const Criteria& offer, const Criteria& requisition,
                                   std::string ref, std::string holder);

// One signed contribution to a score.
struct Reason {
  std::string feature;  // "required_skill", "preferred_skill", "category", ...
  std::string ja;       // 必須スキル「フォークリフト」
  std::string en;       // Required skill "forklift"
  int points = 0;
  bool operator==(const Reason&) const = default;
  nlohmann::json to_json() const;
};

struct Match {
  std::string ref;
  std::string holder;
  int score = 0;  // the sum of reasons' points
  std::vector<Reason> reasons;
  nlohmann::json to_json() const;
};

// Points per feature: the README's table.
struct Points {
  static constexpr int required_skill = 30;           // each required skill the profile has
  static constexpr int required_skill_missing = -10;  // each required skill it lacks
  static constexpr int preferred_skill = 10;          // each preferred skill it has
  static constexpr int category = 20;                 // same MHLW major group
  static constexpr int prefecture = 10;               // in one of the requisition's prefectures
  static constexpr int experience_met = 5;            // at or above the wanted band
  static constexpr int experience_below = -5;         // per band below the wanted one
  static constexpr int desired_role = 15;             // a desired role appears in the title
  static constexpr int alumni = 20;  // an alumnus of the member asking (再雇用, re-hire)
};

// A profile as views: what points() reads, and what copy() makes an AnonymisedProfile of, for
// ranking a pool held elsewhere (the node's pool index) without copying all of it first.
struct ProfileFeatures {
  std::string_view ref;
  std::string_view holder;
  std::string_view job_category;
  std::string_view prefecture;
  std::string_view experience_band;
  std::string_view age_band;  // copied, never a feature
  std::span<const std::string_view> skills;
  std::span<const std::string_view> desired_roles;
  bool alumnus = false;

  AnonymisedProfile copy() const;
};

class Scorer {
 public:
  // Takes the experience bands' order and the labels of categories and prefectures.
  explicit Scorer(const config::Reference& reference);

  // The score and every reason, in feature order.
  Match score(const Criteria& criteria, const AnonymisedProfile& profile) const;
  // The score alone (equal to score().score): for ranking many profiles cheaply.
  int points(const Criteria& criteria, const AnonymisedProfile& profile) const;
  int points(const Criteria& criteria, const ProfileFeatures& profile) const;
  // The best `limit` profiles, highest score first (ties: input order), with their reasons.
  std::vector<Match> rank(const Criteria& criteria, const std::vector<AnonymisedProfile>& profiles,
                          std::size_t limit) const;

 private:
  template <class Sink, class Profile>
  int evaluate(const Criteria& criteria, const Profile& profile, Sink& sink) const;
  // Index of an experience band in the reference order; -1 if unknown.
  int band_index(std::string_view code) const;

  const config::Reference& reference_;
  std::vector<std::string> bands_;
};

// The best `limit` of a stream of profiles by Scorer::points (ties: the earlier wins, as
// Scorer::rank), copying a profile only while it is among them: ranking a large pool held
// elsewhere (the node's pool index) without copying all of it. `note` rides along (the
// holder's region, for the caller).
class TopMatches {
 public:
  struct Ranked {
    Match match;  // with its reasons
    AnonymisedProfile profile;
    std::string note;
  };
  TopMatches(const Scorer& scorer, const Criteria& criteria, std::size_t limit);
  // Copies the profile only if it enters the best so far.
  void offer(const ProfileFeatures& features, std::string_view note = {});
  // The best, strongest first, each scored with its reasons.
  std::vector<Ranked> take();

 private:
  struct Kept {
    int points;
    std::size_t order;
    AnonymisedProfile profile;
    std::string note;
  };
  static bool weaker(const Kept& a, const Kept& b);
  const Scorer& scorer_;
  const Criteria& criteria_;
  std::size_t limit_;
  std::size_t seen_ = 0;
  std::vector<Kept> best_;  // a heap, the weakest on top
};

}  // namespace relay::node::matching
