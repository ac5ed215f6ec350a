#include "node/introductions/requisition.hpp"

#include <algorithm>
#include <array>

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"
#include "node/common/key_encoding.hpp"
#include "node/common/text.hpp"
#include "node/storage/index_marks.hpp"
#include "node/storage/index_page.hpp"
#include "protocol/event.hpp"

namespace relay::node::introductions {

namespace {

constexpr std::array<std::pair<EmploymentType, std::array<std::string_view, 3>>, 6> kEmployment{{
    {EmploymentType::regular, {"regular", "正社員", "Regular employee"}},
    {EmploymentType::contract, {"contract", "契約社員", "Contract employee"}},
    {EmploymentType::part_time, {"part_time", "パート・アルバイト", "Part-time"}},
    {EmploymentType::side_job, {"side_job", "副業", "Side job"}},
    {EmploymentType::secondment, {"secondment", "在籍型出向", "Secondment (in-service transfer)"}},
    {EmploymentType::transfer, {"transfer", "移籍", "Transfer"}},
}};

std::string_view employment_field(EmploymentType t, std::size_t i) {
  for (const auto& [type, names] : kEmployment)
    if (type == t) return names[i];
  return "";
}

std::vector<std::string> strings_of(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it) out.push_back(v.is_string() ? v.get<std::string>() : std::string());
  return out;
}

std::string string_of(const nlohmann::json& j, const char* key, std::string fallback = {}) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

common::Failure<RequisitionError> invalid(std::string field, std::string message) {
  return common::fail(
      RequisitionError{RequisitionError::Code::invalid, std::move(field), std::move(message)});
}

// Normalises a list of skills exactly as the registration form does (config::normalise_skill,
// duplicates dropped, order kept).
std::optional<std::vector<std::string>> normalise_skills(const std::vector<std::string>& raw) {
  std::vector<std::string> out;
  for (const auto& s : raw) {
    auto tag = config::normalise_skill(s);
    if (!tag) return std::nullopt;
    if (std::find(out.begin(), out.end(), *tag) == out.end()) out.push_back(*tag);
  }
  return out;
}

}  // namespace

std::string_view to_string(EmploymentType t) {
  return employment_field(t, 0);
}
std::string_view label_ja(EmploymentType t) {
  return employment_field(t, 1);
}
std::string_view label_en(EmploymentType t) {
  return employment_field(t, 2);
}

std::string_view to_string(RequisitionKind k) {
  return k == RequisitionKind::requisition ? "requisition" : "secondment_offer";
}

std::optional<EmploymentType> parse_employment_type(std::string_view s) {
  for (const auto& [type, names] : kEmployment)
    if (names[0] == s) return type;
  return std::nullopt;
}

std::optional<RequisitionKind> parse_requisition_kind(std::string_view s) {
  if (s == "requisition") return RequisitionKind::requisition;
  if (s == "secondment_offer") return RequisitionKind::secondment_offer;
  return std::nullopt;
}

RequisitionInput RequisitionInput::from_json(const nlohmann::json& j) {
  RequisitionInput in;
  if (!j.is_object()) return in;
  in.title = string_of(j, "title");
  in.category = string_of(j, "category");
  in.required_skills = strings_of(j, "required_skills");
  in.preferred_skills = strings_of(j, "preferred_skills");
  in.prefectures = strings_of(j, "prefectures");
  in.experience_band = string_of(j, "experience_band");
  auto headcount = j.find("headcount");
  in.headcount =
      headcount != j.end() && headcount->is_number_integer() ? headcount->get<std::int64_t>() : 0;
  in.employment_type = string_of(j, "employment_type");
  in.kind = string_of(j, "kind", "requisition");
  return in;
}

