#pragma once
// Requisitions: positions a member opens, edits and closes (kind `requisition`), and
// secondment offers (kind `secondment_offer`: people a member can lend, which matching pairs
// with other members' requisitions). Each change is a ledger event in the same txn, carrying
// ids and codes only (protocol/event.hpp); the title and skills stay here.
//
// Databases: requisitions (id -> JSON record), member_requisitions_by_time (member "/" 8-byte
// created_ms id -> "": a member's requisitions in the order opened, so a page reads only its
// own; it replaced member_requisitions, member "/" id, which its one-time build empties),
// open_requisitions (kind "/" id -> "": the open ones, so pairing reads them alone, not every
// requisition ever closed).
//
// Threads: open/update/close only inside Writer requests; reads from any thread with its own
// txn. The Reference and Ledger outlive the store.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/reference.hpp"
#include "node/common/clock.hpp"
#include "node/common/result.hpp"
#include "node/ledger/ledger.hpp"
#include "node/matching/scorer.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/index_page.hpp"
#include "node/storage/parse_cache.hpp"

namespace relay::node::introductions {

// 正社員, 契約, パート・アルバイト, 副業, 在籍型出向, 移籍.
enum class EmploymentType { regular, contract, part_time, side_job, secondment, transfer };
enum class RequisitionKind { requisition, secondment_offer };

std::string_view to_string(EmploymentType t);
std::string_view to_string(RequisitionKind k);
std::optional<EmploymentType> parse_employment_type(std::string_view s);
std::optional<RequisitionKind> parse_requisition_kind(std::string_view s);
// Japanese and English labels for pages ("正社員" / "Regular employee").
std::string_view label_ja(EmploymentType t);
std::string_view label_en(EmploymentType t);

// What a member submits (the API's JSON body), before validation.
struct RequisitionInput {
  std::string title;
  std::string category;  // MHLW major group code A..K
  std::vector<std::string> required_skills;
  std::vector<std::string> preferred_skills;
  std::vector<std::string> prefectures;  // ISO 3166-2:JP
  std::string experience_band;           // "" = any
  std::int64_t headcount = 1;
  std::string employment_type;       // regular|contract|part_time|side_job|secondment|transfer
  std::string kind = "requisition";  // requisition|secondment_offer

  // From {"title","category","required_skills","preferred_skills","prefectures",
  // "experience_band","headcount","employment_type","kind"}; wrong JSON types leave the field
  // empty (validation then names it). Unknown keys are ignored.
  static RequisitionInput from_json(const nlohmann::json& j);
};

struct Requisition {
  std::string id;
  std::string member;
  RequisitionKind kind = RequisitionKind::requisition;
  std::string title;
  std::string category;
  std::vector<std::string> required_skills;   // normalised, distinct
  std::vector<std::string> preferred_skills;  // normalised, distinct, none also required
  std::vector<std::string> prefectures;
  std::string experience_band;
  std::uint32_t headcount = 1;
  EmploymentType employment_type = EmploymentType::regular;
  bool open = true;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;

  // What matching scores profiles against.
  matching::Criteria criteria() const;
  // The member's view: every field, codes and labels.
  nlohmann::json to_member_json() const;
  nlohmann::json to_json() const;  // storage form
  static Requisition from_json(const nlohmann::json& j);
};

struct RequisitionError {
  enum class Code {
    invalid,    // `field` names what is wrong
    not_found,  // no such requisition of this member
    closed,     // already closed: it cannot be edited or closed again
  };
  Code code = Code::invalid;
  std::string field;    // for invalid
  std::string message;  // English, safe to show (never echoes input)
};

// Validates input against the reference data; skills go through config::normalise_skill,
// the registration form's normalisation. The first error found names its field.
common::Result<Requisition, RequisitionError> validate(const RequisitionInput& input,
                                                       const config::Reference& reference);

// One page of a member's requisitions, in the order opened.
using RequisitionPage = storage::RecordPage<Requisition>;

class Requisitions {
 public:
  static constexpr std::size_t kMaxSkills = 20;
  static constexpr std::size_t kMaxPrefectures = 47;
  static constexpr std::int64_t kMaxHeadcount = 10000;

  Requisitions(storage::Environment& env, ledger::Ledger& ledger,
               const config::Reference& reference, const common::Clock& clock);

  // Opens a new requisition of member: appends requisition_opened.
  common::Result<Requisition, RequisitionError> open(storage::WriteTxn& txn,
                                                     const std::string& member,
                                                     const RequisitionInput& input);
  // Replaces every field of an open requisition of member: appends requisition_updated.
  common::Result<Requisition, RequisitionError> update(storage::WriteTxn& txn,
                                                       const std::string& member,
                                                       const std::string& id,
                                                       const RequisitionInput& input);
  // Closes it: appends requisition_closed.
  common::Result<Requisition, RequisitionError> close(storage::WriteTxn& txn,
                                                      const std::string& member,
                                                      const std::string& id);

  // Any member's requisition by id.
  std::optional<Requisition> get(const storage::Txn& txn, const std::string& id) const;
  // member's requisition by id: nullopt if absent or another member's.
  std::optional<Requisition> get(const storage::Txn& txn, const std::string& member,
                                 const std::string& id) const;
  // member's requisitions in the order opened: those after the requisition `after` ("" from
  // the first), at most `limit`, in that order or (newest_first) last opened first, and how many
  // there are; nullopt if `after` is not one of member's.
  std::optional<RequisitionPage> page(const storage::Txn& txn, const std::string& member,
                                      std::size_t limit, const std::string& after,
                                      bool newest_first = false) const;
  // Every open requisition of this kind (for pairing secondment offers with requisitions).
  std::vector<Requisition> list_open(const storage::Txn& txn, RequisitionKind kind) const;
  // Indexes the open requisitions of a directory written before open_requisitions, and every
  // requisition of one written before member_requisitions_by_time (each once,
  // storage/index_marks.hpp). Returns how many entries it wrote.
  std::size_t index_existing(storage::WriteTxn& txn);

 private:
  void put(storage::WriteTxn& txn, const Requisition& r);
  ledger::Ledger& ledger_;
  const config::Reference& reference_;
  const common::Clock& clock_;
  storage::Database requisitions_;
  storage::Database old_by_member_;  // member_requisitions: emptied by index_existing
  storage::Database by_time_;
  storage::Database open_;
  storage::Database index_marks_;
  // What get() parsed, by id: an introduction reads its requisition on the request's thread
  // and again on the Writer, each parse most of the read's cost.
  mutable storage::ParseCache<Requisition> parsed_;
};

}  // namespace relay::node::introductions
