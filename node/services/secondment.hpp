#pragma once
// Secondment pairing (在籍型出向 / 移籍: how people circulate between member companies): a
// member's secondment offer (people it can lend) ranked against other members' open
// requisitions of employment type secondment or transfer, and the reverse, one such requisition
// ranked against other members' open offers. Scored by matching::Scorer with the requisition as
// the criteria and the offer as a profile (matching::offer_as_profile; the table and its
// mapping are in node/matching/README.md), so a pair scores the same both ways and every point
// is a reason.
//
// Invariant: a member pairs only its own offers and requisitions (another member's answers
// not_found, as if it did not exist) and never sees its own on the other side. Only the other
// side's company name, title, category, skills, prefectures and employment type are shown
// (requisitions and offers carry no personal data). Matching only proposes.
//
// Threads: any (read-only: one read txn per call).
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/reference.hpp"
#include "node/common/result.hpp"
#include "node/introductions/requisition.hpp"
#include "node/matching/scorer.hpp"
#include "node/members/member.hpp"
#include "node/storage/environment.hpp"

namespace relay::node::services {

enum class SecondmentError {
  offer_not_found,        // 404: no secondment offer of this member with that id
  requisition_not_found,  // 404: no requisition of this member with that id
  not_pairable,           // 409: the requisition is not of employment type secondment or transfer
};

// One ranked counterpart: the other side (a requisition or an offer) and the score's reasons.
struct Pairing {
  std::string id;       // the other side's requisition or offer id
  std::string company;  // the member that posted it
  std::string kind;     // "requisition" | "secondment_offer"
  std::string title;
  std::string category;
  std::vector<std::string> required_skills;
  std::vector<std::string> preferred_skills;
  std::vector<std::string> prefectures;
  std::string employment_type;
  matching::Match match;
  nlohmann::json to_json() const;
};

// True for 在籍型出向 and 移籍: the requisitions that secondment offers pair with.
bool pairable(introductions::EmploymentType type);

class Secondment {
 public:
  Secondment(storage::Environment& env, const members::Registry& members,
             const introductions::Requisitions& requisitions, const config::Reference& reference);

  // Other members' open secondment/transfer requisitions for member's open offer, best first.
  common::Result<std::vector<Pairing>, SecondmentError> offer_matches(const members::Member& member,
                                                                      const std::string& offer_id,
                                                                      std::size_t limit) const;
  // Other members' open secondment offers for member's secondment/transfer requisition.
  common::Result<std::vector<Pairing>, SecondmentError> requisition_pairings(
      const members::Member& member, const std::string& requisition_id, std::size_t limit) const;

 private:
  storage::Environment& env_;
  const members::Registry& members_;
  const introductions::Requisitions& requisitions_;
  matching::Scorer scorer_;
};

}  // namespace relay::node::services