common::Result<Requisition, RequisitionError> validate(const RequisitionInput& in,
                                                       const config::Reference& reference) {
  Requisition r;
  auto title = common::clean_text(in.title, 200);
  if (!title) return invalid("title", "title: 1 to 200 characters of text");
  r.title = *title;
  if (!reference.find_job_category(in.category))
    return invalid("category", "category: an MHLW major group code, A to K");
  r.category = in.category;
  auto required = normalise_skills(in.required_skills);
  if (!required || required->empty() || in.required_skills.size() > Requisitions::kMaxSkills)
    return invalid("required_skills", "required_skills: 1 to 20 skills of up to 64 characters");
  r.required_skills = std::move(*required);
  auto preferred = normalise_skills(in.preferred_skills);
  if (!preferred || in.preferred_skills.size() > Requisitions::kMaxSkills)
    return invalid("preferred_skills", "preferred_skills: up to 20 skills of up to 64 characters");
  for (auto& tag : *preferred)  // a skill both required and preferred counts as required
    if (std::find(r.required_skills.begin(), r.required_skills.end(), tag) ==
        r.required_skills.end())
      r.preferred_skills.push_back(std::move(tag));
  if (in.prefectures.empty() || in.prefectures.size() > Requisitions::kMaxPrefectures)
    return invalid("prefectures", "prefectures: 1 to 47 ISO 3166-2:JP codes");
  for (const auto& code : in.prefectures) {
    if (!reference.find_prefecture(code))
      return invalid("prefectures", "prefectures: 1 to 47 ISO 3166-2:JP codes");
    if (std::find(r.prefectures.begin(), r.prefectures.end(), code) == r.prefectures.end())
      r.prefectures.push_back(code);
  }
  if (!in.experience_band.empty() && !reference.find_experience_band(in.experience_band))
    return invalid("experience_band", "experience_band: one of the reference's bands, or empty");
  r.experience_band = in.experience_band;
  if (in.headcount < 1 || in.headcount > Requisitions::kMaxHeadcount)
    return invalid("headcount", "headcount: an integer from 1 to 10000");
  r.headcount = static_cast<std::uint32_t>(in.headcount);
  auto type = parse_employment_type(in.employment_type);
  if (!type)
    return invalid(
        "employment_type",
        "employment_type: regular, contract, part_time, side_job, secondment or transfer");
  r.employment_type = *type;
  auto kind = parse_requisition_kind(in.kind);
  if (!kind) return invalid("kind", "kind: requisition or secondment_offer");
  r.kind = *kind;
  return r;
}

matching::Criteria Requisition::criteria() const {
  return {title, category, required_skills, preferred_skills, prefectures, experience_band};
}

nlohmann::json Requisition::to_json() const {
  return {{"id", id},
          {"member", member},
          {"kind", to_string(kind)},
          {"title", title},
          {"category", category},
          {"required_skills", required_skills},
          {"preferred_skills", preferred_skills},
          {"prefectures", prefectures},
          {"experience_band", experience_band},
          {"headcount", headcount},
          {"employment_type", to_string(employment_type)},
          {"open", open},
          {"created_ms", created_ms},
          {"updated_ms", updated_ms}};
}

nlohmann::json Requisition::to_member_json() const {
  auto j = to_json();
  j.erase("member");
  j["state"] = open ? "open" : "closed";
  j.erase("open");
  j["employment_type_label"] = {{"ja", label_ja(employment_type)},
                                {"en", label_en(employment_type)}};
  return j;
}

Requisition Requisition::from_json(const nlohmann::json& j) {
  Requisition r;
  r.id = j.at("id").get<std::string>();
  r.member = j.at("member").get<std::string>();
  r.kind = parse_requisition_kind(j.at("kind").get<std::string>())
               .value_or(RequisitionKind::requisition);
  r.title = j.at("title").get<std::string>();
  r.category = j.at("category").get<std::string>();
  r.required_skills = j.at("required_skills").get<std::vector<std::string>>();
  r.preferred_skills = j.at("preferred_skills").get<std::vector<std::string>>();
  r.prefectures = j.at("prefectures").get<std::vector<std::string>>();
  r.experience_band = j.at("experience_band").get<std::string>();
  r.headcount = j.at("headcount").get<std::uint32_t>();
  r.employment_type = parse_employment_type(j.at("employment_type").get<std::string>())
                          .value_or(EmploymentType::regular);
  r.open = j.at("open").get<bool>();
  r.created_ms = j.at("created_ms").get<std::int64_t>();
  r.updated_ms = j.at("updated_ms").get<std::int64_t>();
  return r;
}

Requisitions::Requisitions(storage::Environment& env, ledger::Ledger& ledger,
                           const config::Reference& reference, const common::Clock& clock)
    : ledger_(ledger),
      reference_(reference),
      clock_(clock),
      requisitions_(env.database("requisitions")),
      old_by_member_(env.database("member_requisitions")),
      by_time_(env.database("member_requisitions_by_time")),
      open_(env.database("open_requisitions")),
      index_marks_(env.database(storage::kIndexMarks)) {}

namespace {
std::string open_key(RequisitionKind kind, std::string_view id) {
  std::string key(to_string(kind));
  key.append("/").append(id);
  return key;
}

// member "/" 8-byte big-endian created_ms, then the id: a member's requisitions in the order
// opened (created_ms never changes, so the key is the one open() put).
std::string time_key(const Requisition& r) {
  return r.member + "/" +
         common::be64(static_cast<std::uint64_t>(std::max<std::int64_t>(0, r.created_ms))) + r.id;
}
}  // namespace

void Requisitions::put(storage::WriteTxn& txn, const Requisition& r) {
  txn.put(requisitions_, r.id, r.to_json().dump());
  txn.put(by_time_, time_key(r), "");
  // An update may change the kind: the key under the other kind goes.
  for (auto kind : {RequisitionKind::requisition, RequisitionKind::secondment_offer}) {
    if (r.open && r.kind == kind)
      txn.put(open_, open_key(kind, r.id), "");
    else
      txn.del(open_, open_key(kind, r.id));
  }
}

