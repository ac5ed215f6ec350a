// node/common/slot_map: every sequence of inserts, erases and lookups answers as a
// std::unordered_map of the same keys would, slots stay dense (a freed slot is handed out
// again), and runs that wrap around the table's end survive erasure from their middle.
#include "node/common/slot_map.hpp"

#include <doctest/doctest.h>

#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

using relay::node::common::SlotMap;

namespace {

// Checks the map against the model: same keys, each at the slot it was given, and the slots
// in use are distinct and below slots().
void agree(const SlotMap& map, const std::unordered_map<std::string, SlotMap::Slot>& model) {
  REQUIRE(map.size() == model.size());
  std::set<SlotMap::Slot> used;
  for (const auto& [key, slot] : model) {
    auto found = map.find(key);
    REQUIRE(found.has_value());
    CHECK(*found == slot);
    CHECK(slot < map.slots());
    used.insert(slot);
  }
  CHECK(used.size() == model.size());
}

}  // namespace

TEST_SUITE_BEGIN("slot map");

TEST_CASE("slot map: insert, find and erase, slots reused") {
  SlotMap map;
  CHECK(map.size() == 0);
  CHECK_FALSE(map.find("a").has_value());
  CHECK_FALSE(map.erase("a").has_value());

  auto [a, a_new] = map.insert("a");
  auto [b, b_new] = map.insert("b");
  CHECK(a_new);
  CHECK(b_new);
  CHECK(a == 0);
  CHECK(b == 1);
  auto [again, again_new] = map.insert("a");
  CHECK_FALSE(again_new);
  CHECK(again == a);
  CHECK(map.size() == 2);

  CHECK(map.erase("a") == a);
  CHECK_FALSE(map.find("a").has_value());
  CHECK(map.find("b") == b);
  CHECK(map.size() == 1);
  // The freed slot goes to the next new key: the caller's rows do not grow.
  auto [c, c_new] = map.insert("c");
  CHECK(c_new);
  CHECK(c == a);
  CHECK(map.slots() == 2);

  // The empty key and keys past the string's own buffer are keys like any other.
  auto [empty, empty_new] = map.insert("");
  const std::string long_key(200, 'k');
  auto [long_slot, long_new] = map.insert(long_key);
  CHECK(empty_new);
  CHECK(long_new);
  CHECK(map.find("") == empty);
  CHECK(map.find(long_key) == long_slot);
  CHECK_FALSE(map.find(std::string(199, 'k')).has_value());
}

TEST_CASE("slot map: agrees with unordered_map through random changes") {
  // A small key space keeps the table small, so runs wrap around its end and erasure moves
  // keys back across it; a large one makes it grow through many sizes.
  for (const int universe : {24, 300, 40000}) {
    CAPTURE(universe);
    std::mt19937 rng(static_cast<unsigned>(universe));
    SlotMap map;
    std::unordered_map<std::string, SlotMap::Slot> model;
    std::uniform_int_distribution<int> pick(0, universe - 1);
    std::uniform_int_distribution<int> op(0, 9);
    for (int step = 0; step < 6 * universe + 2000; ++step) {
      // Ids shaped like the pool index's keys: packed bytes (any value, NUL included).
      const int n = pick(rng);
      std::string key = "c" + std::to_string(n);
      if (n % 3 == 0) key.push_back('\0');
      if (n % 7 == 0) key.append(40, static_cast<char>(n));
      const int o = op(rng);
      if (o < 5) {
        auto [slot, fresh] = map.insert(key);
        auto it = model.find(key);
        CHECK(fresh == (it == model.end()));
        if (it != model.end()) CHECK(slot == it->second);
        model[key] = slot;
      } else if (o < 8) {
        auto erased = map.erase(key);
        auto it = model.find(key);
        CHECK(erased.has_value() == (it != model.end()));
        if (it != model.end()) {
          CHECK(*erased == it->second);
          model.erase(it);
        }
      } else {
        auto found = map.find(key);
        auto it = model.find(key);
        CHECK(found.has_value() == (it != model.end()));
      }
      if (step % (universe < 1000 ? 97 : 24989) == 0) agree(map, model);
    }
    agree(map, model);
    // Rows stay dense: never more slots than keys were ever present at once.
    CHECK(map.slots() <= static_cast<std::size_t>(universe));
    // Emptied, then filled again: every slot is reused before a new one is made.
    const auto slots = map.slots();
    for (const auto& [key, slot] : model) CHECK(map.erase(key) == slot);
    CHECK(map.size() == 0);
    for (std::size_t i = 0; i < slots; ++i) CHECK(map.insert("again" + std::to_string(i)).second);
    CHECK(map.slots() == slots);
  }
}

TEST_SUITE_END();
