#include "node/services/outcome_reminders.hpp"

#include <spdlog/spdlog.h>

#include <vector>

#include "node/common/text.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::services {

namespace {

constexpr std::string_view kPending = "pending";
constexpr std::string_view kSent = "sent";

// What is due, in plain words (ja, en).
std::pair<std::string, std::string> describe(const std::string& what) {
  if (what == "outcome")
    return {"選考結果（面接・内定・採用・不採用）",
            "the outcome (interview, offer, hired or not hired)"};
  if (what == "retained_3m")
    return {"採用3か月後の在籍状況", "whether the person is still employed after 3 months"};
  if (what == "retained_6m")
    return {"採用6か月後の在籍状況", "whether the person is still employed after 6 months"};
  if (what == "retained_12m")
    return {"採用12か月後の在籍状況", "whether the person is still employed after 12 months"};
  return {what, what};
}

}  // namespace

OutcomeReminders::OutcomeReminders(storage::Environment& env, storage::Writer& writer,
                                   const members::Registry& members,
                                   const introductions::Introductions& introductions,
                                   mail::Mailer& mailer, const common::Clock& clock,
                                   ReminderSettings settings)
    : env_(env),
      writer_(writer),
      members_(members),
      introductions_(introductions),
      mailer_(mailer),
      clock_(clock),
      settings_(std::move(settings)),
      sent_(env.database("outcome_reminders")) {}

mail::Mail OutcomeReminders::compose(const members::Member& member,
                                     const introductions::DueItem& item) const {
  auto [ja, en] = describe(item.what);
  auto report = settings_.public_url + "/api/v1/introductions/" + item.introduction + "/outcomes";
  auto due = common::iso_time(item.due_ms);
  return {settings_.mail_from, member.contact_email,
          "【キャリアリレー】ご報告のお願い / Outcome report due (" + item.introduction + ")",
          member.name + " ご担当者様\n\nキャリアリレー（" + settings_.node_name +
              "）でご紹介した方について、" + ja + "のご報告をお願いします（期日 " + due +
              "）。\n紹介: " + item.introduction + " / 求人: " + item.requisition +
              "\n報告先: POST " + report + "\n報告が必要な項目の一覧: GET " + settings_.public_url +
              "/api/v1/outcomes/due\n\nDear " + member.name + ",\n\nPlease report " + en +
              " for introduction " + item.introduction + " (requisition " + item.requisition +
              "), due " + due + ".\nReport: POST " + report + "\nEverything due: GET " +
              settings_.public_url +
              "/api/v1/outcomes/due\n\nこのメールは一度だけ送信されます。 / This reminder is sent "
              "once.\n"};
}

std::size_t OutcomeReminders::sweep() {
  const auto now = clock_.now_ms();
  std::vector<Pending> pending;
  {
    auto txn = env_.begin_read();
    for (const auto& member : members_.list(txn)) {
      if (member.contact_email.empty() || !member.active) continue;
      for (const auto& item : introductions_.due(txn, member.id, now)) {
        auto key = member.id + "/" + item.introduction + "/" + item.what;
        if (auto v = txn.get(sent_, key);
            v && nlohmann::json::parse(*v).value("state", "") == kSent)
          continue;
        pending.push_back({std::move(key), compose(member, item)});
      }
    }
  }
  if (pending.empty()) return 0;
  // Recorded before spooling, so that a crash afterwards leaves a trace to finish from.
  writer_.submit_wait([&](storage::WriteTxn& txn) {
    for (const auto& p : pending)
      if (!txn.contains(sent_, p.key))
        txn.put(sent_, p.key, nlohmann::json{{"state", kPending}, {"at_ms", now}}.dump());
  });
  std::vector<std::string> spooled;
  auto record_sent = [&] {
    writer_.submit_wait([&](storage::WriteTxn& txn) {
      for (const auto& key : spooled)
        txn.put(sent_, key, nlohmann::json{{"state", kSent}, {"at_ms", now}}.dump());
    });
  };
  try {
    for (const auto& p : pending) {
      // Throws if it cannot spool; a deferred one stays pending for the next sweep (a minute
      // later), a rejected one (5xx) is recorded as sent: the server will not take it.
      auto attempt = mailer_.deliver(p.mail);
      if (attempt.outcome == mail::Attempt::Outcome::retry_later) {
        spdlog::info("outcome reminders: a reminder deferred: {}", attempt.reason);
        continue;
      }
      if (attempt.outcome == mail::Attempt::Outcome::rejected)
        spdlog::warn("outcome reminders: a reminder rejected: {}", attempt.reason);
      spooled.push_back(p.key);
    }
  } catch (...) {
    record_sent();  // what went out before the failure is not sent again
    throw;
  }
  record_sent();
  spdlog::info("outcome reminders: {} mail(s) spooled", spooled.size());
  return spooled.size();
}

}  // namespace relay::node::services
