#pragma once
// A candidate's consent: what they agreed their anonymised profile may be used for, under
// which version of the consent text, and when. Stored on the candidate record and carried in
// handoffs; it is not part of the form parser (confirming a referral or receiving a handoff
// reads it without any form).
//
// Invariant: every field is present in to_json(); from_json() requires all of them.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace relay::node::candidates {

struct Consent {
  bool region = false;  // anonymised profile shown to member companies in this region
  bool peers = false;   // anonymised profile shared with peer regions' nodes
  bool stats = false;   // included in anonymised, k-anonymous statistics
  std::string version;  // consent text version shown
  std::int64_t at_ms = 0;

  nlohmann::json to_json() const;
  // Throws nlohmann::json::exception if a field is missing or of the wrong type.
  static Consent from_json(const nlohmann::json& j);
};

}  // namespace relay::node::candidates
