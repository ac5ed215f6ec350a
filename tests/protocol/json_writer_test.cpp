// protocol/json_writer: text written by JsonWriter is, byte for byte, nlohmann's dump() of the
// same tree when keys are written in order: random trees with every character JSON must
// escape, multi-byte UTF-8, the int64 extremes and nesting; misuse is refused. compact_dump is
// dump() too, floats, binary values and strings that are not UTF-8 included.
#include "protocol/json_writer.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocol/canonical_json.hpp"

namespace {

namespace protocol = relay::protocol;
using nlohmann::json;

// The tree through the writer (nlohmann's objects iterate their keys in byte order).
void write(protocol::JsonWriter& w, const json& j) {
  switch (j.type()) {
    case json::value_t::object:
      w.begin_object();
      for (const auto& [k, v] : j.items()) {
        w.key(k);
        write(w, v);
      }
      w.end_object();
      break;
    case json::value_t::array:
      w.begin_array();
      for (const auto& v : j) write(w, v);
      w.end_array();
      break;
    case json::value_t::string:
      w.string(j.get_ref<const std::string&>());
      break;
    case json::value_t::boolean:
      w.boolean(j.get<bool>());
      break;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      w.integer(j.get<std::int64_t>());
      break;
    default:
      w.raw(j.dump());
  }
}

std::string text_of(const json& j) {
  std::string out;
  protocol::JsonWriter w(out);
  write(w, j);
  return out;
}

std::string random_string(std::mt19937& rng) {
  static const std::string pieces[] = {"a",    "Z",  "0",    " ",  "\"",   "\\",   "/",
                                       "\b",   "\f", "\n",   "\r", "\t",   "\x01", "\x1f",
                                       "\x7f", "é",  "日本", "😀",  "kobe", "JP-28"};
  std::string s;
  const auto n = rng() % 8;
  for (unsigned i = 0; i < n; ++i) s += pieces[rng() % std::size(pieces)];
  if (rng() % 10 == 0) s += std::string(1, '\0') + "after nul";
  return s;
}

json random_tree(std::mt19937& rng, int depth) {
  switch (depth > 4 ? rng() % 4 : rng() % 6) {
    case 0:
      return random_string(rng);
    case 1: {
      static const std::int64_t ints[] = {0,
                                          1,
                                          -1,
                                          42,
                                          1700000000000,
                                          -1700000000000,
                                          std::numeric_limits<std::int64_t>::max(),
                                          std::numeric_limits<std::int64_t>::min()};
      return ints[rng() % std::size(ints)];
    }
    case 2:
      return rng() % 2 == 0;
    case 3:
      return nullptr;
    case 4: {
      json o = json::object();
      const auto n = rng() % 5;
      for (unsigned i = 0; i < n; ++i) o[random_string(rng)] = random_tree(rng, depth + 1);
      return o;
    }
    default: {
      json a = json::array();
      const auto n = rng() % 5;
      for (unsigned i = 0; i < n; ++i) a.push_back(random_tree(rng, depth + 1));
      return a;
    }
  }
}

}  // namespace

TEST_CASE("json writer: the text is dump() of the same tree, escapes and UTF-8 included") {
  CHECK(text_of(json::object()) == "{}");
  CHECK(text_of(json::array()) == "[]");
  CHECK(text_of(json{{"a", json::array({json::object(), json::array()})}, {"b", 1}}) ==
        R"({"a":[{},[]],"b":1})");
  CHECK(text_of("\x01\"\\\n") == R"("\u0001\"\\\n")");

  // Integers around every power of ten, both signs, and the extremes.
  std::vector<std::int64_t> ints = {std::numeric_limits<std::int64_t>::max(),
                                    std::numeric_limits<std::int64_t>::min(),
                                    std::numeric_limits<std::int64_t>::min() + 1};
  for (std::int64_t p = 1;; p *= 10) {
    for (std::int64_t v : {p - 1, p, p + 1}) {
      ints.push_back(v);
      ints.push_back(-v);
    }
    if (p == 1000000000000000000) break;  // 10^18: 10^19 would overflow (UBSan found the loop did)
  }
  for (auto v : ints) CHECK(text_of(json(v)) == json(v).dump());

  std::mt19937 rng(19);
  for (int i = 0; i < 2000; ++i) {
    const json tree = random_tree(rng, 0);
    const auto text = text_of(tree);
    REQUIRE(text == tree.dump());
    CHECK(json::parse(text) == tree);
  }
}

