#pragma once
// Introductions: a member spends one credit to ask for a matched candidate, held by this node
// ("local") or by a peer. The credit, the introduction and their ledger entries commit in one
// txn (create). The credit comes back (credit_refunded, naming the introduction) when the
// candidate declines, does not answer within answer_within, withdraws or erases before
// delivery, or the holding peer does not deliver within deliver_within.
//
//   requested --accept--> accepted --deliver--> delivered --outcomes-->
//       |                    |
//       +-> declined | expired | withdrawn | erased | undelivered   (each refunds, terminal)
//
// Outcomes, reported by the member that received the introduction, in order:
//   interview? offer? then hired | not_hired (once); after hired: retained_3m, retained_6m,
//   retained_12m (each after the previous and not before its month count has passed since
//   the hire), or left (with a coarse reason code) at any time after hired.
// Ledger: introduction_made, introduction_outcome, credit_spent, credit_refunded. No personal
// data: the candidate is the holder's opaque reference.
//
// Databases: introductions (id -> JSON), member_introductions_by_time (member "/" 8-byte
// requested_ms id -> "": a member's introductions in the order asked, so a page reads only its
// own; it replaced member_introductions, member "/" id, which its one-time build empties),
// introductions_reporting (member "/" id -> "": the delivered ones whose outcome or a retention
// check may still fall due, the only ones due() reads), introduction_pairs (pair_key(member,
// holder, ref) -> the newest introduction's id): create()
// refuses a pair that has a live introduction inside its own txn, so concurrent requests for
// the same candidate cannot each spend a credit; introductions_waiting (the requested ones by
// request time, a peer's accepted ones by answer time): expire and expire_undelivered read
// only the due ones.
//
// Threads: writing methods only in Writer requests; reads from any thread with its own txn.
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/common/clock.hpp"
#include "node/common/result.hpp"
#include "node/introductions/requisition.hpp"
#include "node/ledger/ledger.hpp"
#include "node/referrals/credit_account.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/index_page.hpp"

namespace relay::node::introductions {

enum class IntroductionState {
  requested,
  accepted,
  delivered,
  declined,
  expired,
  withdrawn,
  erased,
  undelivered
};
enum class IntroductionKind { local, peer };
enum class Outcome {
  interview,
  offer,
  hired,
  not_hired,
  retained_3m,
  retained_6m,
  retained_12m,
  left
};

std::string_view to_string(IntroductionState s);
// Requested, accepted or delivered: the member may not ask for the same candidate again.
bool live(IntroductionState s);
std::string_view to_string(IntroductionKind k);
std::string_view to_string(Outcome o);
std::optional<Outcome> parse_outcome(std::string_view s);
// Coarse reasons for `left` (and optionally not_hired): codes only, never free text.
bool is_outcome_reason(std::string_view code);

struct OutcomeRecord {
  Outcome outcome = Outcome::interview;
  std::string reason;  // coarse code or ""
  std::int64_t at_ms = 0;
};

struct Introduction {
  std::string id;
  std::string member;
  std::string requisition;
  std::string holder;  // "local" or the peer's name
  std::string candidate_ref;
  IntroductionKind kind = IntroductionKind::local;
  IntroductionState state = IntroductionState::requested;
  std::vector<OutcomeRecord> outcomes;  // in report order
  std::int64_t requested_ms = 0;
  std::int64_t answer_due_ms = 0;  // the candidate answers by then, or it expires
  std::int64_t answered_ms = 0;    // accepted or declined
  std::int64_t delivered_ms = 0;
  std::int64_t closed_ms = 0;  // reached a refunding end state
  std::int64_t hired_ms = 0;

  bool has(Outcome o) const;
  nlohmann::json to_json() const;  // storage form; also the member's view
  static Introduction from_json(const nlohmann::json& j);
};

// One page of a member's introductions, in the order asked.
using IntroductionPage = storage::RecordPage<Introduction>;

struct IntroductionError {
  enum class Code {
    no_credit,  // 402: the member's balance is 0
    not_found,  // 404: no such introduction (or requisition) of this member
    conflict,   // 409: not allowed in this state or order
    invalid,    // 400: bad outcome, reason code or holder
    duplicate,  // 409: the member already has a live introduction to this candidate
  };
  Code code = Code::invalid;
  std::string message;  // English, safe to show
};
std::string_view to_string(IntroductionError::Code c);

struct IntroductionSettings {
  std::chrono::milliseconds answer_within =
      std::chrono::hours(24 * 14);  // introductions.answer_within_days
  std::chrono::milliseconds deliver_within = std::chrono::hours(24 * 7);  // peer delivery horizon
  std::chrono::milliseconds outcome_after =
      std::chrono::hours(24 * 30);  // outcome due after delivery
};

// Something a member should report (GET /api/v1/outcomes/due).
struct DueItem {
  std::string introduction;
  std::string requisition;
  std::string what;  // "outcome", "retained_3m", "retained_6m", "retained_12m"
  std::int64_t due_ms = 0;
  nlohmann::json to_json() const;
};

class Introductions {
 public:
  Introductions(storage::Environment& env, ledger::Ledger& ledger,
                referrals::CreditAccounts& credits, Requisitions& requisitions,
                const common::Clock& clock, IntroductionSettings settings = {});

