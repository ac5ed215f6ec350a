#include "node/api/page_notices.hpp"

#include <array>
#include <utility>

namespace relay::node::api::pages {

namespace {

constexpr Bilingual kLinkNotFound{"リンクが見つかりません", "Link not found"};
constexpr Bilingual kCheckTheLink{
    "リンクを確認してください。メールやメッセージからコピーした場合は、途中で切れていないか確かめて"
    "ください。",
    "Please check the link: if you copied it from an email or message, make sure nothing was "
    "cut off."};
constexpr Bilingual kConfirmationNotValid{"確認リンクが無効です",
                                          "This confirmation link is not valid"};
constexpr Bilingual kCheckYourMail{
    "既に登録された方は、メールをご確認ください。確認メール、または管理用リンクをお送りしていま"
    "す（迷惑メールフォルダもご確認ください）。",
    "If you have already registered, please check your email: we sent you a confirmation link or "
    "your management link (look in your spam folder too)."};
constexpr Bilingual kManagementLinkSent{
    "登録は完了しています。あなた専用の管理用リンクは「登録が完了しました」という件名のメールで"
    "お送りしました。そのリンクから登録内容の確認・変更・削除ができます。",
    "Your registration is complete. Your private management link was sent to you in the email "
    "titled \"Your registration is complete\": use it to view, change or erase your data."};

constexpr std::array<std::pair<Flash, const char*>, 14> kCodes{{
    {Flash::registered, "registered"},
    {Flash::registered_before, "registered-before"},
    {Flash::details_updated, "details"},
    {Flash::consent_updated, "consent"},
    {Flash::consent_withdrawn, "withdrawn"},
    {Flash::choose_decision, "choose"},
    {Flash::found_work, "found-work"},
    {Flash::erase_unconfirmed, "erase-unconfirmed"},
    {Flash::request_accepted, "accepted"},
    {Flash::request_declined, "declined"},
    {Flash::request_not_pending, "answered"},
    {Flash::request_not_circulating, "not-circulating"},
    {Flash::request_peer_unavailable, "unavailable"},
    {Flash::request_not_found, "no-request"},
}};

}  // namespace

PageNotice notice_for(referrals::LinkState state) {
  switch (state) {
    case referrals::LinkState::used:
      return {410,
              {"このリンクは使用済みです", "This link has been used"},
              {{"この登録用リンクは一度だけ使えるもので、既に使用されています。",
                "This registration link can be used once only, and it has been used."},
               kCheckYourMail}};
    case referrals::LinkState::member_inactive:
      return {410,
              {"このリンクは現在無効です", "This link is not active"},
              {{"この企業のリンクは現在受け付けを停止しています。時間をおいてもう一度お試しいただく"
                "か、運営者にお問い合わせください。",
                "This company's link is not accepting registrations at the moment. Please try "
                "again later, or contact the operator."}}};
    case referrals::LinkState::ok:
    case referrals::LinkState::unknown:
      break;
  }
  return {404, kLinkNotFound, {kCheckTheLink}};
}

PageNotice notice_for(referrals::ConfirmState state) {
  switch (state) {
    case referrals::ConfirmState::already_confirmed:
      return {
          200,
          {"確認済みです", "Already confirmed"},
          {{"このメールアドレスは既に確認済みです。", "This address has been confirmed already."},
           kManagementLinkSent}};
    case referrals::ConfirmState::expired:
      return {410,
              {"確認リンクの期限切れ", "Confirmation link expired"},
              {{"確認リンクの有効期限が切れました。企業から届いたリンクを開いて、もう一度登録して"
                "ください。",
                "The confirmation link has expired. Please open the link you got from the "
                "company and register again."}}};
    case referrals::ConfirmState::confirmed:
    case referrals::ConfirmState::unknown:
      break;
  }
  return {404, kConfirmationNotValid, {kCheckTheLink}};
}

PageNotice notice_for(services::ManageError error) {
  switch (error) {
    case services::ManageError::not_found:
      break;
  }
  return {404,
          kLinkNotFound,
          {{"このリンクは無効か、データは削除済みです。",
            "This link is not valid, or the data has been erased."},
           {"管理用リンクは、登録完了時のメールに記載されています。見つからない場合は、下の"
            "リンクからもう一度受け取れます。",
            "Your management link is in the email we sent when your registration was "
            "complete. If you cannot find it, you can have it sent again below."}}};
}

PageNotice notice_for(PageOutcome outcome) {
  switch (outcome) {
    case PageOutcome::form_unreadable:
      return {400,
              {"送信内容を読み取れません", "The form could not be read"},
              {{"ページを開き直して、フォームから送信してください。",
                "Please reload the page and submit the form on it."}}};
    case PageOutcome::registration_received:
      return {200,
              {"確認メールを送信しました", "Please check your email"},
              {{"ご登録ありがとうございます。入力されたメールアドレスに確認メールを送りました。"
                "メール内のリンクを開いて登録を完了してください。",
                "Thank you. We have sent a confirmation email to the address you entered: open "
                "the link in it to complete your registration."},
               {"数分たっても届かない場合は、迷惑メールフォルダを確認してください。",
                "If it has not arrived within a few minutes, look in your spam folder."}}};
    case PageOutcome::confirmation_not_valid:
      return {404,
              kConfirmationNotValid,
              {{"リンクの有効期限が切れたか、既に使用されています。企業から届いたリンクを開いて、"
                "もう一度登録してください。",
                "The link has expired or has been used already. Please open the link you got "
                "from the company and register again."}}};
    case PageOutcome::cross_site:
      return {403,
              {"送信を受け付けられません", "This submission was refused"},
              {{"このフォームは別のサイトから送信されたため、受け付けませんでした。届いたリンクから"
                "このサイトを直接開いて、もう一度お試しください。",
                "The form was sent from another site, so it was refused. Please open this site "
                "from the link you received and try again."}}};
    case PageOutcome::too_many_requests:
      return {429,
              {"しばらくお待ちください", "Please wait a moment"},
              {{"短い時間にたくさんの送信がありました。数分待ってから、もう一度お試しください。",
                "There were many submissions in a short time. Please wait a few minutes and try "
                "again."}}};
    case PageOutcome::page_not_found:
      return {404, {"ページが見つかりません", "Page not found"}, {kCheckTheLink}};
    case PageOutcome::link_request:
      return {200,
              {"管理ページのリンクを受け取る", "Get your management link again"},
              {{"登録したメールアドレスを入力してください。そのアドレスで登録が完了していれば、"
                "管理ページのリンクをそのアドレスにお送りします。",
                "Enter the email address you registered with. If a completed registration uses "
                "it, we will email its management link to that address."}}};
    case PageOutcome::link_requested:
      return {200,
              {"メールを確認してください", "Please check your email"},
              {{"そのアドレスで登録が完了していれば、管理ページのリンクをお送りしました。数分たっ"
                "ても届かない場合は、迷惑メールフォルダを確認してください。",
                "If a completed registration uses that address, we have sent its management "
                "link to it. If it has not arrived within a few minutes, look in your spam "
                "folder."},
               {"登録を完了していない場合は、企業から届いたリンクからもう一度登録してください。",
                "If you never completed your registration, register again through the link a "
                "company sent you."}}};
    case PageOutcome::link_replaced:
      return {200,
              {"リンクを新しくしました", "Your link was replaced"},
              {{"新しい管理ページのリンクを、登録されたメールアドレスにお送りしました。今お使いの"
                "リンクはもう使えません。",
                "We have sent a new management link to your email address. The link you used "
                "no longer works."}}};
    case PageOutcome::home:
      return {
          200,
          {"キャリアリレー", "Career relay"},
          {{"地域の人材循環ネットワークのノードです。登録は、企業から届いたリンクから行えます。",
            "A node of the regional talent relay. To register, open the link a company sent "
            "you."}}};
  }
  return {500, {"エラー", "Error"}, {}};
}

FlashLine flash_for(Flash flash) {
  switch (flash) {
    case Flash::registered:
      return {{"登録が完了しました。ご登録ありがとうございました。",
               "Your registration is complete. Thank you."}};
    case Flash::registered_before:
      return {
          {"このメールアドレスは既に登録されています。今回入力された内容は保存していません。"
           "下の登録内容を確認し、必要なら変更してください。",
           "This address was already registered, so what you just entered was not saved. "
           "Check what we hold below and change it if needed."}};
    case Flash::details_updated:
      return {{"登録内容を変更しました。", "Your details have been updated."}};
    case Flash::consent_updated:
      return {{"同意を更新しました。", "Your consent has been updated."}};
    case Flash::consent_withdrawn:
      return {{"すべての同意を撤回しました。データの提供先には削除を依頼しました。",
               "All your consent has been withdrawn. Every recipient of your data has been "
               "asked to delete it."}};
    case Flash::choose_decision:
      return {{"承認か辞退を選んでください。", "Please choose accept or decline."}, true};
    case Flash::found_work:
      return {{"ご報告ありがとうございます。再就職おめでとうございます。",
               "Thank you for telling us, and congratulations on your new work."}};
    case Flash::erase_unconfirmed:
      return {
          {"削除されていません。削除するには、確認のチェックを入れてからボタンを押してください。",
           "Nothing was erased: to erase, tick the confirmation box, then press the button."},
          true};
    case Flash::request_accepted:
      return {{"紹介を承認しました。あなたの情報を提供先に送ります。",
               "You accepted the introduction: your details are being sent to the company."}};
    case Flash::request_declined:
      return {{"紹介を辞退しました。", "You declined the introduction."}};
    case Flash::request_not_pending:
      return {{"このリクエストには回答済みです。", "You have already answered this request."}};
    case Flash::request_not_circulating:
      return {{"他地域への共有に同意していないため、承認できません。",
               "You cannot accept while sharing with other regions is switched off."},
              true};
    case Flash::request_peer_unavailable:
      return {{"現在この提供先に送信できません。しばらくしてからもう一度お試しください。",
               "The requesting node cannot be reached at the moment; please try again later."},
              true};
    case Flash::request_not_found:
      break;
  }
  return {{"このリクエストは見つかりません。", "No such request."}, true};
}

Flash flash_of(federation::DecideResult result) {
  using R = federation::DecideResult;
  switch (result) {
    case R::accepted:
      return Flash::request_accepted;
    case R::declined:
      return Flash::request_declined;
    case R::not_pending:
      return Flash::request_not_pending;
    case R::not_circulating:
      return Flash::request_not_circulating;
    case R::peer_unavailable:
      return Flash::request_peer_unavailable;
    case R::not_found:
      break;
  }
  return Flash::request_not_found;
}

std::string_view code_of(Flash flash) {
  for (const auto& [f, code] : kCodes)
    if (f == flash) return code;
  return "";
}

std::optional<Flash> flash_named(std::string_view code) {
  for (const auto& [f, name] : kCodes)
    if (code == name) return f;
  return std::nullopt;
}

}  // namespace relay::node::api::pages
