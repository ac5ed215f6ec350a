#pragma once
// What an audit found wrong, each problem named precisely: where ("entry 17", "checkpoint",
// "key.json", "member m_x", "balances") and what ("signature invalid"). The list keeps the
// first max_kept problems and counts the rest, so a wholly reordered log of a million entries
// reports a readable list rather than a million lines.
//
// Thread safety: a plain value; one thread at a time.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace relay::audit {

struct Problem {
  std::string where;
  std::string what;
  std::optional<std::uint64_t> entry;  // set when the problem is about one entry

  // "where: what", as printed.
  std::string text() const { return where + ": " + what; }
};

class ProblemList {
 public:
  explicit ProblemList(std::size_t max_kept = 1000) : max_kept_(max_kept) {}

  void add(std::string where, std::string what);
  // where = "entry <index>".
  void add_entry(std::uint64_t index, std::string what);
  // where = "member <id>".
  void add_member(const std::string& member_id, std::string what);
  void add(Problem problem);

  bool empty() const { return total_ == 0; }
  // Every problem found, kept or not.
  std::uint64_t total() const { return total_; }
  // Problems found beyond max_kept (counted, not kept).
  std::uint64_t omitted() const { return total_ - kept_.size(); }
  const std::vector<Problem>& kept() const { return kept_; }
  // True if a kept problem's text contains `needle` (for tests and callers that branch).
  bool mentions(const std::string& needle) const;

 private:
  std::size_t max_kept_;
  std::vector<Problem> kept_;
  std::uint64_t total_ = 0;
};

// [{where, what, entry?}] of the kept problems (every command's --json "problems").
nlohmann::json to_json(const ProblemList& problems);

}  // namespace relay::audit
