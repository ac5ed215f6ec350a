#pragma once
// What the candidate pages (pages.cpp, management_page.cpp) share: the page frame (head, style,
// language switch, footer with the operator), the bilingual text helper and form controls.
// Internal to candidates/.
#include <map>
#include <string>
#include <vector>

#include "node/candidates/pages.hpp"

namespace relay::node::candidates::layout {

struct Text {
  const char* ja;
  const char* en;
};
inline const char* t(Lang lang, Text text) {
  return lang == Lang::ja ? text.ja : text.en;
}

// A whole page. `title` goes to <title> and <h1>; `has_errors` prefixes the title with
// "入力エラー" / "Error" so that a screen reader hears it first.
std::string page(Lang lang, const std::string& title, const std::string& body,
                 const std::string& other_lang_link, const OperatorInfo& op,
                 bool has_errors = false);

// `path` (which may carry a query) in the other language.
std::string lang_link(const std::string& path, Lang current);
// `path` in `lang` (?lang=en for English).
std::string in_lang(const std::string& path, Lang lang);

std::string value_of(const std::map<std::string, std::string>& values, const std::string& key);

// The error summary at the top of a form with errors: focused when the page loads.
std::string error_summary(Lang lang);
// One field's error line (id "err-<field>"), or "".
std::string field_error(const std::map<std::string, std::string>& errors, const std::string& field);
// aria-invalid and aria-describedby for a field with an error, or "".
std::string aria_for(const std::map<std::string, std::string>& errors, const std::string& field);

struct Field {
  std::string name;
  const char* type;  // text, email, tel
  Text label;
  bool required;
  const char* autocomplete;
};
std::string text_input(Lang lang, const Field& field,
                       const std::map<std::string, std::string>& values,
                       const std::map<std::string, std::string>& errors);
std::string select(Lang lang, const std::string& name, Text label,
                   const std::vector<Choice>& choices,
                   const std::map<std::string, std::string>& values,
                   const std::map<std::string, std::string>& errors);
std::string checkbox(const std::string& name, bool checked, const std::string& text);
// The profile fields both the registration and the edit form ask for, in order: phone, job
// category, skills, prefecture, age band, experience, desired roles.
std::string profile_inputs(Lang lang, const FormChoices& choices,
                           const std::map<std::string, std::string>& values,
                           const std::map<std::string, std::string>& errors);

}  // namespace relay::node::candidates::layout
