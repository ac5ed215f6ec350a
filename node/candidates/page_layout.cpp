#include "node/candidates/page_layout.hpp"

namespace relay::node::candidates::layout {

namespace {

// No script anywhere: the pages are served with a CSP without script-src. At 390 px nothing
// may overflow: long links break anywhere, tables become labelled lists.
const char* kStyle =
    "*{box-sizing:border-box}"
    "body{font-family:system-ui,'Hiragino Sans','Noto Sans JP',sans-serif;max-width:44rem;"
    "margin:1rem auto;padding:0 1rem;line-height:1.6;color:#222;overflow-wrap:break-word}"
    "h1{font-size:1.5rem;line-height:1.3}h2{font-size:1.2rem;margin-top:2rem}"
    "a{overflow-wrap:anywhere}"
    "label{display:block;margin-top:.8rem;font-weight:600}"
    "input[type=text],input[type=email],input[type=tel],select{width:100%;padding:.5rem;"
    "font-size:1rem;border:1px solid #888;border-radius:4px}"
    "[aria-invalid=true]{border:2px solid #b00020;background:#fff6f7}"
    ".check{font-weight:400;display:flex;gap:.5rem;align-items:flex-start}"
    ".err{color:#b00020;font-weight:600;margin:.2rem 0}"
    ".summary{border:2px solid #b00020;background:#fff6f7;padding:.6rem 1rem;border-radius:6px}"
    ".box{border:1px solid #ccc;border-radius:6px;padding:.8rem 1rem;margin:1rem 0;"
    "background:#fafafa}"
    ".flash{background:#e7f6e7;border:1px solid #7c7;padding:.6rem 1rem;border-radius:6px}"
    ".flash.bad{background:#fff6f7;border:2px solid #b00020;color:#b00020;font-weight:600}"
    ".link{font-family:monospace;word-break:break-all;background:#f3f3f3;padding:.4rem;"
    "border-radius:4px}"
    "button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem;min-height:44px}"
    "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;"
    "text-align:left;vertical-align:top}th{white-space:nowrap}"
    "@media (max-width:40rem){table.list,table.list tbody,table.list tr,table.list td{"
    "display:block;width:100%}table.list tr:first-child{display:none}"
    "table.list tr{border-bottom:1px solid #ccc;padding:.4rem 0}table.list td{border:0;"
    "padding:.1rem 0}table.list td::before{content:attr(data-label) ': ';font-weight:600}"
    "table.kv th{white-space:normal;width:35%}}"
    "nav{text-align:right}footer{margin-top:3rem;border-top:1px solid #ddd;font-size:.9rem;"
    "color:#555}";

}  // namespace

std::string page(Lang lang, const std::string& title, const std::string& body,
                 const std::string& other_lang_link, const OperatorInfo& op, bool has_errors) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"";
  out += lang == Lang::ja ? "ja" : "en";
  out +=
      "\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
      "content=\"width=device-width,initial-scale=1\"><meta name=\"robots\" content=\"noindex\">"
      "<meta name=\"referrer\" content=\"no-referrer\"><title>";
  if (has_errors) out += t(lang, {"入力エラー: ", "Error: "});
  out += html_escape(title) + "</title><style>" + kStyle + "</style></head><body>";
  if (!other_lang_link.empty())
    out += "<nav><a href=\"" + html_escape(other_lang_link) + "\" hreflang=\"" +
           (lang == Lang::ja ? "en\" lang=\"en\">English" : "ja\" lang=\"ja\">日本語") +
           "</a></nav>";
  out += "<main><h1>" + html_escape(title) + "</h1>" + body + "</main><footer>";
  if (!op.name.empty())
    out += "<p>" + std::string(t(lang, {"運営: ", "Run by "})) + html_escape(op.name) + "</p>";
  if (!op.contact.empty())
    out += "<p>" + std::string(t(lang, {"お問い合わせ: ", "Contact: "})) + html_escape(op.contact) +
           "</p>";
  if (!op.privacy_url.empty())
    out += "<p><a href=\"" + html_escape(op.privacy_url) + "\">" +
           t(lang, {"プライバシーポリシー", "Privacy policy"}) + "</a></p>";
  out += "</footer></body></html>\n";
  return out;
}

std::string in_lang(const std::string& path, Lang lang) {
  if (lang == Lang::ja) return path;
  return path + (path.find('?') == std::string::npos ? "?" : "&") + "lang=en";
}

