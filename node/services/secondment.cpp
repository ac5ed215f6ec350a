#include "node/services/secondment.hpp"

#include <algorithm>
#include <map>

#include "node/storage/txn.hpp"

namespace relay::node::services {

using introductions::Requisition;
using introductions::RequisitionKind;

nlohmann::json Pairing::to_json() const {
  return {{"id", id},
          {"company", company},
          {"kind", kind},
          {"title", title},
          {"category", category},
          {"required_skills", required_skills},
          {"preferred_skills", preferred_skills},
          {"prefectures", prefectures},
          {"employment_type", employment_type},
          {"score", match.score},
          {"reasons", match.to_json().at("reasons")}};
}

bool pairable(introductions::EmploymentType type) {
  return type == introductions::EmploymentType::secondment ||
         type == introductions::EmploymentType::transfer;
}

namespace {

// Ranks `others` (each scored with `criteria_of` and `profile_of`) and shows each with its
// company: only the fields Pairing lists.
template <class Score>
std::vector<Pairing> rank(const storage::Txn& txn, const members::Registry& members,
                          const std::vector<Requisition>& others, std::size_t limit, Score score) {
  std::vector<std::pair<matching::Match, const Requisition*>> scored;
  scored.reserve(others.size());
  for (const auto& other : others) scored.emplace_back(score(other), &other);
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first.score > b.first.score; });
  if (scored.size() > limit) scored.resize(limit);
  std::map<std::string, std::string> companies;
  std::vector<Pairing> out;
  for (auto& [match, r] : scored) {
    auto company = companies.find(r->member);
    if (company == companies.end()) {
      auto m = members.find(txn, r->member);
      company = companies.emplace(r->member, m ? m->name : "").first;
    }
    out.push_back({r->id, company->second, std::string(introductions::to_string(r->kind)), r->title,
                   r->category, r->required_skills, r->preferred_skills, r->prefectures,
                   std::string(introductions::to_string(r->employment_type)), std::move(match)});
  }
  return out;
}

}  // namespace

Secondment::Secondment(storage::Environment& env, const members::Registry& members,
                       const introductions::Requisitions& requisitions,
                       const config::Reference& reference)
    : env_(env), members_(members), requisitions_(requisitions), scorer_(reference) {}

common::Result<std::vector<Pairing>, SecondmentError> Secondment::offer_matches(
    const members::Member& member, const std::string& offer_id, std::size_t limit) const {
  auto txn = env_.begin_read();
  auto offer = requisitions_.get(txn, member.id, offer_id);
  if (!offer || offer->kind != RequisitionKind::secondment_offer)
    return common::fail(SecondmentError::offer_not_found);
  std::vector<Requisition> others;
  for (auto& r : requisitions_.list_open(txn, RequisitionKind::requisition))
    if (r.member != member.id && pairable(r.employment_type)) others.push_back(std::move(r));
  const auto offer_criteria = offer->criteria();
  return rank(txn, members_, others, limit, [&](const Requisition& r) {
    auto criteria = r.criteria();
    return scorer_.score(criteria,
                         matching::offer_as_profile(offer_criteria, criteria, r.id, r.member));
  });
}

common::Result<std::vector<Pairing>, SecondmentError> Secondment::requisition_pairings(
    const members::Member& member, const std::string& requisition_id, std::size_t limit) const {
  auto txn = env_.begin_read();
  auto req = requisitions_.get(txn, member.id, requisition_id);
  if (!req || req->kind != RequisitionKind::requisition)
    return common::fail(SecondmentError::requisition_not_found);
  if (!pairable(req->employment_type)) return common::fail(SecondmentError::not_pairable);
  std::vector<Requisition> others;
  for (auto& r : requisitions_.list_open(txn, RequisitionKind::secondment_offer))
    if (r.member != member.id) others.push_back(std::move(r));
  const auto criteria = req->criteria();
  return rank(txn, members_, others, limit, [&](const Requisition& offer) {
    return scorer_.score(
        criteria, matching::offer_as_profile(offer.criteria(), criteria, offer.id, offer.member));
  });
}

}  // namespace relay::node::services
