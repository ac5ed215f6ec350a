#include "node/candidates/candidate_record.hpp"

#include <algorithm>

#include "node/common/stored_json.hpp"

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

nlohmann::json to_json(const ErasureRequest& r) {
  nlohmann::json j = {{"handoff", r.handoff},           {"peer", r.peer},
                      {"company", r.company},           {"requested_ms", r.requested_ms},
                      {"confirmed_ms", r.confirmed_ms}, {"overdue", r.overdue}};
  if (!r.receipt_signature.empty()) j["receipt_signature"] = r.receipt_signature;
  if (!r.reason.empty()) j["reason"] = r.reason;
  if (!r.outcome.empty()) j["outcome"] = r.outcome;
  return j;
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

nlohmann::json to_stored(const CandidateRecord& r) {
  nlohmann::json j = {{"id", r.id},
                      {"pseudonym", r.pseudonym},
                      {"status", to_string(r.status)},
                      {"created_ms", r.created_ms},
                      {"verified_ms", r.verified_ms},
                      {"consent", r.consent.to_json()},
                      {"origin", r.origin}};
  if (r.lang != "ja") j["lang"] = r.lang;
  if (r.status == Status::erased) {
    j["erased_ms"] = r.erased_ms_;
  } else {
    j["tokens"] = r.tokens_;
    j["spool"] = r.spool_;
    if (r.key_slot_) j["slot"] = *r.key_slot_;
    if (!r.wrapped_key_.empty()) j["key"] = r.wrapped_key_;  // not migrated yet
    j["data"] = r.sealed_data_;
    if (!r.sealed_evidence_.empty()) j["evidence"] = r.sealed_evidence_;
    if (r.received_) {
      j["handoff"] = r.received_->handoff;
      j["member"] = r.received_->member;
      j["expires_ms"] = r.received_->expires_ms;
    }
  }
  if (!r.disclosures_.empty()) {
    auto& list = j["disclosures"] = nlohmann::json::array();
    for (const auto& d : r.disclosures_) list.push_back(d.to_json());
  }
  if (r.erasure_requested_ms_) {
    auto requests = nlohmann::json::array();
    for (const auto& e : r.erasure_requests_) requests.push_back(to_json(e));
    j["erasure"] = {{"requested_ms", *r.erasure_requested_ms_}, {"requests", requests}};
  }
  if (r.withdrawn_ms_) j["withdrawn_ms"] = r.withdrawn_ms_;
  return j;
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
