#pragma once
// Suppression of small cells (README.md, "Suppression"). Primary: a cell is released only if
// it counts at least min_persons persons and min_companies distinct member companies.
// Complementary: for every total that is (or may be) published, grouped by the dimensions a
// margin lists (an empty list: the grand total), a group with exactly one suppressed cell and
// at least one released one gets its smallest released cell (fewest persons, then by key)
// suppressed too, so the total minus the released cells is a sum of two or more suppressed
// cells and never one cell's value; repeated over every margin to a fixed point.
//
// Pure functions; threads: any.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace relay::node::statistics {

struct Thresholds {
  std::uint64_t min_persons = 10;
  std::uint64_t min_companies = 3;
};

struct SuppressionCell {
  std::vector<std::string> key;  // one value per dimension
  std::uint64_t persons = 0;
  std::uint64_t companies = 0;
  bool released = false;  // the result
};

// Sets `released` on every cell; returns how many are suppressed.
std::size_t suppress(std::vector<SuppressionCell>& cells, const Thresholds& thresholds,
                     const std::vector<std::vector<std::size_t>>& margins);

}  // namespace relay::node::statistics
