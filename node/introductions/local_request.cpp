#include "node/introductions/local_request.hpp"

#include <algorithm>
#include <stdexcept>

namespace relay::node::introductions {

namespace {
constexpr std::pair<LocalRequestState, std::string_view> kStates[] = {
    {LocalRequestState::pending, "pending"},   {LocalRequestState::accepted, "accepted"},
    {LocalRequestState::declined, "declined"}, {LocalRequestState::withdrawn, "withdrawn"},
    {LocalRequestState::expired, "expired"},
};

LocalRequestState parse_state(std::string_view s) {
  for (const auto& [state, name] : kStates)
    if (name == s) return state;
  throw std::runtime_error("local_requests: corrupt state");
}
}  // namespace

std::string_view to_string(LocalRequestState s) {
  for (const auto& [state, name] : kStates)
    if (state == s) return name;
  return "pending";
}

nlohmann::json LocalRequest::to_json() const {
  return {{"introduction", introduction},
          {"candidate", candidate},
          {"member", member},
          {"company", company},
          {"title", title},
          {"employment_type", employment_type},
          {"reasons", reasons},
          {"state", to_string(state)},
          {"created_ms", created_ms},
          {"updated_ms", updated_ms}};
}

LocalRequest LocalRequest::from_json(const nlohmann::json& j) {
  LocalRequest r;
  r.introduction = j.at("introduction");
  r.candidate = j.at("candidate");
  r.member = j.at("member");
  r.company = j.at("company");
  r.title = j.at("title");
  r.employment_type = j.at("employment_type");
  r.reasons = j.at("reasons");
  r.state = parse_state(j.at("state").get<std::string>());
  r.created_ms = j.at("created_ms");
  r.updated_ms = j.at("updated_ms");
  return r;
}

LocalRequests::LocalRequests(storage::Environment& env, const common::Clock& clock)
    : clock_(clock),
      requests_(env.database("local_requests")),
      by_candidate_(env.database("candidate_local_requests")) {}

void LocalRequests::create(storage::WriteTxn& txn, LocalRequest r) {
  r.created_ms = r.updated_ms = clock_.now_ms();
  r.state = LocalRequestState::pending;
  txn.put(requests_, r.introduction, r.to_json().dump());
  txn.put(by_candidate_, r.candidate + "/" + r.introduction, "");
}

std::optional<LocalRequest> LocalRequests::find(const storage::Txn& txn,
                                                const std::string& id) const {
  if (id.empty() || id.size() > 64) return std::nullopt;
  auto v = txn.get(requests_, id);
  if (!v) return std::nullopt;
  return LocalRequest::from_json(nlohmann::json::parse(*v));
}

std::vector<LocalRequest> LocalRequests::for_candidate(const storage::Txn& txn,
                                                       const std::string& candidate) const {
  std::vector<std::string> ids;
  auto prefix = candidate + "/";
  txn.for_each_prefix(by_candidate_, prefix, [&](std::string_view key, std::string_view) {
    ids.emplace_back(key.substr(prefix.size()));
  });
  std::vector<LocalRequest> out;
  for (const auto& id : ids)
    if (auto r = find(txn, id)) out.push_back(std::move(*r));
  std::stable_sort(out.begin(), out.end(), [](const LocalRequest& a, const LocalRequest& b) {
    return a.created_ms < b.created_ms;
  });
  return out;
}

bool LocalRequests::settle(storage::WriteTxn& txn, const std::string& id, LocalRequestState to) {
  auto r = find(txn, id);
  if (!r || r->state != LocalRequestState::pending) return false;
  r->state = to;
  r->updated_ms = clock_.now_ms();
  txn.put(requests_, id, r->to_json().dump());
  return true;
}

}  // namespace relay::node::introductions
