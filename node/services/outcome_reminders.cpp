#include "node/services/outcome_reminders.hpp"

#include <spdlog/spdlog.h>

#include <vector>

#include "node/common/text.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::services {

namespace {

constexpr std::string_view kPending = "pending";
constexpr std::string_view kSent = "sent";
constexpr std::string_view kGivenUp = "given_up";

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
        // Composed only if it goes out: an item stays due, and is read each pass, until the
        // member reports it, long after its one reminder was sent.
        Pending p{member.id + "/" + item.introduction + "/" + item.what, {}, 0, now};
        if (auto v = txn.get(sent_, p.key)) {
          auto record = nlohmann::json::parse(*v);
          if (record.value("state", "") != kPending) continue;           // sent or given up
          if (record.value("next_ms", std::int64_t{0}) > now) continue;  // backing off
          p.attempts = record.value("attempts", 0u);
          p.first_ms = record.value("at_ms", now);
        }
        p.mail = compose(member, item);
        pending.push_back(std::move(p));
      }
    }
  }
  if (pending.empty()) return 0;
  auto record = [&](const Pending& p, std::string_view state, std::int64_t next_ms) {
    return nlohmann::json{
        {"state", state}, {"at_ms", p.first_ms}, {"attempts", p.attempts}, {"next_ms", next_ms}}
        .dump();
  };
  // Recorded before sending, so that a crash afterwards leaves a trace to finish from.
  writer_.submit_wait([&](storage::WriteTxn& txn) {
    for (const auto& p : pending)
      if (!txn.contains(sent_, p.key)) txn.put(sent_, p.key, record(p, kPending, 0));
  });
  struct Result {
    const Pending* p;
    std::string_view state;
    std::int64_t next_ms = 0;
    std::string reason;
  };
  std::vector<Result> results;
  auto record_results = [&] {
    writer_.submit_wait([&](storage::WriteTxn& txn) {
      for (const auto& r : results) {
        txn.put(sent_, r.p->key, record(*r.p, r.state, r.next_ms));
        if (r.state == kGivenUp && on_given_up_) on_given_up_(txn, r.reason);
      }
    });
  };
  std::size_t delivered = 0;
  try {
    for (auto& p : pending) {
      // Throws if it cannot spool: what went out before is recorded below, the rest stays
      // pending for the next sweep.
      auto attempt = mailer_.deliver(p.mail);
      ++p.attempts;
      const auto what = "outcome reminder " + p.key.substr(p.key.find('/') + 1);
      switch (attempt.outcome) {
        case mail::Attempt::Outcome::delivered:
          results.push_back({&p, kSent, 0, {}});
          ++delivered;
          break;
        case mail::Attempt::Outcome::rejected:
          results.push_back({&p, kGivenUp, 0, what + " rejected: " + attempt.reason});
          spdlog::warn("outcome reminders: {}", results.back().reason);
          break;
        case mail::Attempt::Outcome::retry_later:
          if (settings_.retry.expired(p.first_ms, clock_.now_ms())) {
            results.push_back({&p, kGivenUp, 0,
                               what + " given up after " + std::to_string(p.attempts) +
                                   " attempt(s) (mail.give_up_after_hours): " + attempt.reason});
            spdlog::warn("outcome reminders: {}", results.back().reason);
          } else {
            results.push_back(
                {&p, kPending, clock_.now_ms() + settings_.retry.backoff_ms(p.attempts), {}});
            spdlog::info("outcome reminders: attempt {} deferred: {}", p.attempts, attempt.reason);
          }
          break;
      }
    }
  } catch (...) {
    record_results();  // what went out before the failure is not sent again
    throw;
  }
  record_results();
  if (delivered) spdlog::info("outcome reminders: {} mail(s) delivered", delivered);
  return delivered;
}

}  // namespace relay::node::services
