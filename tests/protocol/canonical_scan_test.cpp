// protocol: parse_canonical's one-pass fast path (canonical_scan.hpp) accepts only what the
// full path (parse_strict, canonical_dump, compare) accepts, with the same value and types,
// and parse_canonical refuses exactly what the full path refuses, with the same error.
#include "protocol/canonical_scan.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "protocol/canonical_json.hpp"
#include "support/vectors.hpp"

namespace {

namespace protocol = relay::protocol;
using nlohmann::json;
namespace fs = std::filesystem;

// parse_canonical as it was written before the fast path: the reference.
protocol::JsonParseResult full_path(std::string_view text, std::size_t max_depth) {
  auto result = protocol::parse_strict(text, max_depth);
  if (!result) return result;
  const auto canonical = protocol::canonical_dump(*result.value);
  if (canonical == text) return result;
  std::size_t offset = 0;
  while (offset < canonical.size() && offset < text.size() && canonical[offset] == text[offset])
    ++offset;
  protocol::JsonParseResult refused;
  refused.error = {protocol::JsonErrorCode::not_canonical, offset,
                   "JSON is not in canonical form at byte offset " + std::to_string(offset)};
  return refused;
}

// Equal values of equal types all the way down (json's == takes 1u and 1 as equal).
bool same(const json& a, const json& b) {
  if (a.type() != b.type() || a.size() != b.size()) return false;
  if (a.is_object()) {
    auto i = a.begin();
    for (auto j = b.begin(); j != b.end(); ++i, ++j)
      if (i.key() != j.key() || !same(*i, *j)) return false;
    return true;
  }
  if (a.is_array()) return std::equal(a.begin(), a.end(), b.begin(), same);
  return a == b;
}

// Checks one text at a few depth limits; returns whether the fast path accepted it.
bool check(const std::string& text) {
  bool fast_accepted = false;
  for (std::size_t depth : {std::size_t{0}, std::size_t{1}, std::size_t{3},
                            protocol::kDefaultMaxJsonDepth, std::size_t{1000}}) {
    INFO("text: " << text.substr(0, 200) << " depth " << depth);
    const auto reference = full_path(text, depth);
    const auto fast = protocol::scan_canonical(text, depth);
    if (fast) {
      fast_accepted = true;
      REQUIRE(reference);
      CHECK(same(*fast, *reference.value));
    }
    const auto parsed = protocol::parse_canonical(text, depth);
    REQUIRE(static_cast<bool>(parsed) == static_cast<bool>(reference));
    if (parsed) {
      CHECK(same(*parsed.value, *reference.value));
    } else {
      CHECK(parsed.error.code == reference.error.code);
      CHECK(parsed.error.offset == reference.error.offset);
      CHECK(parsed.error.message == reference.error.message);
    }
  }
  return fast_accepted;
}

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("canonical scan: agrees with the full path on JSONTestSuite and their canonical forms") {
  std::size_t files = 0;
  for (const char* folder : {"json/test_parsing", "json/test_transform"}) {
    for (const auto& entry : fs::directory_iterator(relay::test::vectors_dir() / folder)) {
      if (entry.path().extension() != ".json") continue;
      const auto text = read(entry.path());
      check(text);
      if (auto value = protocol::parse_strict(text); value) {
        try {
          CHECK(check(protocol::canonical_dump(*value.value)));
        } catch (const std::invalid_argument&) {
          // A float: canonical JSON cannot hold it.
        }
      }
      ++files;
    }
  }
  CHECK(files > 300);
}

TEST_CASE("canonical scan: every byte of a canonical document changed, and cut short") {
  const json doc = {
      {"data", {{"member", "m_1"}, {"n", -9223372036854775807 - 1}, {"u", 18446744073709551615u}}},
      {"empty", {{"a", json::array()}, {"o", json::object()}, {"s", ""}}},
      {"escapes", std::string("\"\\\b\f\n\r\t\x01\x1f\x7f/\0end", 16)},
      {"list", {0, 1, -1, true, false, nullptr, 10, {{"z", {{"zz", 1}}}}}},
      {"text", "\xc3\xa9\xe6\xbc\xa2\xf0\x9f\x98\x80"},
  };
  const auto canonical = protocol::canonical_dump(doc);
  REQUIRE(check(canonical));
  const std::string replacements = "\"\\{}[]:,-0123456789.eEtfnu \x01\x7f\xc3\xff/abAB";
  for (std::size_t i = 0; i < canonical.size(); ++i) {
    for (char c : replacements) {
      if (canonical[i] == c) continue;
      auto changed = canonical;
      changed[i] = c;
      check(changed);
    }
    auto removed = canonical;
    removed.erase(i, 1);
    check(removed);
    check(canonical.substr(0, i));
  }
}

TEST_CASE("canonical scan: hand-picked edges") {
  for (const char* text : {"0",
                           "-0",
                           "00",
                           "01",
                           "-",
                           "1.0",
                           "1e2",
                           "18446744073709551615",
                           "18446744073709551616",
                           "-9223372036854775808",
                           "-9223372036854775809",
                           "\"\\u001f\"",
                           "\"\\u001F\"",
                           "\"\\u000a\"",
                           "\"\\u0020\"",
                           "\"\\u0000\"",
                           "\"\\/\"",
                           "\"a\"x",
                           "{\"a\":1,\"a\":2}",
                           "{\"b\":1,\"a\":2}",
                           "{\"a\":1,}",
                           "[1,]",
                           "[,]",
                           "{}",
                           "[]",
                           "[[[[]]]]",
                           " {}",
                           "{} ",
                           "{\"\":1}",
                           "{\"a\":{\"\":[]}}",
                           "\xef\xbb\xbf{}",
                           "\"\xed\xa0\x80\"",
                           "tru",
                           "nul",
                           "truex",
                           "[true,false,null]"})
    check(text);
}

TEST_CASE("parse_json: nlohmann's parser's value and types, or its exception, for every text") {
  // A record as the stores write it (canonical: the scan) and the same with a space (the parser).
  const std::string record = R"({"consent":{"at_ms":1,"region":true},"id":"c_1","n":-2,"s":[]})";
  CHECK(same(protocol::parse_json(record), json::parse(record)));
  CHECK(same(protocol::parse_json(record + " "), json::parse(record)));
  CHECK_THROWS_AS(protocol::parse_json(R"({"id":)"), json::parse_error);
  std::size_t files = 0;
  for (const char* folder : {"json/test_parsing", "json/test_transform"}) {
    for (const auto& entry : fs::directory_iterator(relay::test::vectors_dir() / folder)) {
      if (entry.path().extension() != ".json") continue;
      const auto text = read(entry.path());
      INFO("file: " << entry.path().filename().string());
      std::optional<json> reference;
      try {
        reference = json::parse(text);
      } catch (const json::exception&) {  // parse_error, or out_of_range for a huge number
      }
      if (reference) {
        CHECK(same(protocol::parse_json(text), *reference));
        try {
          const auto canonical = protocol::canonical_dump(*reference);
          CHECK(same(protocol::parse_json(canonical), json::parse(canonical)));
        } catch (const std::invalid_argument&) {
          // A float: canonical JSON cannot hold it.
        }
      } else {
        CHECK_THROWS_AS(protocol::parse_json(text), json::exception);
      }
      ++files;
    }
  }
  CHECK(files > 300);
}
