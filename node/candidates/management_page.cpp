// The candidate's private management page and the readable export (pages.hpp).
#include "node/candidates/page_layout.hpp"
#include "node/candidates/pages.hpp"

namespace relay::node::candidates {

namespace {

using namespace layout;

std::string form_open(const std::string& action, Lang lang) {
  return "<form method=\"post\" action=\"" + html_escape(in_lang(action, lang)) + "\">";
}

std::string disclosure_table(Lang L, const std::vector<DisclosureRow>& rows) {
  const char* company = t(L, {"提供先企業", "Company"});
  const char* node = t(L, {"ノード", "Node"});
  const char* when = t(L, {"日時", "When"});
  const char* consent = t(L, {"同意文", "Consent text"});
  const char* erasure = t(L, {"削除", "Erasure"});
  std::string out = "<table class=\"list\"><tr><th>" + std::string(company) + "</th><th>" + node +
                    "</th><th>" + when + "</th><th>" + consent + "</th><th>" + erasure +
                    "</th></tr>";
  auto cell = [](const char* label, const std::string& value) {
    return "<td data-label=\"" + html_escape(label) + "\">" + html_escape(value) + "</td>";
  };
  for (const auto& d : rows)
    out += "<tr>" + cell(company, d.recipient_company) + cell(node, d.recipient_node) +
           cell(when, d.when) + cell(consent, d.consent_version) +
           cell(erasure, d.erasure_status.empty() ? "-" : d.erasure_status) + "</tr>";
  return out + "</table>";
}

std::string key_values(const std::vector<std::pair<std::string, std::string>>& lines) {
  std::string out = "<table class=\"kv\">";
  for (const auto& [label, value] : lines)
    out += "<tr><th scope=\"row\">" + html_escape(label) + "</th><td>" + html_escape(value) +
           "</td></tr>";
  return out + "</table>";
}

std::string edit_form(const ManagementPage& p, const FormChoices& choices) {
  auto L = p.lang;
  const auto& v = p.values;
  const auto& e = p.errors;
  std::string out = "<details id=\"edit\"" + std::string(e.empty() ? "" : " open") + "><summary>" +
                    t(L, {"登録内容を変更する", "Change your details"}) + "</summary>";
  out += form_open(p.base + "/edit", L);
  out += text_input(L, {"name", "text", {"氏名", "Full name"}, true, "name"}, v, e);
  out +=
      "<p><small>" +
      std::string(t(L, {"メールアドレスを変える場合は、データを削除して新しいアドレスで登録し直し"
                        "てください。",
                        "To change your email address, erase your data and register again "
                        "with the new address."})) +
      "</small></p>";
  out += profile_inputs(L, choices, v, e);
  out += "<button type=\"submit\">" + std::string(t(L, {"変更を保存する", "Save changes"})) +
         "</button></form></details>";
  return out;
}

}  // namespace

std::string render_management(const ManagementPage& p, const FormChoices& choices) {
  auto L = p.lang;
  std::string body;
  if (!p.errors.empty()) body += error_summary(L);
  if (!p.flash.empty())
    body += std::string(p.flash_error ? "<p class=\"flash bad\" role=\"alert\">"
                                      : "<p class=\"flash\" role=\"status\">") +
            html_escape(p.flash) + "</p>";
  if (p.welcome)
    body +=
        "<div class=\"box\"><p><strong>" +
        std::string(t(L, {"このページのアドレスは、あなた専用の管理リンクです。他の人に知らせない"
                          "でください（知っている人は誰でもあなたのデータを管理できます）。同じ"
                          "リンクをメールでもお送りしました。ブックマークしておくと便利です。",
                          "This page's address is your private management link. Keep it "
                          "private: anyone who has it can manage your data. We have emailed it "
                          "too; you may bookmark this page."})) +
        "</strong></p><p class=\"link\">" + html_escape(in_lang(p.public_url + p.base, L)) +
        "</p></div>";
  if (!p.email_verified)
    body +=
        "<p class=\"err\">" +
        std::string(t(
            L, {"メールアドレスの確認がまだです。届いたメールのリンクを開いてください。",
                "Your email address is not confirmed yet: open the link in the email we sent."})) +
        "</p>";
  body += "<h2>" + std::string(t(L, {"登録内容", "What we hold about you"})) + "</h2>";
  body += key_values(p.profile);
  body += edit_form(p, choices);
  body += "<p><a href=\"" + html_escape(in_lang(p.base + "/data", L)) + "\">" +
          t(L, {"すべてのデータを表示・印刷する", "View or print all your data"}) +
          "</a><br><a href=\"" + html_escape(p.base + "/export") + "\" download>" +
          t(L, {"すべてのデータをJSONでダウンロード", "Download all your data as JSON"}) +
          "</a></p>";

  body += "<h2>" + std::string(t(L, {"同意の確認・変更", "Your consent"})) + "</h2>";
  body += form_open(p.base + "/consent", L);
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
          "</p>" + form_open(p.base + "/requests/" + r.id, L) +
          "<button name=\"decision\" value=\"accept\">" + t(L, {"承認する", "Accept"}) +
          "</button> <button name=\"decision\" value=\"decline\">" + t(L, {"断る", "Decline"}) +
          "</button></form></div>";
    }
  }

  body += "<h2>" + std::string(t(L, {"仕事が見つかりましたか", "Found work?"})) + "</h2>";
  body += form_open(p.base + "/found-work", L) + "<p>" +
          t(L, {"再就職が決まったら教えてください（統計にのみ使われ、あなたの名前は記録されませ"
                "ん）。",
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
  if (p.disclosures.empty())
    body += "<p>" +
            std::string(t(L, {"あなたの個人データはまだ誰にも提供されていません。",
                              "Your personal data has not been provided to anyone."})) +
            "</p>";
  else
    body += disclosure_table(L, p.disclosures);

  body += "<h2>" + std::string(t(L, {"このページのリンク", "This page's link"})) + "</h2>";
  body += form_open(p.base + "/replace-link", L) + "<p>" +
          t(L, {"このページのアドレスを他の人が知っているかもしれない場合（メールの転送、共用の"
                "パソコンなど）は、リンクを新しくしてください。新しいリンクを登録されたメール"
                "アドレスにお送りし、今のリンクは使えなくなります。",
                "If someone else may know this page's address (a forwarded email, a shared "
                "computer), replace the link: we email a new one to your address, and this one "
                "stops working."}) +
          "</p><button>" + t(L, {"リンクを新しくする", "Replace my link"}) + "</button></form>";

  body += "<h2>" + std::string(t(L, {"撤回と削除", "Withdraw or erase"})) + "</h2>";
  body += "<p>" +
          std::string(t(L, {"同意を撤回すると、あなたのデータを受け取った各ノードに削除を依頼します"
                            "（採用が報告された企業は雇用に必要な情報を保持します）。",
                            "Withdrawing asks every node that received your data to delete it "
                            "(an employer that reported hiring you keeps what employment "
                            "needs)."})) +
          "</p>";
  body += form_open(p.base + "/withdraw", L) + "<button>" +
          t(L, {"すべての同意を撤回する", "Withdraw all consent"}) + "</button></form>";
  body += form_open(p.base + "/erase", L) +
          checkbox("confirm", false,
                   t(L, {"データを完全に削除することを確認しました（元に戻せません）",
                         "I understand my data will be erased for good (this cannot be undone)"})) +
          "<button>" + t(L, {"データを削除する", "Erase my data"}) + "</button></form>";
  return page(L, t(L, {"あなたの登録情報", "Your registration"}), body, lang_link(p.base, L),
              p.operator_info, !p.errors.empty() || p.flash_error);
}

std::string render_export(const ExportPage& p) {
  auto L = p.lang;
  std::string body = "<p>" +
                     std::string(t(L, {"このノードがあなたについて保持しているすべてのデータです。",
                                       "Everything this node holds about you."})) +
                     "</p>";
  body += key_values(p.lines);
  body += "<h2>" + std::string(t(L, {"紹介元の企業", "Companies that referred you"})) + "</h2>";
  if (p.referrals.empty()) body += "<p>-</p>";
  for (const auto& r : p.referrals) {
    body += "<p>";
    for (std::size_t i = 0; i < r.size(); ++i) body += (i ? " / " : "") + html_escape(r[i]);
    body += "</p>";
  }
  body += "<h2>" + std::string(t(L, {"提供記録", "Who received your data"})) + "</h2>";
  body += p.disclosures.empty() ? "<p>-</p>" : disclosure_table(L, p.disclosures);
  body += "<p><a href=\"" + html_escape(in_lang(p.base, L)) + "\">" +
          t(L, {"管理ページに戻る", "Back to your management page"}) + "</a> · <a href=\"" +
          html_escape(p.base + "/export") + "\" download>JSON</a></p>";
  return page(L, t(L, {"あなたのデータ", "Your data"}), body, lang_link(p.base + "/data", L),
              p.operator_info);
}

}  // namespace relay::node::candidates
