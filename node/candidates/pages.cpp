#include "node/candidates/pages.hpp"

#include "node/candidates/page_layout.hpp"

namespace relay::node::candidates {

namespace {

using namespace layout;

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
  const auto& v = p.values;
  const auto& e = p.errors;
  std::string body;
  if (!e.empty()) body += error_summary(L);
  body += purpose_box(L, p.company_name, p.node_name, p.alumni);
  body += "<form method=\"post\" action=\"" + html_escape(in_lang(p.action, L)) + "\">";
  body += "<input type=\"hidden\" name=\"nonce\" value=\"" + html_escape(p.nonce) +
          "\"><input type=\"hidden\" name=\"lang\" value=\"" + (L == Lang::en ? "en" : "ja") +
          "\">";
  body += "<h2>" + std::string(t(L, {"登録情報", "Your details"})) + "</h2>";
  body += text_input(L, {"name", "text", {"氏名", "Full name"}, true, "name"}, v, e);
  body += text_input(L, {"email", "email", {"メールアドレス", "Email"}, true, "email"}, v, e);
  body += profile_inputs(L, choices, v, e);
  body += "<h2>" + std::string(t(L, {"同意（項目ごとに選べます）", "Consent (each is separate)"})) +
          "</h2>";
  body += field_error(e, "consent_region");
  body += checkbox(
      "consent_region", value_of(v, "consent_region") == "yes",
      t(L, {"【必須】この地域の参加企業に、匿名化したプロフィール（職種・スキル・地域・年齢層・経験"
            "）を紹介のために提示すること",
            "[Required] Show my anonymised profile (category, skills, prefecture, age band, "
            "experience) to member companies in this region for introductions"}));
  body += checkbox("consent_peers", value_of(v, "consent_peers") == "yes",
                   t(L, {"他地域のノードに匿名化したプロフィールを共有すること（氏名・連絡先は紹介"
                         "ごとの同意がない限り共有されません）",
                         "Share my anonymised profile with other regions' nodes (name and contact "
                         "details are never shared without my consent to each introduction)"}));
  body += checkbox(
      "consent_stats", value_of(v, "consent_stats") == "yes",
      t(L, {"匿名化・集計された統計（一定人数以上の集団のみ）に含めること",
            "Include me in anonymised, aggregated statistics (groups above a minimum size only)"}));
  body += "<p><small>" + std::string(t(L, {"同意文バージョン: ", "Consent text version: "})) +
          html_escape(p.consent_version) + "</small></p>";
  body += "<button type=\"submit\">" +
          std::string(t(L, {"同意して登録する", "Consent and register"})) + "</button></form>";
  return page(L, t(L, {"キャリアリレーへの登録", "Register with the career relay"}), body,
              lang_link(p.action, L), p.operator_info, !e.empty());
}

std::string render_notice(const NoticePage& n) {
  std::string body;
  bool first = true;
  for (const auto& para : n.paragraphs) {
    body += (n.error && first ? "<p class=\"err\">" : "<p>") + html_escape(para) + "</p>";
    first = false;
  }
  // A bare address is shown as one (monospace, breaking anywhere); a labelled link as text.
  if (!n.link.empty())
    body += std::string(n.link_text.empty() ? "<p class=\"link\">" : "<p>") + "<a href=\"" +
            html_escape(n.link) + "\">" + html_escape(n.link_text.empty() ? n.link : n.link_text) +
            "</a></p>";
  if (!n.button_action.empty()) {
    body += "<form method=\"post\" action=\"" + html_escape(n.button_action) + "\">";
    if (!n.email_label.empty())
      body += "<label>" + html_escape(n.email_label) +
              " <input type=\"email\" name=\"email\" required maxlength=\"254\" "
              "autocomplete=\"email\"></label> ";
    body += "<button>" + html_escape(n.button_text) + "</button></form>";
  }
  return page(n.lang, n.title, body, n.other_lang_link, n.operator_info);
}

}  // namespace relay::node::candidates
