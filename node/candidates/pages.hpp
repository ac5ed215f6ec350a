#pragma once
// The candidate's HTML pages (Japanese first, English with ?lang=en): the registration form
// behind a relay link, notices, and the private management page. Pure functions from view
// structs to HTML; every value is escaped here. No JavaScript is needed.
#include <map>
#include <string>
#include <vector>

namespace relay::node::candidates {

struct Choice {
  std::string code;
  std::string ja;
  std::string en;
};

struct FormChoices {
  std::vector<Choice> job_categories;
  std::vector<Choice> prefectures;
  std::vector<Choice> age_bands;
  std::vector<Choice> experience_bands;
};

enum class Lang { ja, en };
Lang lang_from(const std::map<std::string, std::string>& query);

struct RegistrationPage {
  Lang lang = Lang::ja;
  std::string action;        // the form's POST target (the relay link path)
  std::string company_name;  // the member that referred the candidate
  bool alumni = false;       // through an alumni link: the person is leaving company_name
  std::string node_name;
  std::string consent_version;
  std::map<std::string, std::string> values;  // re-filled after a failed submission
  std::map<std::string, std::string> errors;  // field -> message (already in the page's language)
};
std::string render_registration(const RegistrationPage& page, const FormChoices& choices);

// A page with a title and paragraphs (each escaped); link optional.
std::string render_notice(Lang lang, const std::string& title,
                          const std::vector<std::string>& paragraphs, const std::string& link = {},
                          const std::string& link_text = {});

// One line of the management page's "who received your data" table.
struct DisclosureRow {
  std::string recipient_company;
  std::string recipient_node;
  std::string when;  // ISO 8601
  std::string consent_version;
  std::string erasure_status;  // "", "requested", "confirmed"
};

struct PendingRequest {
  std::string id;
  std::string company;
  std::string node;
  std::string region;
  std::string when;
  std::string position;              // requisition title and employment type (local requests)
  std::vector<std::string> reasons;  // the match's reasons, each "text +30", in the page's language
};

// A company the candidate's data was provided to on this node (for "I found work": through whom).
struct Recipient {
  std::string member_id;
  std::string company;
};

struct ManagementPage {
  Lang lang = Lang::ja;
  std::string base;                            // the management link path, /r/m/<token>
  std::map<std::string, std::string> profile;  // field -> display value
  bool email_verified = false;
  bool consent_region = false;
  bool consent_peers = false;
  bool consent_stats = false;
  std::string consent_version;
  std::string consent_at;
  std::vector<DisclosureRow> disclosures;
  std::vector<PendingRequest> pending_requests;
  std::vector<Recipient> recipients;  // choices for the "I found work" form
  std::string flash;                  // a one-line confirmation at the top
};
std::string render_management(const ManagementPage& page, const FormChoices& choices);

std::string html_escape(const std::string& text);

}  // namespace relay::node::candidates
