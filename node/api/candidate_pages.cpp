// Candidate pages under /r/: the registration form behind a relay link, the email
// confirmation (GET shows a button, POST confirms, so mail scanners that prefetch links
// confirm nothing), and the private management page (view, consent, withdraw, erase,
// export). Capability tokens in the path are the only credential.
#include "node/api/common.hpp"
#include "node/candidates/pages.hpp"
#include "node/storage/txn.hpp"
#include "protocol/event.hpp"

namespace relay::node::api {

namespace {

using candidates::Lang;

candidates::FormChoices choices_from(const config::Reference& ref) {
  candidates::FormChoices c;
  auto copy = [](const std::vector<config::CodedLabel>& from, std::vector<candidates::Choice>& to) {
    for (const auto& l : from) to.push_back({l.code, l.ja, l.en});
  };
  copy(ref.job_categories, c.job_categories);
  copy(ref.prefectures, c.prefectures);
  copy(ref.age_bands, c.age_bands);
  copy(ref.experience_bands, c.experience_bands);
  return c;
}

std::string tr(Lang lang, const char* ja, const char* en) { return lang == Lang::ja ? ja : en; }

Response notice(int status, Lang lang, const std::string& title, std::vector<std::string> paragraphs,
                const std::string& link = {}, const std::string& link_text = {}) {
  auto r = http::html_response(status, candidates::render_notice(lang, title, paragraphs, link, link_text));
  r.headers["Cache-Control"] = "no-store";
  r.headers["Referrer-Policy"] = "no-referrer";
  return r;
}

Response html(int status, std::string body) {
  auto r = http::html_response(status, std::move(body));
  r.headers["Cache-Control"] = "no-store";
  r.headers["Referrer-Policy"] = "no-referrer";
  return r;
}

Response link_problem(referrals::LinkState state, Lang lang) {
  switch (state) {
    case referrals::LinkState::used:
      return notice(410, lang, tr(lang, "このリンクは使用済みです", "This link has been used"),
                    {tr(lang, "この登録用リンクは一度だけ使えるもので、既に使用されています。",
                        "This registration link can be used once only, and it has been used.")});
    case referrals::LinkState::member_inactive:
      return notice(410, lang, tr(lang, "このリンクは現在無効です", "This link is not active"),
                    {tr(lang, "この企業のリンクは現在受け付けを停止しています。",
                        "This company's link is not accepting registrations at the moment.")});
    default:
      return notice(404, lang, tr(lang, "リンクが見つかりません", "Link not found"),
                    {tr(lang, "リンクを確認してください。", "Please check the link.")});
  }
}

std::optional<std::map<std::string, std::string>> form_body(const Request& request) {
  auto type = request.header("content-type");
  if (!type || type->substr(0, 33) != "application/x-www-form-urlencoded") return std::nullopt;
  return http::parse_form(request.body);
}

struct ManagedCandidate {
  candidates::CandidateRecord record;
  std::string token_digest;
};

std::optional<ManagedCandidate> managed(Node& node, const storage::Txn& txn, const std::string& token) {
  auto info = node.candidates().lookup_token(txn, token, "manage");
  if (!info) return std::nullopt;
  auto record = node.candidates().find(txn, info->candidate_id);
  if (!record || record->status == candidates::Status::erased) return std::nullopt;
  return ManagedCandidate{std::move(*record), info->digest};
}

std::string iso_time(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const config::CodedLabel* label(const std::vector<config::CodedLabel>& list, const std::string& code) {
  for (const auto& l : list)
    if (l.code == code) return &l;
  return nullptr;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

// After erasure the management link shows which recipients have confirmed their erasure.
std::optional<Response> erasure_status_page(Node& node, const storage::Txn& txn, const std::string& token, Lang lang) {
  auto info = node.candidates().lookup_token(txn, token, "erased");
  if (!info) return std::nullopt;
  auto record = node.candidates().find(txn, info->candidate_id);
  if (!record) return std::nullopt;
  std::vector<std::string> lines{
      tr(lang, "あなたの個人データはこのノードから削除され、復元できません。",
         "Your personal data has been erased from this node and cannot be recovered.") +
      std::string(" (") + iso_time(record->record.value("erased_ms", std::int64_t{0})) + ")"};
  auto statuses = federation::Erasures::status(*record);
  if (statuses.empty())
    lines.push_back(tr(lang, "あなたのデータを受け取った他のノードはありません。", "No other node had received your data."));
  for (const auto& s : statuses) {
    std::string state = s.confirmed_ms ? tr(lang, "削除を確認済み ", "erasure confirmed ") + iso_time(s.confirmed_ms)
                                       : (s.overdue ? tr(lang, "確認待ち（期限超過・運営者に通知済み）",
                                                         "waiting (overdue: operators alerted)")
                                                    : tr(lang, "確認待ち", "waiting for confirmation"));
    lines.push_back(s.company + " / " + s.peer + ": " + tr(lang, "削除依頼 ", "erasure requested ") +
                    iso_time(s.requested_ms) + " — " + state);
  }
  return notice(200, lang, tr(lang, "削除の状況", "Erasure status"), lines);
}

Response management_page(Node& node, const std::string& token, Lang lang, const std::string& flash) {
  auto txn = node.env().begin_read();
  auto m = managed(node, txn, token);
  if (!m) {
    if (auto erased = erasure_status_page(node, txn, token, lang)) return *erased;
  }
  if (!m)
    return notice(404, lang, tr(lang, "リンクが見つかりません", "Link not found"),
                  {tr(lang, "このリンクは無効か、データは削除済みです。",
                      "This link is not valid, or the data has been erased.")});
  candidates::ManagementPage page;
  page.lang = lang;
  page.base = "/r/m/" + token;
  page.flash = flash;
  const auto& r = m->record;
  page.email_verified = r.status == candidates::Status::active;
  page.consent_region = r.consent.region;
  page.consent_peers = r.consent.peers;
  page.consent_stats = r.consent.stats;
  page.consent_version = r.consent.version;
  page.consent_at = iso_time(r.consent.at_ms);
  if (auto opened = node.candidates().open(r)) {
    const auto& ref = node.reference();
    auto pick = [&](const std::vector<config::CodedLabel>& list, const std::string& code) {
      auto l = label(list, code);
      return l ? (lang == Lang::ja ? l->ja : l->en) : code;
    };
    page.profile[tr(lang, "1 氏名", "1 Name")] = opened->personal.name;
    page.profile[tr(lang, "2 メール", "2 Email")] = opened->personal.email;
    page.profile[tr(lang, "3 電話", "3 Phone")] = opened->personal.phone;
    page.profile[tr(lang, "4 職種", "4 Job category")] = pick(ref.job_categories, opened->profile.job_category);
    page.profile[tr(lang, "5 スキル", "5 Skills")] = join(opened->profile.skills);
    page.profile[tr(lang, "6 都道府県", "6 Prefecture")] = pick(ref.prefectures, opened->profile.prefecture);
    page.profile[tr(lang, "7 年齢層", "7 Age band")] = pick(ref.age_bands, opened->profile.age_band);
    page.profile[tr(lang, "8 経験年数", "8 Experience")] = pick(ref.experience_bands, opened->profile.experience_band);
    page.profile[tr(lang, "9 希望職務", "9 Desired roles")] = join(opened->profile.desired_roles);
  }
  for (const auto& d : r.record.value("disclosures", nlohmann::json::array()))
    page.disclosures.push_back({d.value("company", ""), d.value("node", ""), iso_time(d.value("at_ms", std::int64_t{0})),
                                d.value("consent_version", ""), d.value("erasure", "")});
  for (const auto& q : node.handoff_holder().pending_for(txn, r.id)) {
    auto region = label(node.reference().prefectures, q.region);  // a region is a prefecture code
    auto shown = region ? (lang == Lang::ja ? region->ja : region->en) + " (" + q.region + ")" : q.region;
    page.pending_requests.push_back({q.id, q.company, q.peer, shown, iso_time(q.created_ms)});
  }
  return html(200, candidates::render_management(page, choices_from(node.reference())));
}

// Erases the candidate (crypto-shredding), records it in the ledger, asks every node that
// received their data to erase it too, and discards spooled mail. The management link
// (`token`) then shows the erasure's progress.
void erase_candidate(Node& node, const std::string& candidate_id, const std::string& token) {
  auto spool = node.writer().submit_wait([&](storage::WriteTxn& txn) {
    std::vector<std::string> files;
    auto record = node.candidates().find(txn, candidate_id);
    if (!record || record->status == candidates::Status::erased) return files;
    files = node.candidates().erase(txn, *record);
    node.ledger().append(txn, protocol::candidate_erased(record->pseudonym));
    node.candidate_changed(txn, *record);
    node.candidates().bind_token(txn, token, candidate_id, "erased");
    return files;
  });
  node.federation().notify();
  for (const auto& id : spool) node.mailer().discard(id);
}

}  // namespace

void add_candidate_pages(http::Router& router, Node& node) {
  router.add("GET", "/r/{token}", [&node](const Request& request, const http::Params& params) {
    auto lang = candidates::lang_from(request.query);
    auto txn = node.env().begin_read();
    auto target = node.intake().resolve_link(txn, params.at("token"));
    if (target.state != referrals::LinkState::ok) return link_problem(target.state, lang);
    candidates::RegistrationPage page;
    page.lang = lang;
    page.action = "/r/" + params.at("token");
    page.company_name = target.member->name;
    page.node_name = node.config().node.name;
    page.consent_version = node.config().consent.text_version;
    return html(200, candidates::render_registration(page, choices_from(node.reference())));
  });

  router.add("POST", "/r/{token}", [&node](const Request& request, const http::Params& params) {
    auto lang = candidates::lang_from(request.query);
    auto form = form_body(request);
    if (!form)
      return notice(400, lang, tr(lang, "送信内容を読み取れません", "The form could not be read"),
                    {tr(lang, "フォームから送信してください。", "Please submit the form on the page.")});
    const auto& token = params.at("token");
    auto result = node.writer().submit_wait(
        [&](storage::WriteTxn& txn) { return node.intake().submit(txn, token, *form); });
    if (result.link != referrals::LinkState::ok) return link_problem(result.link, lang);
    if (!result.accepted) {
      auto txn = node.env().begin_read();
      auto target = node.intake().resolve_link(txn, token);
      candidates::RegistrationPage page;
      page.lang = lang;
      page.action = "/r/" + token;
      page.company_name = target.member ? target.member->name : "";
      page.node_name = node.config().node.name;
      page.consent_version = node.config().consent.text_version;
      page.values = *form;
      for (const auto& [field, message] : result.errors) page.errors[field] = lang == Lang::ja ? message.ja : message.en;
      return html(422, candidates::render_registration(page, choices_from(node.reference())));
    }
    node.mail_dispatch().notify();
    return notice(200, lang, tr(lang, "確認メールを送信しました", "Please check your email"),
                  {tr(lang, "ご登録ありがとうございます。入力されたメールアドレスに確認メールを送りました。"
                            "メール内のリンクを開いて登録を完了してください。",
                      "Thank you. We have sent a confirmation email to the address you entered: open the "
                      "link in it to complete your registration.")});
  });

  router.add("GET", "/r/v/{token}", [&node](const Request& request, const http::Params& params) {
    auto lang = candidates::lang_from(request.query);
    auto txn = node.env().begin_read();
    if (!node.intake().verification_pending(txn, params.at("token")))
      return notice(404, lang, tr(lang, "確認リンクが無効です", "This confirmation link is not valid"),
                    {tr(lang, "リンクの有効期限が切れたか、既に使用されています。",
                        "The link has expired or has been used already.")});
    std::string action = "/r/v/" + params.at("token") + (lang == Lang::en ? "?lang=en" : "");
    auto body = candidates::render_notice(
        lang, tr(lang, "メールアドレスの確認", "Confirm your email address"),
        {tr(lang, "下のボタンを押すと登録が完了します。", "Press the button below to complete your registration.")});
    auto form = "<form method=\"post\" action=\"" + candidates::html_escape(action) + "\"><button>" +
                tr(lang, "登録を完了する", "Complete registration") + "</button></form></body>";
    body.replace(body.rfind("</body>"), 7, form);
    return html(200, body);
  });

  router.add("POST", "/r/v/{token}", [&node](const Request& request, const http::Params& params) {
    auto lang = candidates::lang_from(request.query);
    auto result = node.writer().submit_wait(
        [&](storage::WriteTxn& txn) { return node.intake().confirm(txn, params.at("token")); });
    switch (result.state) {
      case referrals::ConfirmState::confirmed: {
        node.mail_dispatch().notify();
        node.federation().notify();
        auto link = "/r/m/" + result.management_token;
        return notice(200, lang, tr(lang, "登録が完了しました", "Registration complete"),
                      {tr(lang, "ご登録ありがとうございました。次のリンクは、あなた専用の管理ページです（メールでもお送りしました）。",
                          "Thank you. The link below is your private management page (we have emailed it too).")},
                      node.config().node.public_url + link + (lang == Lang::en ? "?lang=en" : ""));
      }
      case referrals::ConfirmState::already_confirmed:
        return notice(200, lang, tr(lang, "確認済みです", "Already confirmed"),
                      {tr(lang, "このメールアドレスは既に確認済みです。", "This address has been confirmed already.")});
      case referrals::ConfirmState::expired:
        return notice(410, lang, tr(lang, "確認リンクの期限切れ", "Confirmation link expired"),
                      {tr(lang, "もう一度登録してください。", "Please register again.")});
      default:
        return notice(404, lang, tr(lang, "確認リンクが無効です", "This confirmation link is not valid"),
                      {tr(lang, "リンクを確認してください。", "Please check the link.")});
    }
  });

  router.add("GET", "/r/m/{token}", [&node](const Request& request, const http::Params& params) {
    return management_page(node, params.at("token"), candidates::lang_from(request.query), "");
  });

  router.add("POST", "/r/m/{token}/consent", [&node](const Request& request, const http::Params& params) {
    auto lang = candidates::lang_from(request.query);
    auto form = form_body(request);
    if (!form) return http::error_response(400, "bad_form", "expected a form submission");
    auto get = [&](const char* k) { auto it = form->find(k); return it != form->end() && it->second == "yes"; };
    bool found = node.writer().submit_wait([&](storage::WriteTxn& txn) {
      auto m = managed(node, txn, params.at("token"));
      if (!m) return false;
      m->record.consent.region = get("consent_region");
      m->record.consent.peers = get("consent_peers");
      m->record.consent.stats = get("consent_stats");
      m->record.consent.version = node.config().consent.text_version;
      m->record.consent.at_ms = node.clock().now_ms();
      node.candidates().save(txn, m->record);
      node.candidate_changed(txn, m->record);
      return true;
    });
    if (!found) return management_page(node, params.at("token"), lang, "");
    node.federation().notify();
    return management_page(node, params.at("token"), lang, tr(lang, "同意を更新しました。", "Your consent has been updated."));
  });

  router.add("POST", "/r/m/{token}/withdraw", [&node](const Request& request, const http::Params& params) {
    auto lang = candidates::lang_from(request.query);
    node.writer().submit_wait([&](storage::WriteTxn& txn) {
      auto m = managed(node, txn, params.at("token"));
      if (!m) return false;
      m->record.consent.region = m->record.consent.peers = m->record.consent.stats = false;
      m->record.consent.at_ms = node.clock().now_ms();
      node.candidates().save(txn, m->record);
      node.candidate_changed(txn, m->record);
      return true;
    });
    node.federation().notify();
    return management_page(node, params.at("token"), lang,
                           tr(lang, "すべての同意を撤回しました。", "All your consent has been withdrawn."));
  });

  // The candidate's answer to an introduction request from another node (handoff_holder.hpp).
  router.add("POST", "/r/m/{token}/requests/{id}", [&node](const Request& request, const http::Params& params) {
    auto lang = candidates::lang_from(request.query);
    const auto& token = params.at("token");
    auto form = form_body(request);
    auto decision = form && form->count("decision") ? form->at("decision") : std::string();
    if (decision != "accept" && decision != "decline")
      return management_page(node, token, lang, tr(lang, "承認か辞退を選んでください。", "Please choose accept or decline."));
    using federation::DecideResult;
    auto result = node.writer().submit_wait([&](storage::WriteTxn& txn) {
      auto m = managed(node, txn, token);
      if (!m) return DecideResult::not_found;
      return node.handoff_holder().decide(txn, m->record.id, params.at("id"),
                                          decision == "accept" ? federation::Decision::accept
                                                               : federation::Decision::decline);
    });
    node.federation().notify();
    switch (result) {
      case DecideResult::accepted:
        return management_page(node, token, lang,
                               tr(lang, "紹介を承認しました。あなたの情報を提供先に送ります。",
                                  "You accepted the introduction: your details are being sent to the company."));
      case DecideResult::declined:
        return management_page(node, token, lang, tr(lang, "紹介を辞退しました。", "You declined the introduction."));
      case DecideResult::not_pending:
        return management_page(node, token, lang,
                               tr(lang, "このリクエストには回答済みです。", "You have already answered this request."));
      case DecideResult::not_circulating:
        return management_page(node, token, lang,
                               tr(lang, "他地域への共有に同意していないため、承認できません。",
                                  "You cannot accept while sharing with other regions is switched off."));
      case DecideResult::peer_unavailable:
        return management_page(node, token, lang,
                               tr(lang, "現在この提供先に送信できません。しばらくしてからもう一度お試しください。",
                                  "The requesting node cannot be reached at the moment; please try again later."));
      default:
        return management_page(node, token, lang, tr(lang, "このリクエストは見つかりません。", "No such request."));
    }
  });

  router.add("POST", "/r/m/{token}/erase", [&node](const Request& request, const http::Params& params) {
    auto lang = candidates::lang_from(request.query);
    auto form = form_body(request);
    if (!form || form->count("confirm") == 0 || form->at("confirm") != "yes")
      return management_page(node, params.at("token"), lang,
                             tr(lang, "削除するには確認のチェックを入れてください。", "To erase, tick the confirmation box."));
    std::optional<std::string> candidate_id;
    {
      auto txn = node.env().begin_read();
      if (auto m = managed(node, txn, params.at("token"))) candidate_id = m->record.id;
    }
    if (!candidate_id) return management_page(node, params.at("token"), lang, "");
    erase_candidate(node, *candidate_id, params.at("token"));
    return management_page(node, params.at("token"), lang, "");
  });

  router.add("GET", "/r/m/{token}/export", [&node](const Request&, const http::Params& params) {
    auto txn = node.env().begin_read();
    auto m = managed(node, txn, params.at("token"));
    if (!m) return http::error_response(404, "not_found", "not a valid link");
    const auto& r = m->record;
    nlohmann::json out = {{"candidate_id", r.id},
                          {"status", candidates::to_string(r.status)},
                          {"created", iso_time(r.created_ms)},
                          {"consent", r.consent.to_json()},
                          {"node", node.config().node.name}};
    if (r.verified_ms) out["verified"] = iso_time(r.verified_ms);
    if (auto opened = node.candidates().open(r)) {
      out["personal"] = opened->personal.to_json();
      out["profile"] = opened->profile.to_json();
    }
    nlohmann::json refs = nlohmann::json::array();
    for (const auto& member : node.members().list(txn))
      if (auto ref = node.referrals().for_person(txn, member.id, r.pseudonym))
        refs.push_back({{"company", member.name}, {"status", ref->status}, {"created", iso_time(ref->created_ms)}});
    out["referrals"] = refs;
    out["disclosures"] = r.record.value("disclosures", nlohmann::json::array());
    auto response = http::json_response(200, out);
    response.headers["Content-Disposition"] = "attachment; filename=\"my-relay-data.json\"";
    response.headers["Cache-Control"] = "no-store";
    return response;
  });
}

}  // namespace relay::node::api