  // Spends a credit and records the introduction (credit_spent, introduction_made), all in txn.
  // The requisition must be an open one of member; holder "local" makes a local introduction,
  // any other (non-empty) name a peer one. Writes nothing on failure.
  common::Result<Introduction, IntroductionError> create(storage::WriteTxn& txn,
                                                         const std::string& member,
                                                         const std::string& requisition_id,
                                                         const std::string& holder,
                                                         const std::string& candidate_ref);
  // As above, for a requisition the caller has read in txn (its member's): the request that
  // needs the requisition anyway does not read and parse it twice.
  common::Result<Introduction, IntroductionError> create(storage::WriteTxn& txn,
                                                         const Requisition& requisition,
                                                         const std::string& holder,
                                                         const std::string& candidate_ref);

  // The candidate's answers (the holder's side calls these for its candidate).
  common::Result<Introduction, IntroductionError> accept(storage::WriteTxn& txn,
                                                         const std::string& id);
  common::Result<Introduction, IntroductionError> decline(storage::WriteTxn& txn,
                                                          const std::string& id);
  // The data reached the member (local: on acceptance; peer: the handoff arrived).
  common::Result<Introduction, IntroductionError> deliver(storage::WriteTxn& txn,
                                                          const std::string& id);
  // The candidate withdrew consent or erased their data before delivery.
  common::Result<Introduction, IntroductionError> withdraw(storage::WriteTxn& txn,
                                                           const std::string& id);
  common::Result<Introduction, IntroductionError> erase(storage::WriteTxn& txn,
                                                        const std::string& id);
  // The holding peer did not deliver.
  common::Result<Introduction, IntroductionError> undelivered(storage::WriteTxn& txn,
                                                              const std::string& id);

  // The member reports an outcome of its own introduction: not_found for another member's,
  // conflict for the wrong order or state, invalid for a bad reason code.
  common::Result<Introduction, IntroductionError> report_outcome(storage::WriteTxn& txn,
                                                                 const std::string& member,
                                                                 const std::string& id,
                                                                 Outcome outcome,
                                                                 std::string_view reason = {});

  // Expires (and refunds) every introduction still requested answer_within after it was made;
  // returns their ids.
  std::vector<std::string> expire(storage::WriteTxn& txn, std::int64_t now_ms,
                                  std::chrono::milliseconds answer_within);
  // Marks undelivered (and refunds) every peer introduction accepted but not delivered within
  // deliver_within of acceptance; returns their ids.
  std::vector<std::string> expire_undelivered(storage::WriteTxn& txn, std::int64_t now_ms,
                                              std::chrono::milliseconds deliver_within);

  // What member should report by now: outcomes of delivered introductions and retention checks
  // of hires, oldest due first. Reads only the member's introductions that may still have
  // something due, not every one it ever asked for.
  std::vector<DueItem> due(const storage::Txn& txn, const std::string& member,
                           std::int64_t now_ms) const;

  std::optional<Introduction> get(const storage::Txn& txn, const std::string& id) const;
  // The member's introductions in the order asked: those after the introduction `after` (""
  // from the first), at most `limit`, in that order or (newest_first) last asked first, and how
  // many there are; nullopt if `after` is not one of the member's.
  std::optional<IntroductionPage> page(const storage::Txn& txn, const std::string& member,
                                       std::size_t limit, const std::string& after,
                                       bool newest_first = false) const;
  // The member's live introduction to the candidate `ref` held by `holder`, if any: one read
  // of the pair index, whatever the member's history.
  std::optional<Introduction> live_for(const storage::Txn& txn, const std::string& member,
                                       const std::string& holder, const std::string& ref) const;
  // Builds the pair, waiting, by-time and reporting indexes over introductions stored before each
  // existed (once per data directory); returns how many entries were written.
  std::size_t index_existing(storage::WriteTxn& txn);
  const IntroductionSettings& settings() const { return settings_; }

 private:
  using Outcome_ = common::Result<Introduction, IntroductionError>;
  void put(storage::WriteTxn& txn, const Introduction& intro);
  // The introduction's keys in introductions_waiting as its state has them (put() keeps them).
  void index_waiting(storage::WriteTxn& txn, const Introduction& intro);
  // Moves a requested/accepted introduction to a refunding end state.
  Outcome_ end_with_refund(storage::WriteTxn& txn, const std::string& id, IntroductionState to,
                           std::string_view reason, bool allowed_after_accept);
  std::vector<Introduction> all(const storage::Txn& txn) const;
  // Ids in introductions_waiting under `what` ('r' requested, 'a' a peer's accepted) whose
  // time is at most until_ms, oldest first.
  std::vector<std::string> waiting_until(const storage::Txn& txn, char what,
                                         std::int64_t until_ms) const;

  ledger::Ledger& ledger_;
  referrals::CreditAccounts& credits_;
  Requisitions& requisitions_;
  const common::Clock& clock_;
  IntroductionSettings settings_;
  storage::Database introductions_;
  storage::Database old_by_member_;  // member_introductions: emptied by index_existing
  storage::Database by_time_;
  storage::Database by_pair_;
  storage::Database reporting_;
  // Introductions a sweep ends when due (waiting_key in the .cpp): requested, not answered
  // in answer_within; a peer's accepted, not delivered in deliver_within.
  storage::Database waiting_;
  storage::Database index_marks_;
};

}  // namespace relay::node::introductions
