#pragma once
// Runs audit/balance_book over a node's ledger (the auditor's recomputation, on the live
// store), so the domain tests of credits and introductions can check the credit rules hold.
#include <string>
#include <variant>
#include <vector>

#include "audit/balance_book.hpp"
#include "audit/problem_list.hpp"
#include "node/ledger/ledger.hpp"
#include "node/storage/environment.hpp"
#include "protocol/ledger_entry.hpp"

namespace relay::test {

struct LedgerAudit {
  audit::Balances balances;
  std::vector<std::string> problems;
  std::vector<std::string> kinds;  // every entry's kind, in order
};

inline LedgerAudit audit_ledger(node::storage::Environment& env,
                                const node::ledger::Ledger& ledger) {
  LedgerAudit out;
  audit::BalanceBook book;
  audit::ProblemList problems;
  auto txn = env.begin_read();
  const auto size = ledger.size(txn);
  for (std::uint64_t i = 0; i < size; ++i) {
    auto parsed = protocol::parse_entry(*ledger.entry(txn, i));
    if (auto* error = std::get_if<protocol::EntryError>(&parsed)) {
      out.problems.push_back("entry " + std::to_string(i) + ": " + error->message);
      continue;
    }
    const auto& entry = std::get<protocol::LedgerEntry>(parsed);
    out.kinds.push_back(entry.kind);
    book.apply(entry, i, problems);
  }
  book.finish(problems);
  for (const auto& p : problems.kept()) out.problems.push_back(p.text());
  out.balances = book.balances();
  return out;
}

}  // namespace relay::test
