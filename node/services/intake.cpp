#include "node/services/intake.hpp"

#include "node/referrals/address_identity.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::services {

using common::fail;

Intake::Intake(storage::Environment& env, storage::Writer& writer, referrals::Intake& intake,
               RequestLimits* limits)
    : env_(env), writer_(writer), intake_(intake), limits_(limits) {}

common::Result<LinkPage, referrals::LinkState> Intake::link_page(
    std::string_view link_token) const {
  auto txn = env_.begin_read();
  auto target = intake_.resolve_link(txn, link_token);
  if (target.state != referrals::LinkState::ok) return fail(target.state);
  return LinkPage{target.member->name, target.alumni.has_value()};
}

RegistrationOutcome Intake::register_candidate(std::string_view link_token,
                                               const std::map<std::string, std::string>& form) {
  return begin_registration(std::string(link_token), form, {})();
}

std::optional<std::chrono::seconds> Intake::address_wait(std::string_view email) {
  // Per mailbox: "+tag" variants and Gmail's dots reach one inbox (address_identity.hpp), so
  // they share one count, as they share the person's daily mail cap.
  auto normalised = candidates::normalise_email(email);
  if (!limits_ || !normalised) return std::nullopt;
  return limits_->per_address.take(
      limits_->address_key(referrals::identify_address(*normalised).canonical));
}

std::function<RegistrationOutcome()> Intake::begin_registration(
    std::string link_token, std::map<std::string, std::string> form, std::function<void()> ready) {
  if (limits_) {
    auto wait = limits_->per_link.take(link_token);
    auto email = form.find("email");
    if (!wait && email != form.end()) wait = address_wait(email->second);
    if (wait) {
      if (ready) ready();
      return [wait] {
        Refusal refusal;
        refusal.retry_after = wait;
        refusal.link = referrals::LinkState::ok;
        return RegistrationOutcome(fail(std::move(refusal)));
      };
    }
  }
  auto queued =
      writer_
          .submit([this, link_token, form = std::move(form)](
                      storage::WriteTxn& txn) { return intake_.submit(txn, link_token, form); },
                  std::move(ready))
          .share();
  return [this, queued, link_token = std::move(link_token)]() -> RegistrationOutcome {
    auto result = queued.get();
    if (result.link != referrals::LinkState::ok)
      return fail(Refusal{std::nullopt, result.link, {}, {}});
    if (result.accepted) return common::Done{};
    auto txn = env_.begin_read();
    auto target = intake_.resolve_link(txn, link_token);
    return fail(Refusal{std::nullopt, result.link, std::move(result.errors),
                        target.member ? target.member->name : "", target.alumni.has_value()});
  };
}

bool Intake::verification_pending(std::string_view verify_token) const {
  auto txn = env_.begin_read();
  return intake_.verification_pending(txn, verify_token);
}

std::optional<candidates::Opened> Intake::pending_data(std::string_view verify_token) const {
  auto txn = env_.begin_read();
  return intake_.pending_data(txn, verify_token);
}

bool Intake::verification_used(std::string_view verify_token) const {
  auto txn = env_.begin_read();
  return intake_.verification_used(txn, verify_token);
}

ConfirmationOutcome Intake::confirm(std::string_view verify_token) {
  return begin_confirmation(std::string(verify_token), {})();
}

std::function<ConfirmationOutcome()> Intake::begin_confirmation(std::string verify_token,
                                                                std::function<void()> ready) {
  auto queued =
      writer_
          .submit([this, verify_token = std::move(verify_token)](
                      storage::WriteTxn& txn) { return intake_.confirm(txn, verify_token); },
                  std::move(ready))
          .share();
  return [queued]() -> ConfirmationOutcome {
    auto result = queued.get();
    if (result.state != referrals::ConfirmState::confirmed) return fail(result.state);
    return Confirmed{result.management_token, result.registered_before};
  };
}

common::Result<std::function<referrals::Intake::LinkReminder()>, std::chrono::seconds>
Intake::begin_remind_link(std::string_view email, std::function<void()> ready) {
  if (auto wait = address_wait(email)) return fail(*wait);
  auto queued = writer_
                    .submit([this, email = std::string(email)](
                                storage::WriteTxn& txn) { return intake_.remind_link(txn, email); },
                            std::move(ready))
                    .share();
  return std::function<referrals::Intake::LinkReminder()>([queued] { return queued.get(); });
}

}  // namespace relay::node::services