std::string lang_link(const std::string& path, Lang current) {
  return in_lang(path, current == Lang::ja ? Lang::en : Lang::ja);
}

std::string value_of(const std::map<std::string, std::string>& values, const std::string& key) {
  auto it = values.find(key);
  return it == values.end() ? std::string{} : it->second;
}

std::string error_summary(Lang lang) {
  // autofocus on a tabindex=-1 element moves focus here without script.
  return "<div class=\"summary\" id=\"error-summary\" role=\"alert\" tabindex=\"-1\" autofocus><p "
         "class=\"err\">" +
         std::string(t(lang, {"入力内容に誤りがあります。赤く示した項目を直してください。",
                              "There is a problem: please correct the fields marked in red."})) +
         "</p></div>";
}

std::string field_error(const std::map<std::string, std::string>& errors,
                        const std::string& field) {
  auto it = errors.find(field);
  if (it == errors.end()) return {};
  return "<p class=\"err\" id=\"err-" + field + "\">" + html_escape(it->second) + "</p>";
}

std::string aria_for(const std::map<std::string, std::string>& errors, const std::string& field) {
  if (!errors.count(field)) return {};
  return " aria-invalid=\"true\" aria-describedby=\"err-" + field + "\"";
}

std::string text_input(Lang lang, const Field& f, const std::map<std::string, std::string>& values,
                       const std::map<std::string, std::string>& errors) {
  std::string out = "<label for=\"" + f.name + "\">" + t(lang, f.label);
  if (!f.required) out += t(lang, {"（任意）", " (optional)"});
  out += "</label>" + field_error(errors, f.name) + "<input type=\"" + f.type + "\" id=\"" +
         f.name + "\" name=\"" + f.name + "\" autocomplete=\"" + f.autocomplete + "\" value=\"" +
         html_escape(value_of(values, f.name)) + "\"" + aria_for(errors, f.name);
  if (f.required) out += " required";
  out += ">";
  return out;
}

std::string select(Lang lang, const std::string& name, Text label,
                   const std::vector<Choice>& choices,
                   const std::map<std::string, std::string>& values,
                   const std::map<std::string, std::string>& errors) {
  auto selected = value_of(values, name);
  std::string out = "<label for=\"" + name + "\">" + t(lang, label) + "</label>" +
                    field_error(errors, name) + "<select id=\"" + name + "\" name=\"" + name +
                    "\" autocomplete=\"off\"" + aria_for(errors, name) +
                    " required><option value=\"\">" +
                    t(lang, {"選択してください", "Please choose"}) + "</option>";
  for (const auto& c : choices) {
    out += "<option value=\"" + html_escape(c.code) + "\"";
    if (c.code == selected) out += " selected";
    out += ">" + html_escape(lang == Lang::ja ? c.ja : c.en) + "</option>";
  }
  return out + "</select>";
}

std::string checkbox(const std::string& name, bool checked, const std::string& text) {
  return "<label class=\"check\"><input type=\"checkbox\" name=\"" + name + "\" value=\"yes\"" +
         (checked ? " checked" : "") + "><span>" + text + "</span></label>";
}

std::string profile_inputs(Lang L, const FormChoices& choices,
                           const std::map<std::string, std::string>& v,
                           const std::map<std::string, std::string>& e) {
  std::string out;
  out += text_input(L, {"phone", "tel", {"電話番号", "Phone"}, false, "tel"}, v, e);
  out += select(L, "job_category", {"希望職種（大分類）", "Job category"}, choices.job_categories,
                v, e);
  out += text_input(
      L, {"skills", "text", {"スキル（カンマ区切り）", "Skills (comma separated)"}, true, "off"}, v,
      e);
  out += select(L, "prefecture", {"居住都道府県", "Prefecture"}, choices.prefectures, v, e);
  out += select(L, "age_band", {"年齢層", "Age band"}, choices.age_bands, v, e);
  out += select(L, "experience_band", {"経験年数", "Years of experience"}, choices.experience_bands,
                v, e);
  out += text_input(L,
                    {"desired_roles",
                     "text",
                     {"希望する職務（カンマ区切り）", "Desired roles (comma separated)"},
                     false,
                     "off"},
                    v, e);
  return out;
}

}  // namespace relay::node::candidates::layout
