#pragma once
// The candidate's HTML pages (Japanese first, English with ?lang=en): the registration form
// behind a relay link, notices, and the private management page. Pure functions from view
// structs to HTML; every value is escaped here. No JavaScript at all (the pages are served
// with a CSP that forbids script); the layout holds at 390 px (tables become lists).
#include <map>
#include <string>
#include <utility>
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

// Who runs the node, in the footer of every page (config operator.*); empty parts are left out.
struct OperatorInfo {
  std::string name;
  std::string contact;
  std::string privacy_url;
};

struct RegistrationPage {
  Lang lang = Lang::ja;
  std::string action;        // the form's POST target (the relay link path)
  std::string company_name;  // the member that referred the candidate
  bool alumni = false;       // through an alumni link: the person is leaving company_name
  std::string node_name;
  std::string consent_version;
  std::map<std::string, std::string> values;  // re-filled after a failed submission
  std::map<std::string, std::string> errors;  // field -> message (already in the page's language)
  std::string nonce;                          // a fresh form nonce: a double tap registers once
  OperatorInfo operator_info;
};
std::string render_registration(const RegistrationPage& page, const FormChoices& choices);

// A page with a title and paragraphs (each escaped); link, language switch and a one-button
// POST form optional.
struct NoticePage {
  Lang lang = Lang::ja;
  std::string title;
  std::vector<std::string> paragraphs;
  bool error = false;  // styled as an error
  std::string link;
  std::string link_text;
  std::string other_lang_link;  // the same page in the other language
  std::string button_action;    // POST target of a single button
  std::string button_text;
  std::string email_label;  // non-empty: the button's form asks for an email address first
  OperatorInfo operator_info;
};
std::string render_notice(const NoticePage& page);

// One line of the management page's "who received your data" table.
struct DisclosureRow {
  std::string recipient_company;
  std::string recipient_node;
  std::string when;  // readable, JST
  std::string consent_version;
  std::string erasure_status;  // "" or the deletion request's progress, readable
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
  std::string base;  // the management link path, /r/m/<token>
  std::vector<std::pair<std::string, std::string>> profile;  // label -> display value, in order
  std::map<std::string, std::string> values;  // the edit form's values (codes for the choices)
  std::map<std::string, std::string> errors;  // edit form errors, field -> message
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
  bool flash_error = false;           // the flash reports an error
  bool welcome = false;               // just registered: say that this page's address is private
  std::string public_url;
  OperatorInfo operator_info;
};
std::string render_management(const ManagementPage& page, const FormChoices& choices);

// Everything held, with labels, to read or print (the JSON download has the same).
struct ExportPage {
  Lang lang = Lang::ja;
  std::string base;
  std::vector<std::pair<std::string, std::string>> lines;  // label -> value, in order
  std::vector<std::vector<std::string>> referrals;         // company, status, when
  std::vector<DisclosureRow> disclosures;
  OperatorInfo operator_info;
};
std::string render_export(const ExportPage& page);

std::string html_escape(const std::string& text);

}  // namespace relay::node::candidates
