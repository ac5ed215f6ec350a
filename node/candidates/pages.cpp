#include "node/candidates/pages.hpp"

namespace relay::node::candidates {

namespace {

struct Text {
  const char* ja;
  const char* en;
};
const char* t(Lang lang, Text text) {
  return lang == Lang::ja ? text.ja : text.en;
}

const char* kStyle =
    "body{font-family:system-ui,'Hiragino Sans','Noto Sans JP',sans-serif;max-width:44rem;"
    "margin:2rem auto;padding:0 1rem;line-height:1.6;color:#222}"
    "label{display:block;margin-top:.8rem;font-weight:600}"
    "input[type=text],input[type=email],input[type=tel],select{width:100%;padding:.4rem;"
    "font-size:1rem;box-sizing:border-box}"
    ".check{font-weight:400;display:flex;gap:.5rem;align-items:flex-start}"
    ".err{color:#b00020;font-weight:400;margin:.2rem 0}"
    ".box{border:1px solid #ccc;border-radius:6px;padding:.8rem 1rem;margin:1rem "
    "0;background:#fafafa}"
    ".flash{background:#e7f6e7;border:1px solid #7c7;padding:.6rem 1rem;border-radius:6px}"
    "button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem}"
    "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid "
    "#ddd;padding:.3rem;text-align:left}"
    "nav{text-align:right}";

std::string page(Lang lang, const std::string& title, const std::string& body,
                 const std::string& other_lang_link) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"";
  out += lang == Lang::ja ? "ja" : "en";
  out +=
      "\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
      "content=\"width=device-width,initial-scale=1\"><meta name=\"robots\" content=\"noindex\">"
      "<meta name=\"referrer\" content=\"no-referrer\"><title>";
  out += html_escape(title) + "</title><style>" + kStyle + "</style></head><body>";
  if (!other_lang_link.empty())
    out += "<nav><a href=\"" + html_escape(other_lang_link) + "\">" +
           (lang == Lang::ja ? "English" : "日本語") + "</a></nav>";
  out += "<h1>" + html_escape(title) + "</h1>" + body + "</body></html>\n";
  return out;
}

std::string lang_link(const std::string& path, Lang current) {
  return current == Lang::ja ? path + "?lang=en" : path + "?lang=ja";
}

std::string with_lang(const std::string& path, Lang lang) {
  return lang == Lang::en ? path + "?lang=en" : path;
}

std::string value_of(const std::map<std::string, std::string>& values, const std::string& key) {
  auto it = values.find(key);
  return it == values.end() ? std::string{} : it->second;
}

std::string error_of(const RegistrationPage& p, const std::string& field) {
  auto it = p.errors.find(field);
  if (it == p.errors.end()) return {};
  return "<p class=\"err\" id=\"err-" + field + "\">" + html_escape(it->second) + "</p>";
}

std::string text_input(const RegistrationPage& p, const std::string& name, const char* type,
                       Text label, bool required) {
  std::string out = "<label for=\"" + name + "\">" + t(p.lang, label);
  if (!required) out += t(p.lang, {"（任意）", " (optional)"});
  out += "</label>" + error_of(p, name) + "<input type=\"" + type + "\" id=\"" + name +
         "\" name=\"" + name + "\" value=\"" + html_escape(value_of(p.values, name)) + "\"";
  if (required) out += " required";
  out += ">";
  return out;
}

std::string select(Lang lang, const std::string& name, Text label,
                   const std::vector<Choice>& choices, const std::string& selected,
                   const std::string& error_html) {
  std::string out = "<label for=\"" + name + "\">" + t(lang, label) + "</label>" + error_html +
                    "<select id=\"" + name + "\" name=\"" + name +
                    "\" required><option value=\"\">" +
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

std::string purpose_box(Lang lang, const std::string& company, const std::string& node,
                        bool alumni) {
  std::string out = "<div class=\"box\"><h2>";
  out += t(lang, {"このサービスについて", "About this service"});
  out += "</h2><p>";
  if (lang == Lang::ja) {
    if (alumni)
      out += html_escape(company) +
             "を退職される方へ：地域の他の企業があなたの経験を求めているかもしれません。"
             "この登録により、" +
             html_escape(company) +
             "も再雇用の候補としてあなたを匿名のプロフィールで見つけられるようになります"
             "（氏名・連絡先は、あなたが個別の紹介に同意するまで提供されません）。";
    else
      out += html_escape(company) +
             "の選考では残念な結果となりましたが、地域の他の企業があなたの経験を求めているかもし"
             "れません。";
    out += "この登録は、地域の人材循環ネットワーク（運営: " + html_escape(node) +
           "）に参加企業への紹介のためにあなたの情報を預けるものです。</p>"
           "<p><strong>利用目的:</strong> "
           "求人とのマッチング、同意いただいた範囲での企業・他地域ノードへの紹介、"
           "同意いただいた場合のみ匿名化された統計。"
           "氏名・連絡先は、特定の紹介にあなたが個別に同意するまで企業や他地域に提供されません（個"
           "人情報保護法第27条）。"
           "提供した場合は、提供先と日時をあなたの管理ページに記録します。</p>"
           "<p>登録・紹介は無料です。求職者から料金を受け取ることはありません。"
           "登録後に届く管理用リンクから、いつでも情報の確認、同意の変更・撤回、削除ができます。";
  } else {
    if (alumni)
      out += "For people leaving " + html_escape(company) +
             ": other companies in the region may want your experience, and by registering " +
             html_escape(company) +
             " can also find your anonymised profile again to re-hire you (再雇用); your name and "
             "contact details still go to nobody until you consent to a specific introduction. ";
    else
      out += "The hiring process at " + html_escape(company) +
             " did not work out, but other companies in the region may want your experience. ";
    out +=
        "By "
        "registering you leave your details with the regional talent relay (run by " +
        html_escape(node) +
        ") so that member companies can be introduced to you.</p>"
        "<p><strong>Purpose:</strong> matching you with openings, introductions to companies and "
        "to other regions' nodes within what you consent to below, and anonymised statistics "
        "only if you agree. Your name and contact details go to no company or other region "
        "until you consent to that specific introduction (APPI Art. 27); every such provision "
        "is recorded on your management page with recipient and date.</p>"
        "<p>Registration and introductions are free: nothing is ever charged to job seekers. "
        "After registering you get a private link to view your data, change or withdraw "
        "consent, and erase your data at any time.";
  }
  return out + "</p></div>";
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

Lang lang_from(const std::map<std::string, std::string>& query) {
  auto it = query.find("lang");
  return it != query.end() && it->second == "en" ? Lang::en : Lang::ja;
}

std::string render_registration(const RegistrationPage& p, const FormChoices& choices) {
  auto L = p.lang;
  std::string body = purpose_box(L, p.company_name, p.node_name, p.alumni);
  if (!p.errors.empty())
    body += "<p class=\"err\" role=\"alert\">" +
            std::string(
                t(L, {"入力内容を確認してください。", "Please check the highlighted fields."})) +
            "</p>";
  body += "<form method=\"post\" action=\"" + html_escape(with_lang(p.action, L)) + "\">";
  body += "<h2>" + std::string(t(L, {"登録情報", "Your details"})) + "</h2>";
  body += text_input(p, "name", "text", {"氏名", "Full name"}, true);
  body += text_input(p, "email", "email", {"メールアドレス", "Email"}, true);
  body += text_input(p, "phone", "tel", {"電話番号", "Phone"}, false);
  body += select(L, "job_category", {"希望職種（大分類）", "Job category"}, choices.job_categories,
                 value_of(p.values, "job_category"), error_of(p, "job_category"));
  body +=
      text_input(p, "skills", "text", {"スキル（カンマ区切り）", "Skills (comma separated)"}, true);
  body += select(L, "prefecture", {"居住都道府県", "Prefecture"}, choices.prefectures,
                 value_of(p.values, "prefecture"), error_of(p, "prefecture"));
  body += select(L, "age_band", {"年齢層", "Age band"}, choices.age_bands,
                 value_of(p.values, "age_band"), error_of(p, "age_band"));
  body +=
      select(L, "experience_band", {"経験年数", "Years of experience"}, choices.experience_bands,
             value_of(p.values, "experience_band"), error_of(p, "experience_band"));
  body += text_input(p, "desired_roles", "text",
                     {"希望する職務（カンマ区切り）", "Desired roles (comma separated)"}, false);
  body += "<h2>" + std::string(t(L, {"同意（項目ごとに選べます）", "Consent (each is separate)"})) +
          "</h2>";
  body += error_of(p, "consent_region");
  body += checkbox(
      "consent_region", value_of(p.values, "consent_region") == "yes",
      t(L, {"【必須】この地域の参加企業に、匿名化したプロフィール（職種・スキル・地域・年齢層・経験"
            "）を紹介のために提示すること",
            "[Required] Show my anonymised profile (category, skills, prefecture, age band, "
            "experience) to member companies in this region for introductions"}));
  body += checkbox("consent_peers", value_of(p.values, "consent_peers") == "yes",
                   t(L, {"他地域のノードに匿名化したプロフィールを共有すること（氏名・連絡先は紹介"
                         "ごとの同意がない限り共有されません）",
                         "Share my anonymised profile with other regions' nodes (name and contact "
                         "details are never shared without my consent to each introduction)"}));
  body += checkbox(
      "consent_stats", value_of(p.values, "consent_stats") == "yes",
      t(L, {"匿名化・集計された統計（一定人数以上の集団のみ）に含めること",
            "Include me in anonymised, aggregated statistics (groups above a minimum size only)"}));
  body += "<p><small>" + std::string(t(L, {"同意文バージョン: ", "Consent text version: "})) +
          html_escape(p.consent_version) + "</small></p>";
  body += "<button type=\"submit\">" +
          std::string(t(L, {"同意して登録する", "Consent and register"})) + "</button></form>";
  return page(L, t(L, {"キャリアリレーへの登録", "Register with the career relay"}), body,
              lang_link(p.action, L));
}

std::string render_notice(Lang lang, const std::string& title,
                          const std::vector<std::string>& paragraphs, const std::string& link,
                          const std::string& link_text) {
  std::string body;
  for (const auto& para : paragraphs) body += "<p>" + html_escape(para) + "</p>";
  if (!link.empty())
    body += "<p><a href=\"" + html_escape(link) + "\">" +
            html_escape(link_text.empty() ? link : link_text) + "</a></p>";
  return page(lang, title, body, {});
}

std::string render_management(const ManagementPage& p, const FormChoices& choices) {
  (void)choices;
  auto L = p.lang;
  std::string body;
  if (!p.flash.empty())
    body += "<p class=\"flash\" role=\"status\">" + html_escape(p.flash) + "</p>";
  if (!p.email_verified)
    body +=
        "<p class=\"err\">" +
        std::string(t(
            L, {"メールアドレスの確認がまだです。届いたメールのリンクを開いてください。",
                "Your email address is not confirmed yet: open the link in the email we sent."})) +
        "</p>";
  body += "<h2>" + std::string(t(L, {"登録内容", "What we hold about you"})) + "</h2><table>";
  for (const auto& [field, value] : p.profile)
    body += "<tr><th>" + html_escape(field) + "</th><td>" + html_escape(value) + "</td></tr>";
  body += "</table><p><a href=\"" + html_escape(p.base + "/export") + "\">" +
          t(L, {"すべてのデータをJSONでダウンロード", "Download all your data as JSON"}) +
          "</a></p>";

  body += "<h2>" + std::string(t(L, {"同意の確認・変更", "Your consent"})) + "</h2>";
  body +=
      "<form method=\"post\" action=\"" + html_escape(with_lang(p.base + "/consent", L)) + "\">";
  body += checkbox("consent_region", p.consent_region,
                   t(L, {"この地域の参加企業への匿名プロフィール提示",
                         "Anonymised profile shown to member companies in this region"}));
  body += checkbox("consent_peers", p.consent_peers,
                   t(L, {"他地域ノードへの匿名プロフィール共有",
                         "Anonymised profile shared with other regions' nodes"}));
  body += checkbox("consent_stats", p.consent_stats,
                   t(L, {"匿名化された統計への利用", "Use in anonymised statistics"}));
  body += "<p><small>" + std::string(t(L, {"同意文バージョン: ", "Consent text version: "})) +
          html_escape(p.consent_version) + " / " + html_escape(p.consent_at) + "</small></p>";
  body += "<button type=\"submit\">" + std::string(t(L, {"同意を更新する", "Update consent"})) +
          "</button></form>";

  if (!p.pending_requests.empty()) {
    body += "<h2>" + std::string(t(L, {"紹介のリクエスト", "Introduction requests"})) + "</h2>";
    for (const auto& r : p.pending_requests) {
      body += "<div class=\"box\"><p>" + html_escape(r.company) + " (" + html_escape(r.node) +
              ", " + html_escape(r.region) + ") — " + html_escape(r.when) + "</p>";
      if (!r.position.empty()) body += "<p><strong>" + html_escape(r.position) + "</strong></p>";
      if (!r.reasons.empty()) {
        body += "<p>" +
                std::string(
                    t(L, {"この企業にあなたが提案された理由（自動計算・判断するのはあなたです）:",
                          "Why you were proposed (computed; you decide):"})) +
                "</p><ul>";
        for (const auto& reason : r.reasons) body += "<li>" + html_escape(reason) + "</li>";
        body += "</ul>";
      }
      body +=
          "<p>" +
          std::string(t(L, {"承認すると、氏名・連絡先を含むあなたの情報がこの企業に提供されます。",
                            "If you accept, your details including name and contact are provided "
                            "to this company."})) +
          "</p><form method=\"post\" action=\"" +
          html_escape(with_lang(p.base + "/requests/" + r.id, L)) +
          "\">"
          "<button name=\"decision\" value=\"accept\">" +
          t(L, {"承認する", "Accept"}) + "</button> <button name=\"decision\" value=\"decline\">" +
          t(L, {"断る", "Decline"}) + "</button></form></div>";
    }
  }

  body += "<h2>" + std::string(t(L, {"仕事が見つかりましたか", "Found work?"})) + "</h2>";
  body +=
      "<form method=\"post\" action=\"" + html_escape(with_lang(p.base + "/found-work", L)) +
      "\"><p>" +
      t(L, {"再就職が決まったら教えてください（統計にのみ使われ、あなたの名前は記録されません）。",
            "Tell us when you have found work (used only for statistics; your name is not "
            "recorded)."}) +
      "</p>";
  if (!p.recipients.empty()) {
    body += "<label>" +
            std::string(t(L, {"紹介を受けた企業経由の場合: ",
                              "Through a company you were introduced to: "})) +
            "<select name=\"through\"><option value=\"\">-</option>";
    for (const auto& r : p.recipients)
      body += "<option value=\"" + html_escape(r.member_id) + "\">" + html_escape(r.company) +
              "</option>";
    body += "</select></label> ";
  }
  body += "<button name=\"found\" value=\"yes\">" +
          std::string(t(L, {"仕事が見つかった", "I found work"})) + "</button></form>";

  body += "<h2>" + std::string(t(L, {"提供記録", "Who received your data"})) + "</h2>";
  if (p.disclosures.empty()) {
    body += "<p>" +
            std::string(t(L, {"あなたの個人データはまだ誰にも提供されていません。",
                              "Your personal data has not been provided to anyone."})) +
            "</p>";
  } else {
    body += "<table><tr><th>" + std::string(t(L, {"提供先企業", "Company"})) + "</th><th>" +
            t(L, {"ノード", "Node"}) + "</th><th>" + t(L, {"日時", "When"}) + "</th><th>" +
            t(L, {"同意文", "Consent text"}) + "</th><th>" + t(L, {"削除", "Erasure"}) +
            "</th></tr>";
    for (const auto& d : p.disclosures)
      body += "<tr><td>" + html_escape(d.recipient_company) + "</td><td>" +
              html_escape(d.recipient_node) + "</td><td>" + html_escape(d.when) + "</td><td>" +
              html_escape(d.consent_version) + "</td><td>" + html_escape(d.erasure_status) +
              "</td></tr>";
    body += "</table>";
  }

  body += "<h2>" + std::string(t(L, {"撤回と削除", "Withdraw or erase"})) + "</h2>";
  body += "<form method=\"post\" action=\"" + html_escape(with_lang(p.base + "/withdraw", L)) +
          "\"><button>" + t(L, {"すべての同意を撤回する", "Withdraw all consent"}) +
          "</button></form>";
  body += "<form method=\"post\" action=\"" + html_escape(with_lang(p.base + "/erase", L)) + "\">" +
          checkbox("confirm", false,
                   t(L, {"データを完全に削除することを確認しました（元に戻せません）",
                         "I understand my data will be erased for good (this cannot be undone)"})) +
          "<button>" + t(L, {"データを削除する", "Erase my data"}) + "</button></form>";
  return page(L, t(L, {"あなたの登録情報", "Your registration"}), body, lang_link(p.base, L));
}

}  // namespace relay::node::candidates
