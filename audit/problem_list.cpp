#include "audit/problem_list.hpp"

namespace relay::audit {

void ProblemList::add(Problem problem) {
  ++total_;
  if (kept_.size() < max_kept_) kept_.push_back(std::move(problem));
}

void ProblemList::add(std::string where, std::string what) {
  add(Problem{std::move(where), std::move(what), std::nullopt});
}

void ProblemList::add_entry(std::uint64_t index, std::string what) {
  add(Problem{"entry " + std::to_string(index), std::move(what), index});
}

void ProblemList::add_member(const std::string& member_id, std::string what) {
  add(Problem{"member " + member_id, std::move(what), std::nullopt});
}

bool ProblemList::mentions(const std::string& needle) const {
  for (const auto& p : kept_)
    if (p.text().find(needle) != std::string::npos) return true;
  return false;
}

nlohmann::json to_json(const ProblemList& problems) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& p : problems.kept()) {
    nlohmann::json item = {{"where", p.where}, {"what", p.what}};
    if (p.entry) item["entry"] = *p.entry;
    list.push_back(std::move(item));
  }
  return list;
}

}  // namespace relay::audit