std::size_t Requisitions::index_existing(storage::WriteTxn& txn) {
  std::size_t n = 0;
  // Each build reads the requisitions as stored, and none writes them: they are read once, by
  // the first build that runs (read first, then written: a scan's callback must not write).
  std::optional<std::vector<Requisition>> stored;
  auto every = [&]() -> const std::vector<Requisition>& {
    if (!stored) {
      stored.emplace();
      txn.for_each_prefix(requisitions_, "", [&](std::string_view, std::string_view value) {
        stored->push_back(Requisition::from_json(nlohmann::json::parse(value)));
      });
    }
    return *stored;
  };
  storage::build_index_once(txn, index_marks_, "open_requisitions", [&] {
    for (const auto& r : every())
      if (r.open) {
        txn.put(open_, open_key(r.kind, r.id), "");
        ++n;
      }
  });
  storage::build_index_once(txn, index_marks_, "member_requisitions_by_time", [&] {
    for (const auto& r : every()) {
      txn.put(by_time_, time_key(r), "");
      ++n;
    }
    txn.clear(old_by_member_);  // the index by id it replaces: nothing reads it any more
  });
  return n;
}

common::Result<Requisition, RequisitionError> Requisitions::open(storage::WriteTxn& txn,
                                                                 const std::string& member,
                                                                 const RequisitionInput& input) {
  auto valid = validate(input, reference_);
  if (!valid) return common::fail(valid.error());
  auto r = std::move(valid).value();
  r.id = "q_" + crypto::to_hex(crypto::random_bytes(8));
  r.member = member;
  r.created_ms = r.updated_ms = storage::next_time(txn, by_time_, member + "/", clock_.now_ms());
  put(txn, r);
  ledger_.append(txn, protocol::requisition_opened(member, r.id, to_string(r.kind), r.category,
                                                   to_string(r.employment_type), r.headcount));
  return r;
}

common::Result<Requisition, RequisitionError> Requisitions::update(storage::WriteTxn& txn,
                                                                   const std::string& member,
                                                                   const std::string& id,
                                                                   const RequisitionInput& input) {
  auto current = get(txn, member, id);
  if (!current)
    return common::fail(
        RequisitionError{RequisitionError::Code::not_found, {}, "no such requisition"});
  if (!current->open)
    return common::fail(
        RequisitionError{RequisitionError::Code::closed, {}, "the requisition is closed"});
  auto valid = validate(input, reference_);
  if (!valid) return common::fail(valid.error());
  auto r = std::move(valid).value();
  r.id = current->id;
  r.member = member;
  r.created_ms = current->created_ms;
  r.updated_ms = clock_.now_ms();
  put(txn, r);
  ledger_.append(txn, protocol::requisition_updated(member, r.id, to_string(r.kind), r.category,
                                                    to_string(r.employment_type), r.headcount));
  return r;
}

common::Result<Requisition, RequisitionError> Requisitions::close(storage::WriteTxn& txn,
                                                                  const std::string& member,
                                                                  const std::string& id) {
  auto r = get(txn, member, id);
  if (!r)
    return common::fail(
        RequisitionError{RequisitionError::Code::not_found, {}, "no such requisition"});
  if (!r->open)
    return common::fail(
        RequisitionError{RequisitionError::Code::closed, {}, "the requisition is closed"});
  r->open = false;
  r->updated_ms = clock_.now_ms();
  put(txn, *r);
  ledger_.append(txn, protocol::requisition_closed(member, r->id));
  return *r;
}

std::optional<Requisition> Requisitions::get(const storage::Txn& txn, const std::string& id) const {
  auto v = txn.get(requisitions_, id);
  if (!v) return std::nullopt;
  if (auto cached = parsed_.get(id, *v)) return cached;
  auto r = Requisition::from_json(nlohmann::json::parse(*v));
  parsed_.put(id, std::move(*v), r);
  return r;
}

std::optional<Requisition> Requisitions::get(const storage::Txn& txn, const std::string& member,
                                             const std::string& id) const {
  auto r = get(txn, id);
  if (!r || r->member != member) return std::nullopt;
  return r;
}

std::optional<RequisitionPage> Requisitions::page(const storage::Txn& txn,
                                                  const std::string& member, std::size_t limit,
                                                  const std::string& after,
                                                  bool newest_first) const {
  return storage::member_records(
      txn, by_time_, member, after, limit, [&](const std::string& id) { return get(txn, id); },
      time_key, newest_first);
}

std::vector<Requisition> Requisitions::list_open(const storage::Txn& txn,
                                                 RequisitionKind kind) const {
  const auto prefix = open_key(kind, "");
  std::vector<std::string> ids;
  txn.for_each_prefix(open_, prefix, [&](std::string_view key, std::string_view) {
    ids.emplace_back(key.substr(prefix.size()));
  });
  std::vector<Requisition> out;
  for (const auto& id : ids)
    if (auto r = get(txn, id); r && r->open && r->kind == kind) out.push_back(std::move(*r));
  return out;
}

}  // namespace relay::node::introductions
