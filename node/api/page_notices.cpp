#include "node/api/page_notices.hpp"

namespace relay::node::api::pages {

namespace {

constexpr Bilingual kLinkNotFound{"リンクが見つかりません", "Link not found"};
constexpr Bilingual kCheckTheLink{"リンクを確認してください。", "Please check the link."};
constexpr Bilingual kConfirmationNotValid{"確認リンクが無効です",
                                          "This confirmation link is not valid"};

}  // namespace

PageNotice notice_for(referrals::LinkState state) {
  switch (state) {
    case referrals::LinkState::used:
      return {410,
              {"このリンクは使用済みです", "This link has been used"},
              {{"この登録用リンクは一度だけ使えるもので、既に使用されています。",
                "This registration link can be used once only, and it has been used."}}};
    case referrals::LinkState::member_inactive:
      return {410,
              {"このリンクは現在無効です", "This link is not active"},
              {{"この企業のリンクは現在受け付けを停止しています。",
                "This company's link is not accepting registrations at the moment."}}};
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
          {{"このメールアドレスは既に確認済みです。", "This address has been confirmed already."}}};
    case referrals::ConfirmState::expired:
      return {410,
              {"確認リンクの期限切れ", "Confirmation link expired"},
              {{"もう一度登録してください。", "Please register again."}}};
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
            "This link is not valid, or the data has been erased."}}};
}

PageNotice notice_for(PageOutcome outcome) {
  switch (outcome) {
    case PageOutcome::form_unreadable:
      return {400,
              {"送信内容を読み取れません", "The form could not be read"},
              {{"フォームから送信してください。", "Please submit the form on the page."}}};
    case PageOutcome::registration_received:
      return {200,
              {"確認メールを送信しました", "Please check your email"},
              {{"ご登録ありがとうございます。入力されたメールアドレスに確認メールを送りました。"
                "メール内のリンクを開いて登録を完了してください。",
                "Thank you. We have sent a confirmation email to the address you entered: open "
                "the link in it to complete your registration."}}};
    case PageOutcome::confirmation_not_valid:
      return {404,
              kConfirmationNotValid,
              {{"リンクの有効期限が切れたか、既に使用されています。",
                "The link has expired or has been used already."}}};
    case PageOutcome::registration_complete:
      return {200,
              {"登録が完了しました", "Registration complete"},
              {{"ご登録ありがとうございました。次のリンクは、あなた専用の管理ページです（メールで"
                "もお送りしました）。",
                "Thank you. The link below is your private management page (we have emailed it "
                "too)."}}};
  }
  return {500, {"エラー", "Error"}, {}};
}

Bilingual flash_for(Flash flash) {
  switch (flash) {
    case Flash::consent_updated:
      return {"同意を更新しました。", "Your consent has been updated."};
    case Flash::consent_withdrawn:
      return {"すべての同意を撤回しました。", "All your consent has been withdrawn."};
    case Flash::choose_decision:
      return {"承認か辞退を選んでください。", "Please choose accept or decline."};
    case Flash::found_work:
      return {"ご報告ありがとうございます。再就職おめでとうございます。",
              "Thank you for telling us, and congratulations on your new work."};
    case Flash::erase_unconfirmed:
      return {"削除するには確認のチェックを入れてください。",
              "To erase, tick the confirmation box."};
  }
  return {"", ""};
}

Bilingual flash_for(federation::DecideResult result) {
  using R = federation::DecideResult;
  switch (result) {
    case R::accepted:
      return {"紹介を承認しました。あなたの情報を提供先に送ります。",
              "You accepted the introduction: your details are being sent to the company."};
    case R::declined:
      return {"紹介を辞退しました。", "You declined the introduction."};
    case R::not_pending:
      return {"このリクエストには回答済みです。", "You have already answered this request."};
    case R::not_circulating:
      return {"他地域への共有に同意していないため、承認できません。",
              "You cannot accept while sharing with other regions is switched off."};
    case R::peer_unavailable:
      return {"現在この提供先に送信できません。しばらくしてからもう一度お試しください。",
              "The requesting node cannot be reached at the moment; please try again later."};
    case R::not_found:
      break;
  }
  return {"このリクエストは見つかりません。", "No such request."};
}

}  // namespace relay::node::api::pages
