#pragma once
// A local introduction as the candidate sees it: a member of this node spent a credit to ask
// for an introduction to one of this node's candidates. The candidate decides on their
// management page with the company, the position and the match's reasons in front of them;
// nothing about them reaches the member until they accept (APPI Art. 27).
//
// Database: local_requests  introduction id -> {introduction, candidate, company, member,
//             title, employment_type, kind, reasons: [{feature, ja, en, points}], state,
//             created_ms, updated_ms}
//           candidate_local_requests  candidate "/" introduction id -> ""
// The record holds no personal data (the candidate is an id; the company and title are the
// member's own text). States: pending -> accepted | declined | withdrawn | expired.
//
// Threads: writing methods only inside Writer requests; reads with any txn.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "node/common/clock.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::introductions {

enum class LocalRequestState { pending, accepted, declined, withdrawn, expired };
std::string_view to_string(LocalRequestState s);

struct LocalRequest {
  std::string introduction;
  std::string candidate;
  std::string member;
  std::string company;
  std::string title;
  std::string employment_type;  // EmploymentType code
  nlohmann::json reasons = nlohmann::json::array();
  LocalRequestState state = LocalRequestState::pending;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;

  nlohmann::json to_json() const;
  static LocalRequest from_json(const nlohmann::json& j);
};

class LocalRequests {
 public:
  LocalRequests(storage::Environment& env, const common::Clock& clock);

  void create(storage::WriteTxn& txn, LocalRequest request);
  std::optional<LocalRequest> find(const storage::Txn& txn, const std::string& introduction) const;
  // Every request about the candidate, oldest first.
  std::vector<LocalRequest> for_candidate(const storage::Txn& txn,
                                          const std::string& candidate) const;
  // Moves the request to `to` (from pending only); false if it was not pending.
  bool settle(storage::WriteTxn& txn, const std::string& introduction, LocalRequestState to);

 private:
  const common::Clock& clock_;
  storage::Database requests_;
  storage::Database by_candidate_;
};

}  // namespace relay::node::introductions
