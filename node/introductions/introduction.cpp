#include "node/introductions/introduction.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"
#include "node/common/key_encoding.hpp"
#include "node/storage/index_marks.hpp"
#include "node/storage/index_page.hpp"
#include "protocol/event.hpp"

namespace relay::node::introductions {

namespace {

// Sizes first, so no (holder, ref) split of the same bytes can name another pair.
std::string pair_key(const std::string& member, const std::string& holder, const std::string& ref) {
  return common::be64(member.size()) + member + common::be64(holder.size()) + holder + ref;
}

constexpr std::array<std::string_view, 8> kStates{"requested", "accepted",   "delivered",
                                                  "declined",  "expired",    "withdrawn",
                                                  "erased",    "undelivered"};
constexpr std::array<std::string_view, 8> kOutcomes{"interview",    "offer",       "hired",
                                                    "not_hired",    "retained_3m", "retained_6m",
                                                    "retained_12m", "left"};
// Coarse reason codes for left / not_hired. Codes, never free text about a person.
constexpr std::array<std::string_view, 10> kReasons{
    "relocation",      "health", "family", "working_conditions", "pay", "fit", "contract_end",
    "position_filled", "skills", "other"};

constexpr std::int64_t kDayMs = 24LL * 60 * 60 * 1000;
constexpr std::int64_t kMonthMs = 30 * kDayMs;  // retention months are 30-day months

using Code = IntroductionError::Code;

common::Failure<IntroductionError> error(Code code, std::string message) {
  return common::fail(IntroductionError{code, std::move(message)});
}

template <std::size_t N>
std::size_t index_of(const std::array<std::string_view, N>& names, std::string_view s) {
  return static_cast<std::size_t>(std::find(names.begin(), names.end(), s) - names.begin());
}

// The months since the hire after which a retention outcome may be reported, or 0.
std::int64_t retention_months(Outcome o) {
  switch (o) {
    case Outcome::retained_3m:
      return 3;
    case Outcome::retained_6m:
      return 6;
    case Outcome::retained_12m:
      return 12;
    default:
      return 0;
  }
}

}  // namespace

std::string_view to_string(IntroductionState s) {
  return kStates[static_cast<std::size_t>(s)];
}
std::string_view to_string(IntroductionKind k) {
  return k == IntroductionKind::local ? "local" : "peer";
}
std::string_view to_string(Outcome o) {
  return kOutcomes[static_cast<std::size_t>(o)];
}

std::optional<Outcome> parse_outcome(std::string_view s) {
  auto i = index_of(kOutcomes, s);
  if (i == kOutcomes.size()) return std::nullopt;
  return static_cast<Outcome>(i);
}

bool is_outcome_reason(std::string_view code) {
  return index_of(kReasons, code) != kReasons.size();
}

std::string_view to_string(IntroductionError::Code c) {
  switch (c) {
    case Code::no_credit:
      return "no_credit";
    case Code::not_found:
      return "not_found";
    case Code::conflict:
      return "conflict";
    case Code::invalid:
      return "invalid";
    case Code::duplicate:
      return "duplicate";
  }
  return "invalid";
}

bool live(IntroductionState s) {
  return s == IntroductionState::requested || s == IntroductionState::accepted ||
         s == IntroductionState::delivered;
}

bool Introduction::has(Outcome o) const {
  return std::any_of(outcomes.begin(), outcomes.end(),
                     [o](const OutcomeRecord& r) { return r.outcome == o; });
}

nlohmann::json Introduction::to_json() const {
  nlohmann::json outs = nlohmann::json::array();
  for (const auto& o : outcomes)
    outs.push_back({{"outcome", to_string(o.outcome)}, {"reason", o.reason}, {"at_ms", o.at_ms}});
  return {{"id", id},
          {"member", member},
          {"requisition", requisition},
          {"holder", holder},
          {"candidate_ref", candidate_ref},
          {"kind", to_string(kind)},
          {"state", to_string(state)},
          {"outcomes", std::move(outs)},
          {"requested_ms", requested_ms},
          {"answer_due_ms", answer_due_ms},
          {"answered_ms", answered_ms},
          {"delivered_ms", delivered_ms},
          {"closed_ms", closed_ms},
          {"hired_ms", hired_ms}};
}

Introduction Introduction::from_json(const nlohmann::json& j) {
  Introduction i;
  i.id = j.at("id").get<std::string>();
  i.member = j.at("member").get<std::string>();
  i.requisition = j.at("requisition").get<std::string>();
  i.holder = j.at("holder").get<std::string>();
  i.candidate_ref = j.at("candidate_ref").get<std::string>();
  i.kind = j.at("kind") == "local" ? IntroductionKind::local : IntroductionKind::peer;
  i.state = static_cast<IntroductionState>(index_of(kStates, j.at("state").get<std::string>()));
  for (const auto& o : j.at("outcomes"))
    i.outcomes.push_back(
        {parse_outcome(o.at("outcome").get<std::string>()).value_or(Outcome::interview),
         o.at("reason").get<std::string>(), o.at("at_ms").get<std::int64_t>()});
  i.requested_ms = j.at("requested_ms").get<std::int64_t>();
  i.answer_due_ms = j.at("answer_due_ms").get<std::int64_t>();
  i.answered_ms = j.at("answered_ms").get<std::int64_t>();
  i.delivered_ms = j.at("delivered_ms").get<std::int64_t>();
  i.closed_ms = j.at("closed_ms").get<std::int64_t>();
  i.hired_ms = j.at("hired_ms").get<std::int64_t>();
  return i;
}

nlohmann::json DueItem::to_json() const {
  return {{"introduction", introduction},
          {"requisition", requisition},
          {"what", what},
          {"due_ms", due_ms}};
}

Introductions::Introductions(storage::Environment& env, ledger::Ledger& ledger,
                             referrals::CreditAccounts& credits, Requisitions& requisitions,
                             const common::Clock& clock, IntroductionSettings settings)
    : ledger_(ledger),
      credits_(credits),
      requisitions_(requisitions),
      clock_(clock),
      settings_(settings),
      introductions_(env.database("introductions")),
      old_by_member_(env.database("member_introductions")),
      by_time_(env.database("member_introductions_by_time")),
      by_pair_(env.database("introduction_pairs")),
      reporting_(env.database("introductions_reporting")),
      waiting_(env.database("introductions_waiting")),
      index_marks_(env.database(storage::kIndexMarks)) {}

namespace {

// An introduction's key in introductions_waiting: 'r' (requested, from requested_ms) or 'a'
// (a peer's accepted, from answered_ms), "/", be64 ms, id: the hourly sweeps read the due
// ones from the front.
std::string waiting_key(char what, std::int64_t since_ms, const std::string& id) {
  std::string key(1, what);
  key += '/';
  key += common::be64(static_cast<std::uint64_t>(std::max<std::int64_t>(0, since_ms)));
  key += id;
  return key;
}

// member "/" 8-byte big-endian requested_ms, then the id: a member's introductions in the order
// asked (requested_ms never changes, so the key is the one create() put).
std::string time_key(const Introduction& intro) {
  return intro.member + "/" +
         common::be64(static_cast<std::uint64_t>(std::max<std::int64_t>(0, intro.requested_ms))) +
         intro.id;
}

// Delivered, and its outcome or a retention check may still fall due (due()'s cases): no
// outcome yet, or hired and neither left nor kept 12 months (the checks come in order).
bool reporting(const Introduction& intro) {
  if (intro.state != IntroductionState::delivered) return false;
  if (!intro.has(Outcome::hired)) return !intro.has(Outcome::not_hired);
  return !intro.has(Outcome::left) && !intro.has(Outcome::retained_12m);
}

// Accepted by a peer's candidate and not delivered yet: undelivered after deliver_within.
bool waits_for_delivery(const Introduction& intro) {
  return intro.kind == IntroductionKind::peer && intro.state == IntroductionState::accepted;
}

}  // namespace

void Introductions::put(storage::WriteTxn& txn, const Introduction& intro) {
  txn.put(introductions_, intro.id, intro.to_json().dump());
  txn.put(by_time_, time_key(intro), "");
  // Only a delivered one has ever been reporting.
  if (reporting(intro))
    txn.put(reporting_, intro.member + "/" + intro.id, "");
  else if (intro.state == IntroductionState::delivered)
    txn.del(reporting_, intro.member + "/" + intro.id);
  index_waiting(txn, intro);
}

void Introductions::index_waiting(storage::WriteTxn& txn, const Introduction& intro) {
  // requested_ms never changes, and answered_ms not once accepted: each key is the one put
  // when the introduction entered that state.
  const auto requested = waiting_key('r', intro.requested_ms, intro.id);
  if (intro.state == IntroductionState::requested)
    txn.put(waiting_, requested, "");
  else
    txn.del(waiting_, requested);
  if (waits_for_delivery(intro))
    txn.put(waiting_, waiting_key('a', intro.answered_ms, intro.id), "");
  else if (intro.answered_ms > 0)
    txn.del(waiting_, waiting_key('a', intro.answered_ms, intro.id));
}

std::vector<std::string> Introductions::waiting_until(const storage::Txn& txn, char what,
                                                      std::int64_t until_ms) const {
  // Keys up to `until_ms` inclusive: from the first key of `what` to the first of the next
  // millisecond; the id follows the prefix and time.
  const auto first = waiting_key(what, 0, "");
  const auto end = waiting_key(what, until_ms + 1, "");
  std::vector<std::string> ids;
  txn.for_each_range(waiting_, first, end, [&](std::string_view key, std::string_view) {
    ids.emplace_back(key.substr(first.size()));
  });
  return ids;
}

common::Result<Introduction, IntroductionError> Introductions::create(
    storage::WriteTxn& txn, const std::string& member, const std::string& requisition_id,
    const std::string& holder, const std::string& candidate_ref) {
  auto requisition = requisitions_.get(txn, member, requisition_id);
  if (!requisition) return error(Code::not_found, "no such requisition");
  return create(txn, *requisition, holder, candidate_ref);
}

common::Result<Introduction, IntroductionError> Introductions::create(
    storage::WriteTxn& txn, const Requisition& requisition, const std::string& holder,
    const std::string& candidate_ref) {
  const std::string& member = requisition.member;
  const std::string& requisition_id = requisition.id;
  if (!requisition.open) return error(Code::conflict, "the requisition is closed");
  if (holder.empty() || holder.size() > 253)
    return error(Code::invalid, "node: \"local\" or a peer's name");
  if (candidate_ref.empty() || candidate_ref.size() > 200)
    return error(Code::invalid, "ref: a candidate reference");
  if (live_for(txn, member, holder, candidate_ref))
    return error(Code::duplicate, "this member already has a live introduction to them");
  Introduction intro;
  intro.id = "i_" + crypto::to_hex(crypto::random_bytes(12));
  intro.member = member;
  intro.requisition = requisition_id;
  intro.holder = holder;
  intro.candidate_ref = candidate_ref;
  intro.kind = holder == "local" ? IntroductionKind::local : IntroductionKind::peer;
  intro.requested_ms = storage::next_time(txn, by_time_, member + "/", clock_.now_ms());
  intro.answer_due_ms = intro.requested_ms + settings_.answer_within.count();
  // The spend checks and writes the balance in this txn: the single Writer serialises it, so
  // two requests for the last credit cannot both pass.
  auto spent = credits_.spend(txn, member, intro.id);
  if (!spent) return error(Code::no_credit, "no credit left");
  // The ledger names the candidate as this member's entries do (scoped: a pool ref is the same
  // for every member, so two members' introductions of one person would link them).
  ledger_.append(txn,
                 protocol::introduction_made(
                     intro.id, member, requisition_id, holder,
                     ledger_.pseudonym("member/" + member, "ref/" + holder + "/" + candidate_ref)));
  put(txn, intro);
  txn.put(by_pair_, pair_key(member, holder, candidate_ref), intro.id);
  return intro;
}

common::Result<Introduction, IntroductionError> Introductions::accept(storage::WriteTxn& txn,
                                                                      const std::string& id) {
  auto intro = get(txn, id);
  if (!intro) return error(Code::not_found, "no such introduction");
  if (intro->state != IntroductionState::requested)
    return error(Code::conflict, "already answered or ended");
  intro->state = IntroductionState::accepted;
  intro->answered_ms = clock_.now_ms();
  put(txn, *intro);
  return *intro;
}

common::Result<Introduction, IntroductionError> Introductions::deliver(storage::WriteTxn& txn,
                                                                       const std::string& id) {
  auto intro = get(txn, id);
  if (!intro) return error(Code::not_found, "no such introduction");
  if (intro->state != IntroductionState::accepted)
    return error(Code::conflict, "not accepted, or ended");
  intro->state = IntroductionState::delivered;
  intro->delivered_ms = clock_.now_ms();
  put(txn, *intro);
  return *intro;
}

Introductions::Outcome_ Introductions::end_with_refund(storage::WriteTxn& txn,
                                                       const std::string& id, IntroductionState to,
                                                       std::string_view reason,
                                                       bool allowed_after_accept) {
  auto intro = get(txn, id);
  if (!intro) return error(Code::not_found, "no such introduction");
  const bool open = intro->state == IntroductionState::requested ||
                    (allowed_after_accept && intro->state == IntroductionState::accepted);
  if (!open)
    return error(Code::conflict, "not allowed in state " + std::string(to_string(intro->state)));
  auto refunded = credits_.refund(txn, intro->member, intro->id, reason);
  // A spend is recorded with every introduction, refunded only here, and each end state is
  // terminal: a failure means the store is inconsistent, not that the caller erred.
  if (!refunded) throw std::logic_error("introduction without a refundable spend");
  if (to == IntroductionState::declined) intro->answered_ms = clock_.now_ms();
  intro->state = to;
  intro->closed_ms = clock_.now_ms();
  put(txn, *intro);
  return *intro;
}

common::Result<Introduction, IntroductionError> Introductions::decline(storage::WriteTxn& txn,
                                                                       const std::string& id) {
  return end_with_refund(txn, id, IntroductionState::declined, protocol::refund_reason::declined,
                         false);
}

common::Result<Introduction, IntroductionError> Introductions::withdraw(storage::WriteTxn& txn,
                                                                        const std::string& id) {
  return end_with_refund(txn, id, IntroductionState::withdrawn, protocol::refund_reason::withdrawn,
                         true);
}

common::Result<Introduction, IntroductionError> Introductions::erase(storage::WriteTxn& txn,
                                                                     const std::string& id) {
  return end_with_refund(txn, id, IntroductionState::erased, protocol::refund_reason::erased, true);
}

common::Result<Introduction, IntroductionError> Introductions::undelivered(storage::WriteTxn& txn,
                                                                           const std::string& id) {
  auto intro = get(txn, id);
  if (intro && intro->kind != IntroductionKind::peer)
    return error(Code::conflict, "a local introduction is delivered on acceptance");
  return end_with_refund(txn, id, IntroductionState::undelivered,
                         protocol::refund_reason::undelivered, true);
}

common::Result<Introduction, IntroductionError> Introductions::report_outcome(
    storage::WriteTxn& txn, const std::string& member, const std::string& id, Outcome outcome,
    std::string_view reason) {
  auto intro = get(txn, id);
  if (!intro || intro->member != member) return error(Code::not_found, "no such introduction");
  if (!reason.empty() && !is_outcome_reason(reason))
    return error(Code::invalid, "reason: a coarse reason code");
  if (outcome == Outcome::left && reason.empty())
    return error(Code::invalid, "reason: required for left");
  if (intro->state != IntroductionState::delivered)
    return error(Code::conflict, "the candidate's data has not been delivered");
  if (intro->has(outcome)) return error(Code::conflict, "already reported");
  const bool decided = intro->has(Outcome::hired) || intro->has(Outcome::not_hired);
  const auto now = clock_.now_ms();
  switch (outcome) {
    case Outcome::interview:
    case Outcome::offer:
    case Outcome::hired:
    case Outcome::not_hired:
      if (decided) return error(Code::conflict, "hired or not hired was already reported");
      break;
    case Outcome::retained_3m:
    case Outcome::retained_6m:
    case Outcome::retained_12m: {
      const Outcome before = outcome == Outcome::retained_3m   ? Outcome::hired
                             : outcome == Outcome::retained_6m ? Outcome::retained_3m
                                                               : Outcome::retained_6m;
      if (!intro->has(before))
        return error(Code::conflict, "report " + std::string(to_string(before)) + " first");
      if (intro->has(Outcome::left)) return error(Code::conflict, "the person has left");
      if (now < intro->hired_ms + retention_months(outcome) * kMonthMs)
        return error(Code::conflict, "too early: the months since the hire have not passed");
      break;
    }
    case Outcome::left:
      if (!intro->has(Outcome::hired)) return error(Code::conflict, "report hired first");
      break;
  }
  intro->outcomes.push_back({outcome, std::string(reason), now});
  if (outcome == Outcome::hired) intro->hired_ms = now;
  ledger_.append(txn,
                 protocol::introduction_outcome(intro->id, member, to_string(outcome), reason));
  put(txn, *intro);
  return *intro;
}

std::vector<Introduction> Introductions::all(const storage::Txn& txn) const {
  std::vector<Introduction> out;
  txn.for_each_prefix(introductions_, "", [&](std::string_view, std::string_view value) {
    out.push_back(Introduction::from_json(nlohmann::json::parse(value)));
  });
  return out;
}

std::vector<std::string> Introductions::expire(storage::WriteTxn& txn, std::int64_t now_ms,
                                               std::chrono::milliseconds answer_within) {
  // The requested ones due, from the waiting index: the sweep runs on the writer thread, and a
  // scan of every introduction held up every write behind it.
  const auto expired = waiting_until(txn, 'r', now_ms - answer_within.count());
  for (const auto& id : expired)
    if (!end_with_refund(txn, id, IntroductionState::expired, protocol::refund_reason::expired,
                         false))
      throw std::logic_error("expire: state changed within the txn");
  return expired;
}

std::vector<std::string> Introductions::expire_undelivered(
    storage::WriteTxn& txn, std::int64_t now_ms, std::chrono::milliseconds deliver_within) {
  const auto ended = waiting_until(txn, 'a', now_ms - deliver_within.count());
  for (const auto& id : ended)
    if (!undelivered(txn, id))
      throw std::logic_error("expire_undelivered: state changed within the txn");
  return ended;
}

std::vector<DueItem> Introductions::due(const storage::Txn& txn, const std::string& member,
                                        std::int64_t now_ms) const {
  std::vector<DueItem> out;
  const auto prefix = member + "/";
  std::vector<std::string> ids;
  txn.for_each_prefix(reporting_, prefix, [&](std::string_view key, std::string_view) {
    ids.emplace_back(key.substr(prefix.size()));
  });
  for (const auto& id : ids) {
    auto found = get(txn, id);
    if (!found || !reporting(*found)) continue;
    const auto& intro = *found;
    DueItem item{intro.id, intro.requisition, "", 0};
    if (!intro.has(Outcome::hired) && !intro.has(Outcome::not_hired)) {
      item.what = "outcome";
      item.due_ms = intro.delivered_ms + settings_.outcome_after.count();
    } else if (intro.has(Outcome::hired) && !intro.has(Outcome::left)) {
      for (auto o : {Outcome::retained_3m, Outcome::retained_6m, Outcome::retained_12m}) {
        if (intro.has(o)) continue;
        item.what = std::string(to_string(o));
        item.due_ms = intro.hired_ms + retention_months(o) * kMonthMs;
        break;
      }
    }
    if (!item.what.empty() && item.due_ms <= now_ms) out.push_back(std::move(item));
  }
  std::sort(out.begin(), out.end(),
            [](const DueItem& a, const DueItem& b) { return a.due_ms < b.due_ms; });
  return out;
}

std::optional<Introduction> Introductions::get(const storage::Txn& txn,
                                               const std::string& id) const {
  auto v = txn.get(introductions_, id);
  if (!v) return std::nullopt;
  return Introduction::from_json(nlohmann::json::parse(*v));
}

std::optional<Introduction> Introductions::live_for(const storage::Txn& txn,
                                                    const std::string& member,
                                                    const std::string& holder,
                                                    const std::string& ref) const {
  auto id = txn.get(by_pair_, pair_key(member, holder, ref));
  if (!id) return std::nullopt;
  auto intro = get(txn, *id);
  if (!intro || !live(intro->state)) return std::nullopt;
  return intro;
}

std::size_t Introductions::index_existing(storage::WriteTxn& txn) {
  std::size_t n = 0;
  // Each build reads the introductions as stored, and none writes them: they are read once,
  // by the first build that runs (an older directory may lack several).
  std::optional<std::vector<Introduction>> stored;
  auto every = [&]() -> const std::vector<Introduction>& {
    if (!stored) stored = all(txn);
    return *stored;
  };
  storage::build_index_once(txn, index_marks_, "introduction_pairs", [&] {
    for (const auto& intro : every())
      if (live(intro.state)) {
        txn.put(by_pair_, pair_key(intro.member, intro.holder, intro.candidate_ref), intro.id);
        ++n;
      }
  });
  storage::build_index_once(txn, index_marks_, "introductions_waiting", [&] {
    for (const auto& intro : every())
      if (intro.state == IntroductionState::requested || waits_for_delivery(intro)) {
        index_waiting(txn, intro);
        ++n;
      }
  });
  storage::build_index_once(txn, index_marks_, "member_introductions_by_time", [&] {
    for (const auto& intro : every()) {
      txn.put(by_time_, time_key(intro), "");
      ++n;
    }
    txn.clear(old_by_member_);  // the index by id it replaces: nothing reads it any more
  });
  storage::build_index_once(txn, index_marks_, "introductions_reporting", [&] {
    for (const auto& intro : every())
      if (reporting(intro)) {
        txn.put(reporting_, intro.member + "/" + intro.id, "");
        ++n;
      }
  });
  return n;
}

std::optional<IntroductionPage> Introductions::page(const storage::Txn& txn,
                                                    const std::string& member, std::size_t limit,
                                                    const std::string& after,
                                                    bool newest_first) const {
  return storage::member_records(
      txn, by_time_, member, after, limit, [&](const std::string& id) { return get(txn, id); },
      time_key, newest_first);
}

}  // namespace relay::node::introductions
