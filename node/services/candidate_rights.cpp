#include "node/services/candidate_rights.hpp"

#include "node/storage/txn.hpp"
#include "protocol/event.hpp"

namespace relay::node::services {

using common::fail;

CandidateRights::CandidateRights(storage::Environment& env, storage::Writer& writer,
                                 candidates::Store& candidates, ledger::Ledger& ledger,
                                 const members::Registry& members,
                                 const referrals::Referrals& referrals,
                                 federation::HandoffHolder& holder, mail::Mailer& mailer,
                                 CandidateChanges& changes, Introducing& introducing,
                                 const common::Clock& clock, Settings settings)
    : env_(env),
      writer_(writer),
      candidates_(candidates),
      ledger_(ledger),
      members_(members),
      referrals_(referrals),
      holder_(holder),
      mailer_(mailer),
      changes_(changes),
      introducing_(introducing),
      clock_(clock),
      settings_(std::move(settings)) {}

std::optional<CandidateRights::Managed> CandidateRights::managed(const storage::Txn& txn,
                                                                 const std::string& token) const {
  auto record = candidates_.find_managed(txn, token);
  if (!record || record->status == candidates::Status::erased) return std::nullopt;
  return Managed{std::move(*record)};
}

// g++ 12 warns that moving the variant into the Result may destroy the inactive ErasureView's
// vector uninitialised (a known false positive of -Wmaybe-uninitialized with std::variant,
// GCC bug 105562 and kin); it appeared once CandidateRecord grew typed members.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
common::Result<CandidateView, ManageError> CandidateRights::view(const std::string& token) const {
  auto txn = env_.begin_read();
  if (auto m = managed(txn, token)) {
    ManagementView v;
    v.opened = candidates_.open(m->record);
    v.pending_requests = holder_.pending_for(txn, m->record.id);
    for (auto& r : introducing_.requests_for(txn, m->record.id)) {
      if (r.state == introductions::LocalRequestState::pending) v.local_requests.push_back(r);
      if (r.state == introductions::LocalRequestState::accepted) v.local_recipients.push_back(r);
    }
    v.record = std::move(m->record);
    return CandidateView{std::move(v)};
  }
  // After erasure the management link shows which recipients have confirmed their erasure.
  auto record = candidates_.find_managed(txn, token);
  if (!record || record->status != candidates::Status::erased) return fail(ManageError::not_found);
  return CandidateView{ErasureView{record->erased_ms(), federation::Erasures::status(*record)}};
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

common::Result<common::Done, ManageError> CandidateRights::change_consent(const std::string& token,
                                                                          ConsentChoice choice) {
  return update_consent(token, [&](candidates::CandidateRecord& r) {
    auto& c = r.consent;
    c.region = choice.region;
    c.peers = choice.peers;
    c.stats = choice.stats;
    c.version = settings_.consent_version;  // the text shown with the choice
    // Consenting again ends the withdrawal: later disclosures are not asked to be deleted.
    if (c.region || c.peers || c.stats) r.clear_withdrawn();
  });
}

// The consent version stays the one agreed to: withdrawing agrees to nothing new. Every node
// that received the candidate's data is asked to delete it (CandidateChanges, Erasures).
common::Result<common::Done, ManageError> CandidateRights::withdraw(const std::string& token) {
  return update_consent(token, [&](candidates::CandidateRecord& r) {
    r.consent.region = r.consent.peers = r.consent.stats = false;
    r.mark_withdrawn(clock_.now_ms());
  });
}

common::Result<common::Done, ManageError> CandidateRights::update_consent(
    const std::string& token, const std::function<void(candidates::CandidateRecord&)>& change) {
  bool found = writer_.submit_wait([&](storage::WriteTxn& txn) {
    auto m = managed(txn, token);
    if (!m) return false;
    change(m->record);
    m->record.consent.at_ms = clock_.now_ms();
    candidates_.save(txn, m->record);
    changes_.changed(txn, m->record);
    return true;
  });
  if (!found) return fail(ManageError::not_found);
  return common::Done{};
}

common::Result<common::Done, ManageError> CandidateRights::update_details(
    const std::string& token, const std::string& name, const std::string& phone,
    const candidates::Profile& profile) {
  bool found = writer_.submit_wait([&](storage::WriteTxn& txn) {
    auto m = managed(txn, token);
    if (!m) return false;
    auto opened = candidates_.open(m->record);
    if (!opened) return false;
    opened->personal.name = name;
    opened->personal.phone = phone;
    candidates_.update_data(txn, m->record, opened->personal, profile);
    changes_.changed(txn, m->record);
    return true;
  });
  if (!found) return fail(ManageError::not_found);
  return common::Done{};
}

std::optional<std::string> CandidateRights::candidate_id(const std::string& token) const {
  auto txn = env_.begin_read();
  if (auto m = managed(txn, token)) return m->record.id;
  return std::nullopt;
}

federation::DecideResult CandidateRights::answer_request(const std::string& token,
                                                         const std::string& request_id,
                                                         federation::Decision decision) {
  if (request_id.rfind("i_", 0) == 0) {  // a local introduction (introductions/)
    auto candidate = candidate_id(token);
    if (!candidate) return federation::DecideResult::not_found;
    switch (introducing_.answer(*candidate, request_id, decision == federation::Decision::accept)) {
      case AnswerResult::accepted:
        return federation::DecideResult::accepted;
      case AnswerResult::declined:
        return federation::DecideResult::declined;
      case AnswerResult::not_pending:
        return federation::DecideResult::not_pending;
      case AnswerResult::not_circulating:
        return federation::DecideResult::not_circulating;
      default:
        return federation::DecideResult::not_found;
    }
  }
  return writer_.submit_wait([&](storage::WriteTxn& txn) {
    auto m = managed(txn, token);
    if (!m) return federation::DecideResult::not_found;
    return holder_.decide(txn, m->record.id, request_id, decision);
  });
}

common::Result<common::Done, ManageError> CandidateRights::report_found_work(
    const std::string& token, const std::string& through_member) {
  auto candidate = candidate_id(token);
  if (!candidate || !introducing_.report_found_work(*candidate, through_member))
    return fail(ManageError::not_found);
  return common::Done{};
}

common::Result<CandidateExport, ManageError> CandidateRights::export_data(
    const std::string& token) const {
  auto txn = env_.begin_read();
  auto m = managed(txn, token);
  if (!m) return fail(ManageError::not_found);
  CandidateExport out;
  out.opened = candidates_.open(m->record);
  for (const auto& member : members_.list(txn))
    if (auto ref = referrals_.for_person(txn, member.id, m->record.pseudonym))
      out.referrals.push_back({member.name, ref->status, ref->created_ms});
  out.record = std::move(m->record);
  return out;
}

common::Result<common::Done, ManageError> CandidateRights::replace_link(const std::string& token) {
  bool replaced = writer_.submit_wait([&](storage::WriteTxn& txn) {
    auto m = managed(txn, token);
    if (!m) return false;
    auto& record = m->record;
    candidates_.replace_management_link(txn, record);
    // No address to send the new link to (the key is gone): keep the link that works.
    if (!candidates_.mail_management_link(txn, record, settings_.public_url, settings_.mail_from,
                                          candidates::link_replaced_mail))
      throw storage::Rollback<bool>{false};
    candidates_.save(txn, record);
    return true;
  });
  if (!replaced) return fail(ManageError::not_found);
  return common::Done{};
}

common::Result<common::Done, ManageError> CandidateRights::erase(const std::string& token) {
  // nullopt: nothing to erase; otherwise the candidate and the spool files to discard after
  // the commit.
  using Erased = std::pair<std::string, std::vector<std::string>>;
  auto spool = writer_.submit_wait([&](storage::WriteTxn& txn) -> std::optional<Erased> {
    auto m = managed(txn, token);
    if (!m) return std::nullopt;
    auto& record = m->record;
    auto files = candidates_.erase(txn, record);
    ledger_.append(txn, protocol::candidate_erased(ledger_.pseudonym("erased", record.pseudonym)));
    changes_.changed(txn, record);
    // A record_link names the tombstone as it is; an older link's entry went with erasure.
    if (!candidates::Store::record_link_id(token))
      candidates_.bind_token(txn, token, record.id, "erased");
    return Erased{record.id, std::move(files)};
  });
  if (!spool) return fail(ManageError::not_found);
  // Only after the commit: a spool file removed before it could outlive a failed erasure.
  // The sweep also finds files a crash left spooled but unrecorded (named by the candidate).
  for (const auto& id : spool->second) mailer_.discard(id);
  mailer_.sweep(spool->first + "-");
  return common::Done{};
}

std::size_t CandidateRights::erase_again(const std::vector<std::string>& candidate_ids) {
  std::size_t erased = 0;
  for (const auto& id : candidate_ids) {
    bool done = writer_.submit_wait([&](storage::WriteTxn& txn) {
      auto record = candidates_.find(txn, id);
      if (!record || record->status == candidates::Status::erased) return false;
      candidates_.erase(txn, *record);
      if (record->origin != "local") return true;  // received: the handoff stays as it was
      ledger_.append(txn,
                     protocol::candidate_erased(ledger_.pseudonym("erased", record->pseudonym)));
      changes_.changed(txn, *record);
      return true;
    });
    if (!done) continue;
    mailer_.sweep(id + "-");
    ++erased;
  }
  return erased;
}

}  // namespace relay::node::services
