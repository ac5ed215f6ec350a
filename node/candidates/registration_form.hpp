#pragma once
// The registration form a candidate submits behind a relay link: parsing and validation.
// Errors are keyed by field and carry messages in both languages, so the page can show them
// next to the field; nothing is stored for an invalid form.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/reference.hpp"
#include "node/candidates/consent.hpp"

namespace relay::node::candidates {

// The anonymised profile: what may circulate (no names, no contact data).
struct Profile {
  std::string job_category;
  std::vector<std::string> skills;  // normalised tags
  std::string prefecture;
  std::string age_band;
  std::string experience_band;
  std::vector<std::string> desired_roles;

  nlohmann::json to_json() const;
  static Profile from_json(const nlohmann::json& j);
};

// Personal data: never leaves the vault unencrypted, never in logs or the ledger.
struct PersonalData {
  std::string name;
  std::string email;  // as typed (trimmed)
  std::string phone;  // optional

  nlohmann::json to_json() const;
  static PersonalData from_json(const nlohmann::json& j);
};

// {"personal": personal.to_json(), "profile": profile.to_json()} as compact JSON text, the
// plaintext a candidate record seals: the bytes protocol::compact_dump writes for that tree,
// without building it. Throws std::invalid_argument for a string that is not valid UTF-8.
std::string sealed_data_text(const PersonalData& personal, const Profile& profile);

struct Registration {
  PersonalData personal;
  Profile profile;
  Consent consent;
};

struct FieldError {
  std::string ja;
  std::string en;
};

struct FormResult {
  std::optional<Registration> registration;
  std::map<std::string, FieldError> errors;  // field -> message
};

FormResult parse_registration(const std::map<std::string, std::string>& form,
                              const config::Reference& reference,
                              const std::string& consent_version, std::int64_t now_ms);

// A phone number as typed with full-width digits, dashes (－ ー ‐ − …), parentheses, plus and
// ideographic spaces turned into ASCII; other characters unchanged (validation decides).
std::string normalise_phone(std::string_view typed);

// Trimmed, lower-cased address if it looks like an email address; nullopt otherwise. The
// pseudonym of a candidate is a keyed hash of this form.
std::optional<std::string> normalise_email(std::string_view email);

}  // namespace relay::node::candidates
