#include "node/candidates/candidate_record.hpp"

#include <algorithm>

#include "node/common/stored_json.hpp"
#include "protocol/json_writer.hpp"

namespace relay::node::candidates {

std::string_view to_string(Status s) {
  switch (s) {
    case Status::pending:
      return "pending";
    case Status::active:
      return "active";
    case Status::erased:
      return "erased";
  }
  return "unknown";
}

namespace {

Status status_from(const std::string& s) {
  if (s == "active") return Status::active;
  if (s == "erased") return Status::erased;
  return Status::pending;
}

constexpr auto text = common::stored_text;

std::vector<std::string> strings(const nlohmann::json& j, const char* name) {
  std::vector<std::string> out;
  auto it = j.find(name);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& s : *it) out.push_back(s.get<std::string>());
  return out;
}

Disclosure disclosure_from(const nlohmann::json& d) {
  Disclosure out{text(d, "handoff"),
                 text(d, "company"),
                 text(d, "node"),
                 text(d, "region"),
                 d.value("at_ms", std::int64_t{0}),
                 text(d, "consent_version"),
                 text(d, "erasure"),
                 std::nullopt};
  if (d.contains("receipt_ms")) out.receipt_ms = d.at("receipt_ms").get<std::int64_t>();
  return out;
}

ErasureRequest erasure_request_from(const nlohmann::json& r) {
  return {text(r, "handoff"),
          text(r, "peer"),
          text(r, "company"),
          r.value("requested_ms", std::int64_t{0}),
          r.value("confirmed_ms", std::int64_t{0}),
          r.value("overdue", false),
          text(r, "receipt_signature"),
          text(r, "reason"),
          text(r, "outcome")};
}

}  // namespace

nlohmann::json Disclosure::to_json() const {
  nlohmann::json j = {{"handoff", handoff}, {"company", company},
                      {"node", node},       {"region", region},
                      {"at_ms", at_ms},     {"consent_version", consent_version},
                      {"erasure", erasure}};
  if (receipt_ms) j["receipt_ms"] = *receipt_ms;
  return j;
}

void CandidateRecord::add_disclosure(Disclosure disclosure) {
  for (auto& d : disclosures_)
    if (d.handoff == disclosure.handoff) {
      d = std::move(disclosure);
      return;
    }
  disclosures_.push_back(std::move(disclosure));
}

bool CandidateRecord::remove_disclosure(const std::string& handoff) {
  return std::erase_if(disclosures_, [&](const Disclosure& d) { return d.handoff == handoff; }) > 0;
}

bool CandidateRecord::mark_receipt(const std::string& handoff, std::int64_t at_ms) {
  for (auto& d : disclosures_)
    if (d.handoff == handoff) {
      d.receipt_ms = at_ms;
      return true;
    }
  return false;
}

std::vector<ErasureRequest> CandidateRecord::request_erasure(std::int64_t now_ms,
                                                             std::string_view reason) {
  if (!erasure_requested_ms_) erasure_requested_ms_ = now_ms;
  std::vector<ErasureRequest> added;
  for (const auto& d : disclosures_) {
    if (d.handoff.empty() || d.node.empty()) continue;
    // Asked already, unless this is an erasure and the recipient kept the data on an earlier
    // withdrawal (a request still waiting is asked again when its receipt says so).
    bool known = std::any_of(erasure_requests_.begin(), erasure_requests_.end(),
                             [&](const ErasureRequest& r) {
                               if (r.handoff != d.handoff || r.peer != d.node) return false;
                               bool kept = r.confirmed_ms != 0 && r.outcome == "kept_hired";
                               return !reason.empty() || !kept;
                             });
    if (known) continue;
    erasure_requests_.push_back(
        {d.handoff, d.node, d.company, now_ms, 0, false, {}, std::string(reason), {}});
    added.push_back(erasure_requests_.back());
  }
  return added;
}

bool CandidateRecord::confirm_erasure(const std::string& handoff, const std::string& peer,
                                      std::int64_t at_ms, const std::string& receipt_signature,
                                      const std::string& outcome) {
  bool changed = false;
  for (auto& r : erasure_requests_)
    if (r.handoff == handoff && r.peer == peer && r.confirmed_ms == 0) {
      r.confirmed_ms = at_ms;
      r.receipt_signature = receipt_signature;
      r.outcome = outcome;
      changed = true;
    }
  return changed;
}

bool CandidateRecord::mark_erasure_overdue(const std::string& handoff, const std::string& peer) {
  bool found = false;
  for (auto& r : erasure_requests_)
    if (r.handoff == handoff && r.peer == peer) {
      r.overdue = true;
      found = true;
    }
  return found;
}

