#pragma once
// SyntheticLog: a node's ledger built in memory from protocol/ alone (encode_entry, the
// event builders, Merkle maths, sign_checkpoint) and written as an export directory, so the
// auditor's tests need no node. It tracks what a correct node would report as balances.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "audit/balance_book.hpp"
#include "audit/export_dir_source.hpp"
#include "audit/key_document.hpp"
#include "audit/log_verifier.hpp"
#include "crypto/keys.hpp"
#include "protocol/canonical_json.hpp"
#include "protocol/checkpoint.hpp"
#include "protocol/event.hpp"
#include "protocol/ledger_entry.hpp"
#include "protocol/merkle.hpp"
#include "support/temp_dir.hpp"
#include "support/vectors.hpp"

namespace relay::test {

inline void write_text(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

class SyntheticLog {
 public:
  explicit SyntheticLog(std::uint32_t referrals_per_credit = 3,
                        std::string origin = "audit-test.relaynode")
      : origin_(std::move(origin)),
        ratio_(referrals_per_credit),
        first_key_(crypto::Ed25519KeyPair::generate()) {
    signer_ = &first_key_;
    append(protocol::node_initialised("JP-28", ratio_, first_key_.public_key,
                                      crypto::X25519KeyPair::generate().public_key));
  }

  SyntheticLog(const SyntheticLog&) = delete;
  SyntheticLog& operator=(const SyntheticLog&) = delete;

  const std::string& origin() const { return origin_; }
  const crypto::Ed25519KeyPair& key() const { return *signer_; }
  const crypto::Ed25519KeyPair& first_key() const { return first_key_; }
  std::vector<std::string>& entries() { return entries_; }
  const std::vector<std::string>& entries() const { return entries_; }
  audit::Balances& balances() { return balances_; }

  // Signs and appends an event (with `by` instead of the current key if given).
  std::uint64_t append(const protocol::Event& event, const crypto::Ed25519KeyPair* by = nullptr) {
    const auto index = entries_.size();
    return append_at(index, event, by);
  }
  // As append, but with `index` written in the entry's index field.
  std::uint64_t append_at(std::uint64_t index, const protocol::Event& event,
                          const crypto::Ed25519KeyPair* by = nullptr) {
    entries_.push_back(protocol::encode_entry(index, time_++, origin_, event.kind, event.data,
                                              by ? *by : *signer_, version_));
    return entries_.size() - 1;
  }

  // The version of the entries appended from now on. Version 1 (the default: the rules every
  // older log keeps) lets refer() count a referral at verification; version 2 counts only
  // through hold() and release() (issue 17).
  void set_version(int version) { version_ = version; }
  // The current time stamp (each entry takes the next millisecond) and a jump forward.
  std::int64_t now() const { return time_; }
  void advance(std::int64_t ms) { time_ += ms; }

  std::string admit(const std::string& name) {
    auto id = "m_" + name;
    append(protocol::member_admitted(id, name));
    balances_[id];
    return id;
  }

  // A verified referral; mints a credit when it completes a block, as a node does. kind:
  // "" (a rejection referral) or "alumni".
  void refer(const std::string& member, bool counted = true, std::string_view kind = {}) {
    auto& b = balances_[member];
    if (counted) ++b.verified_referrals;
    append(protocol::referral_verified(member, "r" + std::to_string(entries_.size()),
                                       "cand" + std::to_string(++candidates_), counted,
                                       b.verified_referrals, kind));
    while (counted && b.credits_minted < b.verified_referrals / ratio_) {
      ++b.credits_minted;
      ++b.balance;
      append(protocol::credit_minted(member, b.credits_minted, b.balance));
    }
  }

  // Version 2: a verified referral held until `until` (default: now, a zero hold); returns its
  // id. release() counts it and mints as a node does.
  std::string hold(const std::string& member, std::int64_t until = 0, std::string_view kind = {}) {
    auto id = "r" + std::to_string(entries_.size());
    auto candidate = "cand" + std::to_string(++candidates_);
    append(protocol::referral_held(member, id, candidate, until ? until : time_, kind));
    held_[id] = candidate;
    return id;
  }
  void release(const std::string& member, const std::string& referral) {
    auto& b = balances_[member];
    ++b.verified_referrals;
    append(protocol::referral_counted(member, referral, held_.at(referral), b.verified_referrals));
    while (b.credits_minted < b.verified_referrals / ratio_) {
      ++b.credits_minted;
      ++b.balance;
      append(protocol::credit_minted(member, b.credits_minted, b.balance));
    }
  }

  // The operator changed the ratio (credit_ratio_changed); later referrals use it.
  void change_ratio(std::uint32_t referrals_per_credit) {
    ratio_ = referrals_per_credit;
    append(protocol::credit_ratio_changed(ratio_));
  }

  // Spends a credit; returns the introduction id it names.
  std::string spend(const std::string& member) {
    auto& b = balances_[member];
    ++b.credits_spent;
    --b.balance;
    auto intro = "intro" + std::to_string(entries_.size());
    append(protocol::credit_spent(member, intro, b.balance));
    return intro;
  }

  // Refunds the credit spent on `introduction`, as a node does (no check: tests forge).
  void refund(const std::string& member, const std::string& introduction,
              std::string_view reason = protocol::refund_reason::declined) {
    auto& b = balances_[member];
    ++b.credits_refunded;
    ++b.balance;
    append(protocol::credit_refunded(member, introduction, reason, b.balance));
  }

  // The operator grants `credits` credits.
  void grant(const std::string& member, std::uint64_t credits,
             std::string_view reason = "Kobe municipal programme 2026") {
    auto& b = balances_[member];
    b.credits_granted += credits;
    b.balance += static_cast<std::int64_t>(credits);
    append(protocol::credit_granted(member, credits, reason, b.balance));
  }

  // Records a rotation signed by the current key; later entries are signed by the new one.
  const crypto::Ed25519KeyPair& rotate() {
    rotated_.push_back(
        std::make_unique<crypto::Ed25519KeyPair>(crypto::Ed25519KeyPair::generate()));
    append(protocol::key_rotated(signer_->public_key, rotated_.back()->public_key,
                                 crypto::X25519KeyPair::generate().public_key));
    signer_ = rotated_.back().get();
    return *signer_;
  }

  protocol::Hash root(std::size_t size) const {
    protocol::RootAccumulator acc;
    for (std::size_t i = 0; i < size; ++i)
      acc.add(protocol::leaf_hash(crypto::as_bytes(entries_[i])));
    return acc.root();
  }

  // The checkpoint note of the first `size` entries signed by `by` (default: current key).
  std::string checkpoint(std::size_t size, const crypto::Ed25519KeyPair* by = nullptr) const {
    const auto& key = by ? *by : *signer_;
    auto id = protocol::note_key_id(origin_, protocol::NoteKeyType::ed25519, key.public_key);
    return *protocol::sign_checkpoint({origin_, size, root(size), {}}, origin_, key.secret_key, id);
  }
  std::string checkpoint() const { return checkpoint(entries_.size()); }

  std::string entries_file() const {
    std::string out;
    for (const auto& e : entries_) out += e + "\n";
    return out;
  }
  std::string key_file() const { return *audit::format_key_document(origin_, signer_->public_key); }
  std::string balances_file() const {
    nlohmann::json members = nlohmann::json::object();
    for (const auto& [id, b] : balances_) members[id] = b.to_json();
    return protocol::canonical_dump({{"ledger_size", entries_.size()}, {"members", members}}) +
           "\n";
  }

  // Writes the four export files into dir (created).
  void write(const std::filesystem::path& dir) const {
    std::filesystem::create_directories(dir);
    write_text(dir / "entries.jsonl", entries_file());
    write_text(dir / "checkpoint", checkpoint());
    write_text(dir / "key.json", key_file());
    write_text(dir / "balances.json", balances_file());
  }

 private:
  std::string origin_;
  std::uint32_t ratio_;
  crypto::Ed25519KeyPair first_key_;
  std::vector<std::unique_ptr<crypto::Ed25519KeyPair>> rotated_;
  const crypto::Ed25519KeyPair* signer_;
  std::vector<std::string> entries_;
  audit::Balances balances_;
  std::int64_t time_ = 1'790'000'000'000;
  int candidates_ = 0;
  int version_ = 1;
  std::map<std::string, std::string> held_;  // referral -> candidate
};

// Writes the log to dir as an export and verifies it as relay-audit would (no balances file
// unless the log wrote one; at most 1000 problems kept).
inline audit::VerifyReport verify_export(const SyntheticLog& log,
                                         const std::filesystem::path& dir) {
  log.write(dir);
  audit::ExportDirSource source(dir);
  return audit::verify_log(source, {std::nullopt, 1000, 1});
}

// Every kept problem's text, one per line (for failure messages and substring checks).
inline std::string problems_text(const audit::VerifyReport& report) {
  std::string out;
  for (const auto& p : report.problems.kept()) out += p.text() + "\n";
  return out;
}

}  // namespace relay::test
