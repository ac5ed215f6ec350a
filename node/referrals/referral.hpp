#pragma once
// Referrals: one per (member, person). A referral is created pending when a candidate submits
// the registration form behind a member's relay link, and becomes verified when the candidate
// confirms their email (double opt-in). It counts toward credits only if it is the member's
// first verified referral of that person (keyed pseudonym) and the member is active.
//
// Databases: referrals (id -> record), member_referrals (member "/" id -> ""),
// member_people (member "/" pseudonym -> referral id), single_links (digest of a single-use
// link token -> {member, application_id, job_category, used}).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "node/common/clock.hpp"
#include "node/identity/key_ring.hpp"
#include "node/storage/environment.hpp"

namespace relay::node::referrals {

struct Referral {
  std::string id;
  std::string member_id;
  std::string candidate_id;
  std::string pseudonym;
  std::string status = "pending";  // pending | verified
  bool counted = false;
  std::int64_t created_ms = 0;
  std::int64_t verified_ms = 0;
  std::string application_id;  // for single-use links from the ATS
  std::string job_category;

  // What the member sees: no candidate id or pseudonym, no personal data.
  nlohmann::json to_member_json() const;
};

// A single-use link handed to an ATS for one rejected application.
struct SingleUseLink {
  std::string digest;
  std::string member_id;
  std::string application_id;
  std::string job_category;
  bool used = false;
};

class Referrals {
 public:
  Referrals(storage::Environment& env, const identity::KeyRing& keys, const common::Clock& clock);

  // The member's referral of this person, if any.
  std::optional<Referral> for_person(const storage::Txn& txn, const std::string& member_id,
                                     const std::string& pseudonym) const;
  Referral create(storage::WriteTxn& txn, const std::string& member_id,
                  const std::string& candidate_id, const std::string& pseudonym,
                  const std::string& application_id, const std::string& job_category);
  std::optional<Referral> find(const storage::Txn& txn, const std::string& id) const;
  void save(storage::WriteTxn& txn, const Referral& r);
  std::vector<Referral> for_member(const storage::Txn& txn, const std::string& member_id) const;

  // Single-use links. The token is derived (keyed hash of member and application id), so an
  // ATS that retries gets the same link back; only its digest is stored.
  struct Issued {
    std::string token;
    bool used = false;
  };
  Issued issue_single_use(storage::WriteTxn& txn, const std::string& member_id,
                          const std::string& application_id, const std::string& job_category);
  std::optional<SingleUseLink> single_use(const storage::Txn& txn, std::string_view token) const;
  void mark_used(storage::WriteTxn& txn, const SingleUseLink& link);

 private:
  const identity::KeyRing& keys_;
  const common::Clock& clock_;
  storage::Database referrals_;
  storage::Database by_member_;
  storage::Database people_;
  storage::Database single_;
};

}  // namespace relay::node::referrals
