#pragma once
// A local candidate's rights over their data, exercised through the private management link
// (a capability token): see what is held and who received it, change or withdraw consent,
// answer an introduction request from another node, export everything, and erase. Each method
// owns its transaction (one read txn or one Writer request) and returns a typed outcome;
// what follows from a change (profile circulation, stopped handoffs, erasure requests to
// recipients) runs in the same txn through CandidateChanges, and goes out when the commit
// hook wakes the sender.
//
// Invariant: a management token of an erased candidate manages nothing; it only shows the
// erasure's progress (ErasureView). Threads: any.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "node/candidates/candidate_store.hpp"
#include "node/common/clock.hpp"
#include "node/common/result.hpp"
#include "node/federation/erasure.hpp"
#include "node/federation/handoff_holder.hpp"
#include "node/ledger/ledger.hpp"
#include "node/mail/mailer.hpp"
#include "node/members/member.hpp"
#include "node/referrals/referral.hpp"
#include "node/services/candidate_changes.hpp"
#include "node/services/introducing.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/writer.hpp"

namespace relay::node::services {

// The token manages no candidate (unknown, or erased and then not an erasure-status token).
enum class ManageError { not_found };

// What the management page shows.
struct ManagementView {
  candidates::CandidateRecord record;
  std::optional<candidates::Opened> opened;
  std::vector<federation::IncomingRequest> pending_requests;
  // Local introductions (a member of this node): pending ones to answer, and accepted ones
  // (recipients of the candidate's data on this node).
  std::vector<introductions::LocalRequest> local_requests;
  std::vector<introductions::LocalRequest> local_recipients;
};

// What the management link shows after erasure.
struct ErasureView {
  std::int64_t erased_ms = 0;
  std::vector<federation::ErasureStatus> recipients;
};

using CandidateView = std::variant<ManagementView, ErasureView>;

struct ConsentChoice {
  bool region = false;
  bool peers = false;
  bool stats = false;
};

// Everything held about the candidate, for the export (the handler formats it).
struct CandidateExport {
  candidates::CandidateRecord record;
  std::optional<candidates::Opened> opened;
  struct ReferralLine {
    std::string company;
    referrals::ReferralStatus status = referrals::ReferralStatus::pending;
    std::int64_t created_ms = 0;
  };
  std::vector<ReferralLine> referrals;
};

class CandidateRights {
 public:
  struct Settings {
    std::string consent_version;  // of the consent text the pages show
    std::string public_url;       // no trailing slash: the links in mails
    std::string mail_from;
  };

  CandidateRights(storage::Environment& env, storage::Writer& writer, candidates::Store& candidates,
                  ledger::Ledger& ledger, const members::Registry& members,
                  const referrals::Referrals& referrals, federation::HandoffHolder& holder,
                  mail::Mailer& mailer, CandidateChanges& changes, Introducing& introducing,
                  const common::Clock& clock, Settings settings);

  common::Result<CandidateView, ManageError> view(const std::string& token) const;
  common::Result<common::Done, ManageError> change_consent(const std::string& token,
                                                           ConsentChoice choice);
  // Replaces the name, phone and profile (the email identifies the person and stays); the
  // profile circulates again as consented.
  common::Result<common::Done, ManageError> update_details(const std::string& token,
                                                           const std::string& name,
                                                           const std::string& phone,
                                                           const candidates::Profile& profile);
  // Withdraws every consent (the consent version stays the one agreed to).
  common::Result<common::Done, ManageError> withdraw(const std::string& token);
  // DecideResult::not_found also when the token manages no candidate.
  federation::DecideResult answer_request(const std::string& token, const std::string& request_id,
                                          federation::Decision decision);
  common::Result<CandidateExport, ManageError> export_data(const std::string& token) const;
  // "I found work" (再雇用), optionally through a member: a ledger event without personal data.
  common::Result<common::Done, ManageError> report_found_work(const std::string& token,
                                                              const std::string& through_member);
  // Replaces the management link (a leaked link stops working): the new one is mailed to the
  // address the record holds, never shown, so whoever held the old link loses access. No cap
  // is needed: after the first replacement the caller's link is dead.
  common::Result<common::Done, ManageError> replace_link(const std::string& token);
  // Erases the candidate (crypto-shredding) in one txn: the record is shredded, the erasure
  // recorded in the ledger, every recipient asked to erase too, and the management token
  // rebound to show the erasure's progress. After the commit, mail already spooled to them
  // is discarded.
  common::Result<common::Done, ManageError> erase(const std::string& token);
  // Erases again candidates whose erasure is in the erasure journal but not in this data
  // (a backup from before it was restored: candidates/key_slots.hpp), each as erase() does
  // but with no token; at start, before serving. Returns how many.
  std::size_t erase_again(const std::vector<std::string>& candidate_ids);

 private:
  struct Managed {
    candidates::CandidateRecord record;
  };
  std::optional<Managed> managed(const storage::Txn& txn, const std::string& token) const;
  // The id of the candidate the management token belongs to (not erased).
  std::optional<std::string> candidate_id(const std::string& token) const;
  common::Result<common::Done, ManageError> update_consent(
      const std::string& token, const std::function<void(candidates::CandidateRecord&)>& change);

  storage::Environment& env_;
  storage::Writer& writer_;
  candidates::Store& candidates_;
  ledger::Ledger& ledger_;
  const members::Registry& members_;
  const referrals::Referrals& referrals_;
  federation::HandoffHolder& holder_;
  mail::Mailer& mailer_;
  CandidateChanges& changes_;
  Introducing& introducing_;
  const common::Clock& clock_;
  Settings settings_;
};

}  // namespace relay::node::services