TEST_CASE("json writer: an escape at any offset of a long string, between UTF-8 and DEL") {
  // Strings are scanned for escapes eight bytes at a time: every byte JSON escapes, and the
  // bytes around the tested ranges ('!' 0x21, '#' 0x23, '[' 0x5b, ']' 0x5d, DEL, UTF-8), at
  // each offset of a 40-byte string, alone and with a second escape three bytes later.
  std::string specials;
  for (int c = 0; c < 0x20; ++c) specials += static_cast<char>(c);
  specials += "\"\\!#[] \x7f";
  const std::string base = "abcdefgh\x7fij\xc3\xa9klmn\xe6\x97\xa5opqrstuvwxyz0123456789";
  for (std::size_t at = 0; at <= base.size(); ++at) {
    for (char c : specials) {
      std::string s = base;
      // Insert between characters only, so the text stays valid UTF-8.
      std::size_t cut = at;
      while (cut < s.size() && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) ++cut;
      s.insert(cut, 1, c);
      if (cut + 3 < s.size() && (static_cast<unsigned char>(s[cut + 3]) & 0x80) == 0) {
        s.insert(cut + 3, 1, '"');
      }
      std::string out;
      protocol::append_json_string(out, s);
      REQUIRE(out == json(s).dump());
    }
  }
}

TEST_CASE("json writer: field() writes a literal as a string, bool as bool, raw as it is") {
  std::string out;
  protocol::JsonWriter w(out);
  w.begin_object()
      .field("a", "text")
      .field("b", true)
      .field("c", std::int64_t{-5})
      .field("d", std::string("s"))
      .key("e")
      .raw(R"({"x":[1]})")
      .end_object();
  CHECK(out == R"({"a":"text","b":true,"c":-5,"d":"s","e":{"x":[1]}})");
}

TEST_CASE("json writer: closing what is not open, or nesting past 64, throws") {
  std::string out;
  protocol::JsonWriter w(out);
  CHECK_THROWS_AS(w.end_object(), std::invalid_argument);
  for (int i = 0; i < 64; ++i) w.begin_array();
  CHECK_THROWS_AS(w.begin_array(), std::invalid_argument);
  for (int i = 0; i < 64; ++i) w.end_array();
  CHECK(out == std::string(64, '[') + std::string(64, ']'));
}

TEST_CASE("compact dump: dump()'s bytes, and its exception for what is not UTF-8") {
  std::mt19937 rng(23);
  for (int i = 0; i < 2000; ++i) {
    json tree = random_tree(rng, 0);
    // What canonical JSON cannot hold, which dump() writes all the same.
    json odd = json::array({0.5, -1e300, 3.0, std::numeric_limits<std::uint64_t>::max(),
                            json::binary({1, 2, 3}), json::binary({}, 7)});
    if (rng() % 3 == 0) tree = json{{"tree", tree}, {"odd", odd[rng() % odd.size()]}};
    REQUIRE(protocol::compact_dump(tree) == tree.dump());
  }
  // A string or a key that is not UTF-8: dump()'s own type_error 316, nothing else.
  for (const json& bad : {json("\xff"), json{{"k", "ok\xc3"}}, json{{"\xed\xa0\x80", 1}},
                          json::array({1, json{{"a", json::array({"\xc0\xaf"})}}})}) {
    CHECK_THROWS_AS(bad.dump(), json::type_error);
    try {
      (void)protocol::compact_dump(bad);
      FAIL("no exception");
    } catch (const json::type_error& e) {
      CHECK(e.id == 316);
    }
  }
}