// The stored form written as text, keys in byte order at every level: the bytes nlohmann's
// dump() gave for the tree this record used to build (candidate_record_test holds literal
// records to them). Built as a tree and dumped, a save cost about 50k instructions, and a
// registration saves its candidate twice.
std::string stored_text(const CandidateRecord& r) {
  std::string out;
  out.reserve(1024 + 64 * (r.tokens_.size() + r.spool_.size()) + r.sealed_data_.size() +
              r.sealed_evidence_.size());
  protocol::JsonWriter w(out);
  w.begin_object();
  w.key("consent")
      .begin_object()
      .field("at_ms", r.consent.at_ms)
      .field("peers", r.consent.peers)
      .field("region", r.consent.region)
      .field("stats", r.consent.stats)
      .field("version", r.consent.version)
      .end_object();
  w.field("created_ms", r.created_ms);
  const bool erased = r.status == Status::erased;
  if (!erased) w.field("data", r.sealed_data_);
  if (!r.disclosures_.empty()) {
    w.key("disclosures").begin_array();
    for (const auto& d : r.disclosures_) {
      w.begin_object()
          .field("at_ms", d.at_ms)
          .field("company", d.company)
          .field("consent_version", d.consent_version)
          .field("erasure", d.erasure)
          .field("handoff", d.handoff)
          .field("node", d.node);
      if (d.receipt_ms) w.field("receipt_ms", *d.receipt_ms);
      w.field("region", d.region).end_object();
    }
    w.end_array();
  }
  if (erased) w.field("erased_ms", r.erased_ms_);
  if (r.erasure_requested_ms_) {
    w.key("erasure").begin_object().field("requested_ms", *r.erasure_requested_ms_);
    w.key("requests").begin_array();
    for (const auto& e : r.erasure_requests_) {
      w.begin_object()
          .field("company", e.company)
          .field("confirmed_ms", e.confirmed_ms)
          .field("handoff", e.handoff);
      if (!e.outcome.empty()) w.field("outcome", e.outcome);
      w.field("overdue", e.overdue).field("peer", e.peer);
      if (!e.reason.empty()) w.field("reason", e.reason);
      if (!e.receipt_signature.empty()) w.field("receipt_signature", e.receipt_signature);
      w.field("requested_ms", e.requested_ms).end_object();
    }
    w.end_array().end_object();
  }
  if (!erased) {
    if (!r.sealed_evidence_.empty()) w.field("evidence", r.sealed_evidence_);
    if (r.received_) {
      w.field("expires_ms", r.received_->expires_ms).field("handoff", r.received_->handoff);
    }
  }
  w.field("id", r.id);
  if (!erased && r.intake) {
    w.key("intake").begin_object().field("day", r.intake->day).field("form", r.intake->form);
    if (!r.intake->links.empty()) {
      w.key("links").begin_object();
      for (const auto& [referral, expires_ms] : r.intake->links) w.field(referral, expires_ms);
      w.end_object();
    }
    w.field("mails", r.intake->mails).end_object();
  }
  if (!erased && !r.wrapped_key_.empty()) w.field("key", r.wrapped_key_);  // not migrated yet
  if (r.lang != "ja") w.field("lang", r.lang);
  if (r.link_generation) w.field("link", std::int64_t{r.link_generation});
  if (!erased && r.received_) w.field("member", r.received_->member);
  w.field("origin", r.origin).field("pseudonym", r.pseudonym);
  if (!erased) {
    if (r.key_slot_) w.field("slot", std::int64_t{*r.key_slot_});
    w.key("spool").begin_array();
    for (const auto& s : r.spool_) w.string(s);
    w.end_array();
  }
  w.field("status", to_string(r.status));
  if (!erased) {
    w.key("tokens").begin_array();
    for (const auto& t : r.tokens_) w.string(t);
    w.end_array();
  }
  w.field("verified_ms", r.verified_ms);
  if (r.withdrawn_ms_) w.field("withdrawn_ms", r.withdrawn_ms_);
  w.end_object();
  return out;
}

nlohmann::json to_stored(const CandidateRecord& r) {
  return nlohmann::json::parse(stored_text(r));
}

IntakeState IntakeState::from_json(const nlohmann::json& j) {
  IntakeState state{j.value("day", std::int64_t{-1}),
                    j.value("mails", std::int64_t{0}),
                    j.value("form", std::string()),
                    {}};
  if (auto it = j.find("links"); it != j.end() && it->is_object())
    for (const auto& [referral, expires_ms] : it->items())
      if (expires_ms.is_number_integer()) state.links[referral] = expires_ms.get<std::int64_t>();
  return state;
}

CandidateRecord from_stored(const nlohmann::json& j) {
  CandidateRecord r;
  r.id = j.at("id");
  r.pseudonym = j.at("pseudonym");
  r.status = status_from(j.at("status"));
  r.created_ms = j.at("created_ms");
  r.verified_ms = j.value("verified_ms", std::int64_t{0});
  r.consent = Consent::from_json(j.at("consent"));
  r.origin = j.value("origin", std::string("local"));
  r.lang = j.value("lang", std::string("ja"));
  if (auto it = j.find("link"); it != j.end() && it->is_number_unsigned())
    r.link_generation = it->get<std::uint32_t>();
  if (auto it = j.find("intake"); it != j.end() && it->is_object())
    r.intake = IntakeState::from_json(*it);
  r.wrapped_key_ = text(j, "key");
  if (auto it = j.find("slot"); it != j.end() && it->is_number_unsigned())
    r.key_slot_ = it->get<std::uint32_t>();
  r.sealed_data_ = text(j, "data");
  r.sealed_evidence_ = text(j, "evidence");
  r.tokens_ = strings(j, "tokens");
  r.spool_ = strings(j, "spool");
  if (r.origin != "local" && r.status != Status::erased)
    r.received_ =
        Received{text(j, "handoff"), text(j, "member"), j.value("expires_ms", std::int64_t{0})};
  if (auto it = j.find("disclosures"); it != j.end() && it->is_array())
    for (const auto& d : *it) r.disclosures_.push_back(disclosure_from(d));
  if (auto it = j.find("erasure"); it != j.end() && it->is_object()) {
    r.erasure_requested_ms_ = it->value("requested_ms", std::int64_t{0});
    if (auto requests = it->find("requests"); requests != it->end() && requests->is_array())
      for (const auto& e : *requests) r.erasure_requests_.push_back(erasure_request_from(e));
  }
  r.erased_ms_ = j.value("erased_ms", std::int64_t{0});
  r.withdrawn_ms_ = j.value("withdrawn_ms", std::int64_t{0});
  return r;
}

}  // namespace relay::node::candidates
