#include "node/candidates/candidate_mail.hpp"

namespace relay::node::candidates {

Lang lang_named(const std::string& name) {
  return name == "en" ? Lang::en : Lang::ja;
}

std::string lang_name(Lang lang) {
  return lang == Lang::en ? "en" : "ja";
}

std::string with_lang(const std::string& url, Lang lang) {
  if (lang == Lang::ja) return url;
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "lang=en";
}

MailText verification_mail(Lang lang, const std::string& link, const std::string& company,
                           const std::string& node, long valid_hours) {
  auto url = with_lang(link, lang);
  auto hours = std::to_string(valid_hours);
  if (lang == Lang::en)
    return {"Please confirm your email address (career relay)",
            "Thank you for registering with the career relay (" + node + ") via " + company +
                ".\nTo complete your registration, open this link and press the button:\n" + url +
                "\n\nThe link is valid for " + hours +
                " hours. If it expires, register again from the company's link.\n"
                "If this was not you, ignore this email: nothing is kept unless the address is "
                "confirmed.\n"};
  return {"【キャリアリレー】メールアドレスの確認",
          company + " からのご案内でキャリアリレー（" + node +
              "）にご登録いただきありがとうございます。\n登録を完了するには、次のリンクを開いて"
              "ボタンを押してください:\n" +
              url + "\n\nこのリンクの有効期限は" + hours +
              "時間です。期限が切れた場合は、企業からのリンクからもう一度登録してください。\n"
              "お心当たりがない場合はこのメールを無視してください。\n"};
}

MailText already_registered_mail(Lang lang, const std::string& manage_link) {
  auto url = with_lang(manage_link, lang);
  if (lang == Lang::en)
    return {"You are already registered (career relay)",
            "This address is already registered, so the details you just entered were not "
            "saved.\nTo view or change your details, or to erase them, use your private "
            "management page:\n" +
                url + "\n\nKeep this link private: anyone with it can manage your data.\n"};
  return {"【キャリアリレー】ご登録済みです",
          "このメールアドレスは既に登録済みのため、今回入力された内容は保存していません。\n"
          "登録内容の確認・変更・削除は、あなた専用の管理ページから行えます:\n" +
              url +
              "\n\nこのリンクは他の人に知らせないでください（リンクを知っている人は誰でも"
              "あなたのデータを管理できます）。\n"};
}

MailText registration_complete_mail(Lang lang, const std::string& manage_link) {
  auto url = with_lang(manage_link, lang);
  if (lang == Lang::en)
    return {"Your registration is complete (career relay)",
            "Your registration is complete. View or change your data, change or withdraw "
            "consent, or erase your data at any time from your private link:\n" +
                url + "\n\nKeep this email: the link is your only way in. Do not share it.\n"};
  return {"【キャリアリレー】登録が完了しました",
          "ご登録が完了しました。登録内容の確認・変更、同意の変更・撤回、データの削除は"
          "こちらの専用リンクからいつでもできます:\n" +
              url + "\n\nこのメールは保管してください。リンクは他の人に知らせないでください。\n"};
}

MailText link_reminder_mail(Lang lang, const std::string& manage_link) {
  auto url = with_lang(manage_link, lang);
  if (lang == Lang::en)
    return {"Your management link (career relay)",
            "Someone asked for the management link of this address. With it you can view or "
            "change your data, change or withdraw consent, or erase your data:\n" +
                url +
                "\n\nIf you did not ask, you can ignore this email: the link went only to you. "
                "Keep it private.\n"};
  return {"【キャリアリレー】管理ページのリンク",
          "このメールアドレスの管理ページのリンクが請求されました。登録内容の確認・変更、同意の"
          "変更・撤回、データの削除はこちらから行えます:\n" +
              url +
              "\n\nお心当たりがない場合はこのメールを無視してください（リンクはあなたにだけ"
              "送られています）。リンクは他の人に知らせないでください。\n"};
}

MailText link_replaced_mail(Lang lang, const std::string& manage_link) {
  auto url = with_lang(manage_link, lang);
  if (lang == Lang::en)
    return {"Your new management link (career relay)",
            "Your management link was replaced. The old link no longer works; this is your new "
            "one:\n" +
                url +
                "\n\nIf you did not replace it, someone who had your old link did: they no "
                "longer have access. Keep this email and do not share the link.\n"};
  return {"【キャリアリレー】新しい管理ページのリンク",
          "管理ページのリンクを新しくしました。以前のリンクはもう使えません。新しいリンクは"
          "こちらです:\n" +
              url +
              "\n\nお心当たりがない場合は、以前のリンクを知っていた人が操作しました（その人は"
              "もうアクセスできません）。このメールは保管し、リンクは他の人に知らせないでください。"
              "\n"};
}

MailText introduction_request_mail(Lang lang, const std::string& company, const std::string& what,
                                   const std::string& manage_link) {
  auto url = with_lang(manage_link, lang);
  if (lang == Lang::en)
    return {"An introduction request (career relay)",
            company + " would like an introduction to you (" + what +
                "). Your name and contact details are not provided unless you accept. See why, "
                "and accept or decline here:\n" +
                url + "\n"};
  return {"【キャリアリレー】紹介のリクエストが届きました",
          company + " があなたの紹介を希望しています（" + what +
              "）。承認するまで、氏名・連絡先は提供されません。理由の確認と、承認または辞退は"
              "こちらから:\n" +
              url + "\n"};
}

}  // namespace relay::node::candidates
