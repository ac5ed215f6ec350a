#include "audit/balance_book.hpp"

#include <algorithm>

#include "crypto/hash.hpp"
#include "protocol/canonical_json.hpp"
#include "protocol/event.hpp"

namespace relay::audit {

namespace k = protocol::event_kind;

namespace {

std::optional<std::string> data_string(const protocol::LedgerEntry& e, const char* name) {
  auto it = e.data.find(name);
  if (it == e.data.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<std::uint64_t> data_unsigned(const protocol::LedgerEntry& e, const char* name) {
  auto it = e.data.find(name);
  if (it == e.data.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<std::uint64_t>();
}

std::optional<std::int64_t> data_integer(const protocol::LedgerEntry& e, const char* name) {
  auto it = e.data.find(name);
  if (it == e.data.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > INT64_MAX) return std::nullopt;
  return it->get<std::int64_t>();
}

std::string missing(const protocol::LedgerEntry& e, const char* field, const char* type) {
  return e.kind + ": data." + field + " is missing or not " + type;
}

std::array<std::uint8_t, 16> short_digest(const std::string& text) {
  crypto::Sha256 hasher;
  auto digest = hasher.update(crypto::as_bytes(text)).finish();
  std::array<std::uint8_t, 16> key{};
  std::copy_n(digest.begin(), key.size(), key.begin());
  return key;
}

std::optional<std::uint64_t> json_unsigned(const nlohmann::json& o, const char* name) {
  auto it = o.find(name);
  if (it == o.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<std::uint64_t>();
}

}  // namespace

nlohmann::json MemberBalance::to_json() const {
  nlohmann::json out{{"verified_referrals", verified_referrals},
                     {"credits_minted", credits_minted},
                     {"credits_spent", credits_spent},
                     {"balance", balance}};
  // Only when non-zero, so that reports on logs without grants or refunds stay exactly as
  // they were (tools comparing the four fields keep working).
  if (credits_granted != 0) out["credits_granted"] = credits_granted;
  if (credits_refunded != 0) out["credits_refunded"] = credits_refunded;
  return out;
}

NodeBalancesResult parse_node_balances(std::string_view text, bool exact_file) {
  NodeBalancesResult result;
  protocol::JsonParseResult parsed;
  if (exact_file) {
    if (text.empty() || text.back() != '\n') {
      result.error = "does not end in a newline";
      return result;
    }
    parsed = protocol::parse_canonical(text.substr(0, text.size() - 1));
  } else {
    parsed = protocol::parse_strict(text);
  }
  if (!parsed) {
    result.error =
        "not " + std::string(exact_file ? "canonical " : "") + "JSON: " + parsed.error.message;
    return result;
  }
  const auto& o = *parsed.value;
  auto size = o.is_object() ? json_unsigned(o, "ledger_size") : std::nullopt;
  auto members = o.is_object() ? o.find("members") : o.end();
  if (!size || members == o.end() || !members->is_object() || o.size() != 2) {
    result.error = "expected exactly {\"ledger_size\": N, \"members\": {...}}";
    return result;
  }
  NodeBalances out;
  out.ledger_size = *size;
  for (const auto& [id, value] : members->items()) {
    MemberBalance b;
    auto referrals = value.is_object() ? json_unsigned(value, "verified_referrals") : std::nullopt;
    auto minted = value.is_object() ? json_unsigned(value, "credits_minted") : std::nullopt;
    auto spent = value.is_object() ? json_unsigned(value, "credits_spent") : std::nullopt;
    auto balance = value.is_object() ? value.find("balance") : value.end();
    // Optional fields: absent (a node from before grants and refunds) counts as 0.
    std::size_t optional_present = 0;
    bool optional_ok = true;
    auto optional_field = [&](const char* name, std::uint64_t& out) {
      if (!value.is_object() || !value.contains(name)) return;
      ++optional_present;
      auto v = json_unsigned(value, name);
      if (!v)
        optional_ok = false;
      else
        out = *v;
    };
    optional_field("credits_granted", b.credits_granted);
    optional_field("credits_refunded", b.credits_refunded);
    if (!referrals || !minted || !spent || balance == value.end() ||
        !balance->is_number_integer() || !optional_ok || value.size() != 4 + optional_present) {
      result.error = "member " + id +
                     ": expected {verified_referrals, credits_minted, credits_spent, balance"
                     "[, credits_granted, credits_refunded]}";
      return result;
    }
    b.verified_referrals = *referrals;
    b.credits_minted = *minted;
    b.credits_spent = *spent;
    b.balance = balance->get<std::int64_t>();
    out.members.emplace(id, b);
  }
  result.balances = std::move(out);
  return result;
}

BalanceBook::Member* BalanceBook::member_for(const At& at) {
  auto id = data_string(at.entry, "member");
  if (!id) {
    at.add(missing(at.entry, "member", "a string"));
    return nullptr;
  }
  auto it = members_.find(*id);
  if (it == members_.end()) {
    at.add(at.entry.kind + " names member " + *id + ", never admitted");
    return nullptr;
  }
  return &it->second;
}

void BalanceBook::apply(const protocol::LedgerEntry& e, std::uint64_t position,
                        ProblemList& problems) {
  const At at{e, position, problems};
  if (e.version < version_)
    at.add("entry version " + std::to_string(e.version) + " after version " +
           std::to_string(version_));
  version_ = std::max(version_, e.version);
  if (awaiting_mints_ &&
      !(e.kind == k::credit_minted && data_string(e, "member") == awaiting_mints_->first))
    check_due(problems);
  if (e.kind == k::node_initialised || e.kind == "credit_ratio_changed") {
    auto ratio = data_unsigned(e, "referrals_per_credit");
    if (!ratio || *ratio == 0) {
      at.add(missing(e, "referrals_per_credit", "a positive integer"));
      return;
    }
    ratio_ = *ratio;
  } else if (e.kind == k::alumni_credit_rule) {
    auto rule = e.data.find("alumni_count_toward_credits");
    if (rule == e.data.end() || !rule->is_boolean())
      at.add(missing(e, "alumni_count_toward_credits", "a boolean"));
    else
      alumni_count_ = rule->get<bool>();
  } else if (e.kind == k::referral_hold_rule) {
    auto days = data_unsigned(e, "holding_days");
    if (!days || *days > 3650)
      at.add(missing(e, "holding_days", "an unsigned integer (at most 3650)"));
    else
      hold_ms_ = static_cast<std::int64_t>(*days) * 86'400'000;
  } else if (e.kind == k::member_admitted) {
    auto id = data_string(e, "member");
    if (!id || id->empty())
      at.add(missing(e, "member", "a non-empty string"));
    else if (!members_.emplace(*id, Member{}).second)
      at.add("member " + *id + " admitted twice");
  } else if (e.kind == k::member_suspended || e.kind == k::member_reinstated ||
             e.kind == k::referral_verified || e.kind == k::credit_minted ||
             e.kind == k::credit_spent || e.kind == k::credit_refunded ||
             e.kind == k::credit_granted || e.kind == k::referral_held ||
             e.kind == k::referral_flagged || e.kind == k::referral_accepted ||
             e.kind == k::referral_rejected || e.kind == k::referral_counted ||
             e.kind == k::referral_dropped) {
    auto* m = member_for(at);
    if (m == nullptr) return;
    const auto id = e.data.at("member").get<std::string>();
    if (e.kind == k::referral_verified)
      referral_verified(at, id, *m);
    else if (e.kind == k::credit_minted)
      credit_minted(at, id, *m);
    else if (e.kind == k::credit_spent)
      credit_spent(at, id, *m);
    else if (e.kind == k::credit_refunded)
      credit_refunded(at, id, *m);
    else if (e.kind == k::credit_granted)
      credit_granted(at, id, *m);
    else if (e.kind == k::referral_held)
      referral_held(at, id, *m);
    else if (e.kind != k::member_suspended && e.kind != k::member_reinstated)
      referral_hold_step(at, id, *m);
    else
      m->active = e.kind == k::member_reinstated;
  }
}

void BalanceBook::referral_verified(const At& at, const std::string& id, Member& m) {
  const auto& e = at.entry;
  auto counted = e.data.find("counted");
  auto candidate = data_string(e, "candidate");
  auto total = data_unsigned(e, "counted_total");
  if (counted == e.data.end() || !counted->is_boolean()) {
    at.add(missing(e, "counted", "a boolean"));
    return;
  }
  if (!candidate || candidate->empty()) {
    at.add(missing(e, "candidate", "a non-empty string"));
    return;
  }
  // Rejection referrals carry no "kind"; alumni referrals count only if the rule says so.
  bool alumni = false;
  if (auto kind = e.data.find("kind"); kind != e.data.end()) {
    if (!kind->is_string() || *kind != "alumni") {
      at.add(missing(e, "kind", "\"alumni\" (or absent)"));
      return;
    }
    alumni = true;
  }
  if (alumni && counted->get<bool>() && !alumni_count_)
    at.add("member " + id + ": alumni referral counted while alumni do not count toward credits");
  if (counted->get<bool>()) {
    if (e.version >= 2)
      at.add("member " + id +
             ": referral_verified counted in a version 2 entry (a referral counts only through "
             "referral_held and referral_counted)");
    count_referral(at, id, m, *candidate);
  }
  if (!total) {
    at.add(missing(e, "counted_total", "an unsigned integer"));
  } else if (*total != m.balance.verified_referrals) {
    at.add("member " + id + ": counted_total " + std::to_string(*total) + ", recomputed " +
           std::to_string(m.balance.verified_referrals));
  }
}

void BalanceBook::count_referral(const At& at, const std::string& id, Member& m,
                                 const std::string& candidate) {
  if (!m.active) at.add("member " + id + ": referral counted while the member is suspended");
  if (!counted_.insert(short_digest(id + "/" + candidate)).second)
    at.add("member " + id + ": candidate " + candidate + " counted a second time");
  ++m.balance.verified_referrals;
  awaiting_mints_.emplace(id, at.position);
}

void BalanceBook::referral_held(const At& at, const std::string& id, Member& m) {
  const auto& e = at.entry;
  auto referral = data_string(e, "referral");
  auto candidate = data_string(e, "candidate");
  auto until = data_integer(e, "until");
  if (!referral || referral->empty()) return at.add(missing(e, "referral", "a non-empty string"));
  if (!candidate || candidate->empty())
    return at.add(missing(e, "candidate", "a non-empty string"));
  if (!until) return at.add(missing(e, "until", "an integer"));
  if (auto kind = e.data.find("kind"); kind != e.data.end()) {
    if (!kind->is_string() || *kind != "alumni")
      return at.add(missing(e, "kind", "\"alumni\" (or absent)"));
    if (!alumni_count_)
      at.add("member " + id + ": alumni referral held while alumni do not count toward credits");
  }
  if (!m.active) at.add("member " + id + ": referral held while the member is suspended");
  // The node reads its clock for `until` just before the entry is stamped: 1 s of slack.
  constexpr std::int64_t kStampSlackMs = 1000;
  if (*until < e.time_ms + hold_ms_ - kStampSlackMs)
    at.add("member " + id + ": referral " + *referral + " held until " + std::to_string(*until) +
           ", before the holding period ends (" + std::to_string(e.time_ms + hold_ms_) + ")");
  if (!ever_held_.insert(short_digest(id + "/" + *referral)).second)
    return at.add("member " + id + ": referral " + *referral + " held a second time");
  held_[id + "/" + *referral] = Held{*candidate, *until, false, false};
}

void BalanceBook::referral_hold_step(const At& at, const std::string& id, Member& m) {
  const auto& e = at.entry;
  auto referral = data_string(e, "referral");
  if (!referral || referral->empty()) return at.add(missing(e, "referral", "a non-empty string"));
  auto it = held_.find(id + "/" + *referral);
  if (it == held_.end())
    return at.add(e.kind + ": member " + id + ": referral " + *referral +
                  " is not held (never held, or its hold has ended)");
  auto& held = it->second;
  if (e.kind == k::referral_flagged) {
    auto reasons = e.data.find("reasons");
    bool ok = reasons != e.data.end() && reasons->is_array() && !reasons->empty();
    if (ok)
      for (const auto& r : *reasons)
        if (!r.is_string() || !protocol::is_flag_reason(r.get<std::string>())) ok = false;
    if (!ok) return at.add(missing(e, "reasons", "a non-empty array of flag reasons"));
    held.flagged = true;
    held.accepted = false;
  } else if (e.kind == k::referral_accepted || e.kind == k::referral_rejected) {
    if (!held.flagged || held.accepted)
      return at.add(e.kind + ": member " + id + ": referral " + *referral +
                    " is not flagged and waiting for a decision");
    if (e.kind == k::referral_accepted)
      held.accepted = true;
    else
      held_.erase(it);
  } else if (e.kind == k::referral_dropped) {
    auto reason = data_string(e, "reason");
    if (!reason || !protocol::is_drop_reason(*reason))
      at.add(missing(e, "reason", "withdrawn, erased or member_suspended"));
    held_.erase(it);
  } else if (e.kind == k::referral_counted) {
    auto candidate = data_string(e, "candidate");
    auto total = data_unsigned(e, "counted_total");
    if (held.flagged && !held.accepted)
      at.add("member " + id + ": referral " + *referral +
             " counted while flagged and not accepted by the operator");
    if (e.time_ms < held.until)
      at.add("member " + id + ": referral " + *referral + " counted at " +
             std::to_string(e.time_ms) + ", before its hold ends at " + std::to_string(held.until));
    if (candidate != held.candidate)
      at.add("member " + id + ": referral " + *referral +
             " counted with a candidate other than the one held");
    const auto candidate_held = held.candidate;
    held_.erase(it);
    count_referral(at, id, m, candidate_held);
    if (!total) {
      at.add(missing(e, "counted_total", "an unsigned integer"));
    } else if (*total != m.balance.verified_referrals) {
      at.add("member " + id + ": counted_total " + std::to_string(*total) + ", recomputed " +
             std::to_string(m.balance.verified_referrals));
    }
  }
}

void BalanceBook::credit_minted(const At& at, const std::string& id, Member& m) {
  const auto& e = at.entry;
  ++m.balance.credits_minted;
  ++m.balance.balance;
  auto minted_total = data_unsigned(e, "minted_total");
  if (!minted_total) {
    at.add(missing(e, "minted_total", "an unsigned integer"));
  } else if (*minted_total != m.balance.credits_minted) {
    at.add("member " + id + ": minted_total " + std::to_string(*minted_total) + ", recomputed " +
           std::to_string(m.balance.credits_minted));
  }
  const auto due = ratio_ == 0 ? 0 : m.balance.verified_referrals / ratio_;
  if (m.balance.credits_minted > due) {
    at.add("member " + id + ": credit_minted breaks the floor rule (" +
           std::to_string(m.balance.credits_minted) + " minted, floor(" +
           std::to_string(m.balance.verified_referrals) + " / " + std::to_string(ratio_) +
           ") = " + std::to_string(due) + ")");
  }
  check_balance(at, id, m);
}

void BalanceBook::check_balance(const At& at, const std::string& id, const Member& m) {
  auto balance = data_integer(at.entry, "balance");
  if (!balance) {
    at.add(missing(at.entry, "balance", "an integer"));
  } else if (*balance != m.balance.balance) {
    at.add("member " + id + ": balance " + std::to_string(*balance) + ", recomputed " +
           std::to_string(m.balance.balance));
  }
}

void BalanceBook::credit_spent(const At& at, const std::string& id, Member& m) {
  const auto& e = at.entry;
  ++m.balance.credits_spent;
  --m.balance.balance;
  if (m.balance.balance < 0)
    at.add("member " + id + ": credit spent with no credit left (balance " +
           std::to_string(m.balance.balance) + ")");
  // Logs from before introductions name a "purpose"; both identify the spend.
  auto intro = data_string(e, "introduction");
  if (!intro) intro = data_string(e, "purpose");
  if (!intro || intro->empty()) {
    at.add(missing(e, "introduction", "a non-empty string"));
  } else if (!m.spends.emplace(*intro, false).second) {
    at.add("member " + id + ": a second credit spent on introduction " + *intro);
  }
  check_balance(at, id, m);
}

void BalanceBook::credit_refunded(const At& at, const std::string& id, Member& m) {
  const auto& e = at.entry;
  ++m.balance.credits_refunded;
  ++m.balance.balance;
  auto intro = data_string(e, "introduction");
  auto reason = data_string(e, "reason");
  if (!intro || intro->empty()) {
    at.add(missing(e, "introduction", "a non-empty string"));
  } else if (auto spend = m.spends.find(*intro); spend == m.spends.end()) {
    at.add("member " + id + ": credit refunded for introduction " + *intro +
           ", on which no credit was spent");
  } else if (spend->second) {
    at.add("member " + id + ": credit for introduction " + *intro + " refunded a second time");
  } else {
    spend->second = true;
  }
  if (!reason || !protocol::is_refund_reason(*reason))
    at.add(missing(e, "reason", "declined, expired, withdrawn, erased or undelivered"));
  check_balance(at, id, m);
}

void BalanceBook::credit_granted(const At& at, const std::string& id, Member& m) {
  const auto& e = at.entry;
  auto credits = data_unsigned(e, "credits");
  auto reason = data_string(e, "reason");
  if (!credits || *credits == 0 || *credits > static_cast<std::uint64_t>(INT32_MAX)) {
    at.add(missing(e, "credits", "a positive integer"));
  } else {
    m.balance.credits_granted += *credits;
    m.balance.balance += static_cast<std::int64_t>(*credits);
  }
  if (!reason || reason->empty()) at.add(missing(e, "reason", "a non-empty string"));
  if (!m.active) at.add("member " + id + ": credits granted while the member is suspended");
  check_balance(at, id, m);
}

void BalanceBook::check_due(ProblemList& problems) {
  const auto [id, position] = *awaiting_mints_;
  awaiting_mints_.reset();
  const auto& b = members_.at(id).balance;
  const auto due = ratio_ == 0 ? 0 : b.verified_referrals / ratio_;
  if (b.credits_minted < due)
    problems.add_entry(position, "member " + id + ": floor(" +
                                     std::to_string(b.verified_referrals) + " / " +
                                     std::to_string(ratio_) + ") = " + std::to_string(due) +
                                     " credits due after this referral, " +
                                     std::to_string(b.credits_minted) + " minted");
}

void BalanceBook::finish(ProblemList& problems) {
  if (awaiting_mints_) check_due(problems);
}

Balances BalanceBook::balances() const {
  Balances out;
  for (const auto& [id, m] : members_) out.emplace(id, m.balance);
  return out;
}

}  // namespace relay::audit
