#include "node/statistics/suppression.hpp"

#include <map>

namespace relay::node::statistics {

std::size_t suppress(std::vector<SuppressionCell>& cells, const Thresholds& thresholds,
                     const std::vector<std::vector<std::size_t>>& margins) {
  for (auto& c : cells)
    c.released = c.persons >= thresholds.min_persons && c.companies >= thresholds.min_companies;
  // Each pass suppresses at least one more cell or stops: at most cells.size() passes.
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& margin : margins) {
      std::map<std::vector<std::string>, std::vector<std::size_t>> groups;
      for (std::size_t i = 0; i < cells.size(); ++i) {
        std::vector<std::string> group;
        for (auto d : margin) group.push_back(cells[i].key.at(d));
        groups[group].push_back(i);
      }
      for (const auto& [group, members] : groups) {
        std::size_t suppressed = 0;
        const SuppressionCell* smallest = nullptr;
        std::size_t smallest_at = 0;
        for (auto i : members) {
          const auto& c = cells[i];
          if (!c.released) {
            ++suppressed;
          } else if (!smallest || c.persons < smallest->persons ||
                     (c.persons == smallest->persons && c.key < smallest->key)) {
            smallest = &c;
            smallest_at = i;
          }
        }
        if (suppressed == 1 && smallest) {
          cells[smallest_at].released = false;
          changed = true;
        }
      }
    }
  }
  std::size_t out = 0;
  for (const auto& c : cells) out += !c.released;
  return out;
}

}  // namespace relay::node::statistics
