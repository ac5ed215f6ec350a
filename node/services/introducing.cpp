#include "node/services/introducing.hpp"

#include <algorithm>
#include <map>

#include "crypto/random.hpp"
#include "node/candidates/candidate_mail.hpp"
#include "node/common/public_links.hpp"
#include "node/federation/pool_search.hpp"
#include "node/services/alumni.hpp"
#include "node/storage/txn.hpp"
#include "protocol/event.hpp"

namespace relay::node::services {

using introductions::Introduction;
using introductions::IntroductionError;
using introductions::IntroductionState;
using introductions::LocalRequestState;
using introductions::Requisition;
using introductions::RequisitionError;

namespace {

constexpr std::size_t kMaxPool = 200'000;

matching::AnonymisedProfile to_profile(const std::string& node, const std::string& ref,
                                       const nlohmann::json& j) {
  matching::AnonymisedProfile p;
  p.ref = ref;
  p.holder = node;
  p.job_category = j.value("job_category", "");
  p.prefecture = j.value("prefecture", "");
  p.experience_band = j.value("experience_band", "");
  p.age_band = j.value("age_band", "");
  if (j.contains("skills") && j["skills"].is_array())
    for (const auto& s : j["skills"])
      if (s.is_string()) p.skills.push_back(s.get<std::string>());
  if (j.contains("desired_roles") && j["desired_roles"].is_array())
    for (const auto& s : j["desired_roles"])
      if (s.is_string()) p.desired_roles.push_back(s.get<std::string>());
  return p;
}

// The five circulated fields, as the pool lists them.
nlohmann::json anonymised_json(const matching::AnonymisedProfile& p) {
  return {{"job_category", p.job_category},
          {"skills", p.skills},
          {"prefecture", p.prefecture},
          {"age_band", p.age_band},
          {"experience_band", p.experience_band}};
}

}  // namespace

nlohmann::json MatchView::to_json() const {
  nlohmann::json j = {{"node", node},         {"region", region},
                      {"ref", ref},           {"profile", profile},
                      {"score", match.score}, {"reasons", match.to_json().at("reasons")}};
  if (success) j["success"] = success->to_json();
  return j;
}

Introducing::Introducing(
    storage::Environment& env, storage::Writer& writer, const config::Reference& reference,
    ledger::Ledger& ledger, members::Registry& members, candidates::Store& candidates,
    referrals::Referrals& referrals, referrals::CreditAccounts& credits,
    introductions::Requisitions& requisitions, introductions::Introductions& introductions,
    introductions::LocalRequests& local_requests, federation::ProfileExchange& exchange,
    federation::PoolIndex& pool, federation::Handoffs& handoffs, SuccessForecast& success,
    const common::Clock& clock, IntroducingSettings settings, StatisticsFeed* statistics)
    : env_(env),
      writer_(writer),
      reference_(reference),
      ledger_(ledger),
      members_(members),
      candidates_(candidates),
      referrals_(referrals),
      credits_(credits),
      requisitions_(requisitions),
      introductions_(introductions),
      local_requests_(local_requests),
      exchange_(exchange),
      pool_(pool),
      handoffs_(handoffs),
      success_(success),
      clock_(clock),
      settings_(std::move(settings)),
      scorer_(reference),
      links_(env.database("introduction_handoffs")),
      attribution_(env, ledger, members, referrals),
      statistics_(statistics) {}

// --- requisitions ---

common::Result<Requisition, RequisitionError> Introducing::open_requisition(
    const members::Member& member, const introductions::RequisitionInput& input) {
  return writer_.submit_wait(
      [&](storage::WriteTxn& txn) { return requisitions_.open(txn, member.id, input); });
}

common::Result<Requisition, RequisitionError> Introducing::update_requisition(
    const members::Member& member, const std::string& id,
    const introductions::RequisitionInput& input) {
  return writer_.submit_wait(
      [&](storage::WriteTxn& txn) { return requisitions_.update(txn, member.id, id, input); });
}

common::Result<Requisition, RequisitionError> Introducing::close_requisition(
    const members::Member& member, const std::string& id) {
  return writer_.submit_wait(
      [&](storage::WriteTxn& txn) { return requisitions_.close(txn, member.id, id); });
}

std::optional<introductions::RequisitionPage> Introducing::requisitions(
    const members::Member& member, std::size_t limit, const std::string& after,
    bool newest_first) const {
  auto txn = env_.begin_read();
  return requisitions_.page(txn, member.id, limit, after, newest_first);
}

std::optional<Requisition> Introducing::requisition(const members::Member& member,
                                                    const std::string& id) const {
  auto txn = env_.begin_read();
  return requisitions_.get(txn, member.id, id);
}

common::Result<std::vector<MatchView>, RequisitionError> Introducing::matches(
    const members::Member& member, const std::string& requisition_id, std::size_t limit) const {
  auto txn = env_.begin_read();
  auto req = requisitions_.get(txn, member.id, requisition_id);
  if (!req)
    return common::fail(
        RequisitionError{RequisitionError::Code::not_found, "", "no such requisition"});
  // Ranked straight from the in-memory pool index (federation/pool_index.hpp): no record read,
  // no key opened, and a profile is copied only while it is among the best `limit` so far.
  // The member's own alumni (退職者) score the re-hire reason (matching/README.md).
  const auto alumni = alumni_refs(
      txn, referrals_, [this](const std::string& id) { return exchange_.ref_of(id); }, member.id);
  const auto criteria = req->criteria();
  matching::TopMatches top(scorer_, criteria, limit);
  std::size_t seen = 0;
  pool_.for_each([&](const federation::PoolProfileView& v) {
    const bool alumnus = v.node == settings_.self_name && alumni.count(std::string(v.ref));
    top.offer(v.features(alumnus), v.region);
    return ++seen < kMaxPool;
  });
  const auto model = success_.current();  // null: not trained, no estimate shown
  std::vector<MatchView> out;
  for (auto& r : top.take()) {
    MatchView view{r.profile.holder,   r.note,      r.profile.ref, anonymised_json(r.profile),
                   std::move(r.match), std::nullopt};
    if (model) view.success = model->predict(matching::pair_facts(view.match, criteria, r.profile));
    out.push_back(std::move(view));
  }
  // The estimate breaks ties of the score among these matches; it never outranks a score.
  if (model)
    std::stable_sort(out.begin(), out.end(), [](const MatchView& a, const MatchView& b) {
      if (a.match.score != b.match.score) return a.match.score > b.match.score;
      return a.success->probability > b.success->probability;
    });
  return out;
}

// --- introductions ---

std::optional<matching::PairFacts> Introducing::pair_facts(
    const storage::Txn& txn, const members::Member& member, const Requisition& requisition,
    const std::string& node, const std::string& ref, const candidates::Profile* local) const {
  std::vector<matching::AnonymisedProfile> one;
  if (local) {
    one.push_back(matching::from_circulated(*local, ref, settings_.self_name));
  } else if (auto entry = exchange_.pool_entry(txn, node, ref)) {
    one.push_back(to_profile(node, ref, entry->profile));
  } else {
    return std::nullopt;
  }
  // As matches() sees the pair: the member's own alumni score the re-hire reason.
  mark_alumni(
      txn, referrals_, [this](const std::string& id) { return exchange_.ref_of(id); }, member.id,
      settings_.self_name, one);
  const auto criteria = requisition.criteria();
  return matching::pair_facts(scorer_.score(criteria, one.front()), criteria, one.front());
}

std::optional<std::string> Introducing::candidate_of(const storage::Txn& txn,
                                                     const Introduction& intro) const {
  if (intro.kind != introductions::IntroductionKind::local) return std::nullopt;
  if (auto r = local_requests_.find(txn, intro.id)) return r->candidate;
  return std::nullopt;
}

std::function<common::Result<Introduction, IntroduceError>()> Introducing::begin_introduce(
    const members::Member& member, const std::string& requisition_id, const std::string& node,
    const std::string& ref, std::function<void()> ready) {
  using R = common::Result<Introduction, IntroduceError>;
  const bool local = node == settings_.self_name;
  const std::string holder = local ? "local" : node;
  auto refused = [&ready](IntroduceError e) -> std::function<R()> {
    if (ready) ready();
    return [e] { return R(common::fail(e)); };
  };
  // The local candidate behind ref (ProfileExchange's local_refs index).
  std::optional<candidates::CandidateRecord> candidate;
  std::optional<candidates::Opened> opened;
  std::optional<matching::Match> match;
  std::optional<matching::PairFacts> facts;
  {
    auto txn = env_.begin_read();
    auto req = requisitions_.get(txn, member.id, requisition_id);
    if (!req) return refused(IntroduceError::requisition_not_found);
    if (!req->open) return refused(IntroduceError::requisition_closed);
    if (local) {
      if (auto id = exchange_.local_candidate_for(txn, ref)) candidate = candidates_.find(txn, *id);
      if (!candidate || !candidate->in_regional_pool()) return refused(IntroduceError::not_in_pool);
      opened = candidates_.open(*candidate);
      if (opened)
        match = scorer_.score(req->criteria(), matching::from_circulated(opened->profile, ref));
    }
    // Checked again in the Writer request (Introductions::create), where it is decisive.
    if (introductions_.live_for(txn, member.id, holder, ref))
      return refused(IntroduceError::already_introduced);
    // Opened once, for the match above and these facts (a local candidate that does not
    // open has neither).
    if (!local || opened)
      facts = pair_facts(txn, member, *req, node, ref, opened ? &opened->profile : nullptr);
  }
  auto request = [this, member, requisition_id, node, ref, local, holder,
                  candidate = std::move(candidate), opened = std::move(opened),
                  match = std::move(match), facts = std::move(facts)](storage::WriteTxn& txn) -> R {
    auto req = requisitions_.get(txn, member.id, requisition_id);
    if (!req) return common::fail(IntroduceError::requisition_not_found);
    auto created = introductions_.create(txn, *req, holder, ref);
    if (!created) {
      auto code = created.error().code;
      throw storage::Rollback<R>{common::fail(
          code == IntroductionError::Code::no_credit   ? IntroduceError::no_credit
          : code == IntroductionError::Code::duplicate ? IntroduceError::already_introduced
                                                       : IntroduceError::requisition_closed)};
    }
    auto intro = created.value();
    // What the pair was when introduced: the success model learns from it once the outcome is in.
    if (facts) success_.record(txn, intro.id, *facts);
    if (local) {
      // Decided here, on the committed record: the candidate may have left the pool since.
      auto record = candidates_.find(txn, candidate->id);
      if (!record || !record->in_regional_pool())
        throw storage::Rollback<R>{common::fail(IntroduceError::not_in_pool)};
      // The data opened for the match serves while the record holds the same sealed text
      // (a new nonce with every save): the record is not opened a second time for the mail.
      // A changed record that no longer opens (its key erased) is not in the pool.
      std::optional<candidates::Opened> reopened;
      const candidates::Opened* data = nullptr;
      if (opened && record->sealed_data() == candidate->sealed_data())
        data = &*opened;
      else if ((reopened = candidates_.open(*record)))
        data = &*reopened;
      if (!data) throw storage::Rollback<R>{common::fail(IntroduceError::not_in_pool)};
      introductions::LocalRequest request;
      request.introduction = intro.id;
      request.candidate = record->id;
      request.member = member.id;
      request.company = member.name;
      request.title = req->title;
      request.employment_type = std::string(introductions::to_string(req->employment_type));
      request.reasons = match ? match->to_json().at("reasons") : nlohmann::json::array();
      local_requests_.create(txn, request);
      if (statistics_) statistics_->introduced(txn, record->id, member.id);
      // The candidate's management link: a record_link, so the record does not change.
      auto link =
          settings_.public_url + common::management_path(candidates_.management_link(*record));
      auto text = candidates::introduction_request_mail(candidates::lang_named(record->lang),
                                                        member.name, req->title, link);
      candidates_.queue_mail(txn, *record,
                             {settings_.mail_from, data->personal.email, text.subject, text.body});
      return intro;
    }
    auto handoff = handoffs_.request(txn, member, node, ref);
    if (handoff.error == federation::RequestError::not_a_peer)
      throw storage::Rollback<R>{common::fail(IntroduceError::not_a_peer)};
    if (handoff.error != federation::RequestError::none || !handoff.handoff)
      throw storage::Rollback<R>{common::fail(IntroduceError::not_in_pool)};
    if (!handoff.created)
      throw storage::Rollback<R>{common::fail(IntroduceError::already_introduced)};
    txn.put(links_, "h/" + handoff.handoff->id, intro.id);
    txn.put(links_, "i/" + intro.id, handoff.handoff->id);
    return intro;
  };
  auto queued = writer_.submit(std::move(request), std::move(ready)).share();
  return [queued] { return queued.get(); };
}

std::optional<introductions::IntroductionPage> Introducing::introductions(
    const members::Member& member, std::size_t limit, const std::string& after,
    bool newest_first) const {
  auto txn = env_.begin_read();
  return introductions_.page(txn, member.id, limit, after, newest_first);
}

std::optional<nlohmann::json> Introducing::introduction(const members::Member& member,
                                                        const std::string& id) const {
  auto txn = env_.begin_read();
  auto intro = introductions_.get(txn, id);
  if (!intro || intro->member != member.id) return std::nullopt;
  auto j = intro->to_json();
  if (auto req = requisitions_.get(txn, intro->requisition)) j["requisition_title"] = req->title;
  if (intro->state != IntroductionState::delivered) return j;
  if (auto candidate = candidate_of(txn, *intro)) {
    auto record = candidates_.find(txn, *candidate);
    if (auto opened = record ? candidates_.open(*record) : std::nullopt) {
      j["personal"] = opened->personal.to_json();
      j["profile"] = opened->profile.to_json();
    }
  } else if (auto handoff_id = txn.get(links_, "i/" + intro->id)) {
    j["handoff"] = *handoff_id;
    if (auto h = handoffs_.find(txn, *handoff_id))
      if (auto data = handoffs_.delivered(txn, *h)) {
        j["personal"] = data->personal.to_json();
        j["profile"] = data->profile.to_json();
      }
  }
  return j;
}

common::Result<Introduction, IntroductionError> Introducing::report_outcome(
    const members::Member& member, const std::string& id, introductions::Outcome outcome,
    const std::string& reason) {
  using R = common::Result<Introduction, IntroductionError>;
  auto result = writer_.submit_wait([&](storage::WriteTxn& txn) -> R {
    auto r = introductions_.report_outcome(txn, member.id, id, outcome, reason);
    if (r && (outcome == introductions::Outcome::hired ||
              outcome == introductions::Outcome::retained_6m))
      attribute_hire(txn, r.value(), outcome);
    if (r && statistics_ && outcome == introductions::Outcome::hired)
      statistics_->member_hire(txn, member.id, r.value().requested_ms);
    if (r && statistics_ && outcome == introductions::Outcome::retained_6m)
      statistics_->member_retained(txn, member.id);
    if (r && outcome == introductions::Outcome::hired)
      if (auto handoff_id = txn.get(links_, "i/" + id))
        handoffs_.report_hire(txn, member.id, *handoff_id);
    // A peer introduction's outcome travels back to the holding node in this same request.
    if (r && peer_outcome_)
      if (auto handoff_id = txn.get(links_, "i/" + id))
        if (auto handoff = handoffs_.find(txn, *handoff_id))
          peer_outcome_(txn, *handoff, r.value().outcomes.back());
    return r;
  });
  if (result && outcome_recorded_) outcome_recorded_();
  return result;
}

// The members whose rejection referrals brought the candidate in are credited with impact
// (a count, not a credit). Only local candidates are attributed here: a peer's candidate was
// referred at the peer, where OutcomeRelay attributes the outcome this node sends back.
void Introducing::attribute_hire(storage::WriteTxn& txn, const Introduction& intro,
                                 introductions::Outcome outcome) {
  auto candidate = candidate_of(txn, intro);
  if (!candidate) return;
  auto record = candidates_.find(txn, *candidate);
  if (!record) return;
  attribution_.attribute(txn, {record->pseudonym, intro.id, intro.id, intro.member,
                               outcome == introductions::Outcome::retained_6m});
  if (!statistics_) return;
  if (outcome == introductions::Outcome::retained_6m)
    statistics_->retained(txn, record->id, intro.member);
  else
    statistics_->hired(txn, record->id, intro.member);
}

std::vector<introductions::DueItem> Introducing::due(const members::Member& member) const {
  auto txn = env_.begin_read();
  return introductions_.due(txn, member.id, clock_.now_ms());
}

Impact Introducing::impact(const members::Member& member) const {
  auto txn = env_.begin_read();
  return attribution_.impact(txn, member.id);
}

common::Result<referrals::Account, GrantError> Introducing::grant(const std::string& member_id,
                                                                  std::uint32_t credits,
                                                                  const std::string& reason) {
  using R = common::Result<referrals::Account, GrantError>;
  return writer_.submit_wait([&](storage::WriteTxn& txn) -> R {
    if (!members_.find(txn, member_id)) return common::fail(GrantError::member_not_found);
    auto r = credits_.grant(txn, member_id, credits, reason);
    if (!r) return common::fail(GrantError::invalid);
    return r.value();
  });
}

// --- the candidate ---

std::vector<introductions::LocalRequest> Introducing::requests_for(
    const storage::Txn& txn, const std::string& candidate_id) const {
  return local_requests_.for_candidate(txn, candidate_id);
}

AnswerResult Introducing::answer(const std::string& candidate_id,
                                 const std::string& introduction_id, bool accept) {
  return writer_.submit_wait([&](storage::WriteTxn& txn) {
    auto request = local_requests_.find(txn, introduction_id);
    if (!request || request->candidate != candidate_id) return AnswerResult::not_found;
    if (request->state != LocalRequestState::pending) return AnswerResult::not_pending;
    if (!accept) {
      if (!introductions_.decline(txn, introduction_id)) return AnswerResult::not_pending;
      local_requests_.settle(txn, introduction_id, LocalRequestState::declined);
      return AnswerResult::declined;
    }
    auto record = candidates_.find(txn, candidate_id);
    if (!record || !record->in_regional_pool()) return AnswerResult::not_circulating;
    // On this node the member reads the data at once: accepted and delivered in one txn.
    if (!introductions_.accept(txn, introduction_id) ||
        !introductions_.deliver(txn, introduction_id))
      throw storage::Rollback<AnswerResult>{AnswerResult::not_pending};  // expired meanwhile
    local_requests_.settle(txn, introduction_id, LocalRequestState::accepted);
    return AnswerResult::accepted;
  });
}

bool Introducing::report_found_work(const std::string& candidate_id,
                                    const std::string& through_member) {
  return writer_.submit_wait([&](storage::WriteTxn& txn) {
    auto record = candidates_.find(txn, candidate_id);
    if (!record || record->status == candidates::Status::erased) return false;
    std::string through;
    if (!through_member.empty() && members_.find(txn, through_member)) through = through_member;
    // Scoped like the member's referral events (or to the report alone): links no one.
    ledger_.append(txn,
                   protocol::reemployment_reported(
                       ledger_.pseudonym(through.empty() ? "reemployment" : "member/" + through,
                                         record->pseudonym),
                       through));
    if (statistics_ && record->origin == "local") statistics_->found_work(txn, record->id, through);
    return true;
  });
}

void Introducing::handoff_changed(storage::WriteTxn& txn, const federation::Handoff& h) {
  auto intro = txn.get(links_, "h/" + h.id);
  if (!intro) return;
  using S = federation::HandoffState;
  // A transition the introduction no longer allows (it expired and was refunded before the
  // peer's late message) is ignored: the ledger already explains the credit.
  if (h.state == S::delivered) {
    if (introductions_.accept(txn, *intro)) (void)introductions_.deliver(txn, *intro);
  } else if (h.state == S::declined) {
    (void)introductions_.decline(txn, *intro);
  } else if (h.state == S::withdrawn) {
    (void)introductions_.withdraw(txn, *intro);
  } else if (h.state == S::unavailable) {
    (void)introductions_.undelivered(txn, *intro);
  }
}

std::size_t Introducing::sweep() {
  return writer_.submit_wait([&](storage::WriteTxn& txn) {
    auto now = clock_.now_ms();
    auto expired = introductions_.expire(txn, now, introductions_.settings().answer_within);
    for (const auto& id : expired) local_requests_.settle(txn, id, LocalRequestState::expired);
    auto undelivered =
        introductions_.expire_undelivered(txn, now, introductions_.settings().deliver_within);
    return expired.size() + undelivered.size();
  });
}

}  // namespace relay::node::services
