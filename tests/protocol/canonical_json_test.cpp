// Canonical JSON against JSONTestSuite (tests/vectors/json) and hand-written edge cases.
#include "protocol/canonical_json.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/vectors.hpp"

namespace {

using relay::protocol::canonical_dump;
using relay::protocol::JsonErrorCode;
using relay::protocol::parse_canonical;
using relay::protocol::parse_strict;
namespace fs = std::filesystem;

std::vector<fs::path> files_in(const std::string& relative) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(relay::test::vectors_dir() / relative)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Canonical form is a fixed point: dump, parse, dump again gives the same bytes.
void check_idempotent(const nlohmann::json& value, const std::string& label) {
  const std::string once = canonical_dump(value);
  const auto reparsed = parse_strict(once);
  INFO(label);
  REQUIRE(reparsed);
  CHECK(canonical_dump(*reparsed.value) == once);
  CHECK(*reparsed.value == value);
  CHECK(parse_canonical(once));
}

// True if the text holds a number token with a fraction or exponent, or an integer literal of
// 20+ digits (beyond uint64) or a 19-digit one beyond int64 when negative: a crude lexical
// check used only to confirm why integers-only mode refused a y_ file.
bool has_non_integer_or_huge_number(const std::string& text) {
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '.' || c == 'e' || c == 'E') {
      // Outside strings, e/E only occur in numbers or in true/false/null (which have 'e').
      if (c != 'e' || (i > 0 && std::isdigit(static_cast<unsigned char>(text[i - 1])))) {
        return true;
      }
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      std::size_t j = i;
      while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
      if (j - i >= 20) return true;
      i = j - 1;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("JSONTestSuite test_parsing: y_ parse, n_ refused, i_ never crash") {
  // Integers-only rule: canonical JSON has no floats. y_ files whose only "fault" is a number
  // with a fraction or exponent, or an integer beyond 64 bits, are valid JSON that we refuse
  // on purpose; they are listed here and each must be refused for exactly that reason.
  const std::set<std::string> refused_by_integers_only = {
      "y_number.json",
      "y_number_0e+1.json",
      "y_number_0e1.json",
      "y_number_double_close_to_zero.json",
      "y_number_int_with_exp.json",
      "y_number_real_capital_e.json",
      "y_number_real_capital_e_neg_exp.json",
      "y_number_real_capital_e_pos_exp.json",
      "y_number_real_exponent.json",
      "y_number_real_fraction_exponent.json",
      "y_number_real_neg_exp.json",
      "y_number_real_pos_exponent.json",
      "y_number_simple_real.json",
      "y_object_extreme_numbers.json",
      "y_structure_lonely_negative_real.json",
  };
  // No-duplicate-keys rule: valid JSON, refused on purpose.
  const std::set<std::string> refused_as_duplicate = {
      "y_object_duplicated_key.json",
      "y_object_duplicated_key_and_value.json",
  };
  std::size_t seen = 0, y_duplicate_refused = 0, y_parsed = 0, y_integer_refused = 0, n_refused = 0,
              i_accepted = 0, i_refused = 0;
  for (const auto& path : files_in("json/test_parsing")) {
    const std::string name = path.filename().string();
    const std::string text = relay::test::read_file(path);
    ++seen;
    INFO(name);
    relay::protocol::JsonParseResult result;
    CHECK_NOTHROW(result = parse_strict(text));
    if (name.starts_with("y_")) {
      if (refused_as_duplicate.count(name)) {
        REQUIRE_FALSE(result);
        CHECK(result.error.code == JsonErrorCode::duplicate_key);
        ++y_duplicate_refused;
      } else if (refused_by_integers_only.count(name)) {
        REQUIRE_FALSE(result);
        CHECK((result.error.code == JsonErrorCode::number_not_integer ||
               result.error.code == JsonErrorCode::number_out_of_range));
        CHECK(has_non_integer_or_huge_number(text));
        ++y_integer_refused;
      } else {
        CHECK_MESSAGE(result, result.error.message);
        if (result) {
          check_idempotent(*result.value, name);
          ++y_parsed;
        }
      }
    } else if (name.starts_with("n_")) {
      CHECK_FALSE(result);
      if (!result) {
        CHECK_FALSE(result.error.message.empty());
        CHECK(result.error.offset <= text.size());
        ++n_refused;
      }
    } else if (name.starts_with("i_")) {
      // The suite allows either outcome. Our dialect happens to refuse every i_ file (they are
      // all lone surrogates, bad UTF-8, non-integer or huge numbers, a BOM, or 500 levels of
      // nesting); an accepted value would still have to be canonical-stable.
      CHECK_FALSE(result);
      if (result) {
        check_idempotent(*result.value, name);
        ++i_accepted;
      } else {
        ++i_refused;
      }
    } else {
      FAIL("unexpected file " << name);
    }
  }
  MESSAGE("test_parsing: " << seen << " files; y parsed " << y_parsed << ", y refused as "
                           << "non-integer " << y_integer_refused << ", y refused as duplicate "
                           << y_duplicate_refused << ", n refused " << n_refused << ", i accepted "
                           << i_accepted << ", i refused " << i_refused);
  CHECK(seen > 0);
  CHECK(y_integer_refused == refused_by_integers_only.size());
  CHECK(y_duplicate_refused == refused_as_duplicate.size());
}

TEST_CASE("i_ files we decided on: surrogates, huge numbers, BOM, depth") {
  // Lone surrogate escapes and invalid UTF-8 are refused; so are all non-integers.
  const std::vector<std::pair<std::string, JsonErrorCode>> decided = {
      {"i_string_1st_surrogate_but_2nd_missing.json", JsonErrorCode::invalid_utf8},
      {"i_string_incomplete_surrogate_and_escape_valid.json", JsonErrorCode::invalid_utf8},
      {"i_string_invalid_lonely_surrogate.json", JsonErrorCode::invalid_utf8},
      {"i_string_inverted_surrogates_U+1D11E.json", JsonErrorCode::invalid_utf8},
      {"i_string_UTF-16LE_with_BOM.json", JsonErrorCode::invalid_utf8},
      {"i_string_not_in_unicode_range.json", JsonErrorCode::invalid_utf8},
      {"i_structure_UTF-8_BOM_empty_object.json", JsonErrorCode::byte_order_mark},
      {"i_number_huge_exp.json", JsonErrorCode::number_not_integer},
      {"i_number_real_underflow.json", JsonErrorCode::number_not_integer},
      {"i_number_too_big_pos_int.json", JsonErrorCode::number_out_of_range},
      {"i_number_too_big_neg_int.json", JsonErrorCode::number_out_of_range},
      {"i_number_very_big_negative_int.json", JsonErrorCode::number_out_of_range},
      {"i_structure_500_nested_arrays.json", JsonErrorCode::too_deep},
  };
  const auto dir = relay::test::vectors_dir() / "json/test_parsing";
  for (const auto& [name, code] : decided) {
    INFO(name);
    REQUIRE(fs::exists(dir / name));
    const auto result = parse_strict(relay::test::read_file(dir / name));
    REQUIRE_FALSE(result);
    CHECK(to_string(result.error.code) == to_string(code));
  }
}

TEST_CASE("JSONTestSuite test_transform: refuse, never guess") {
  struct Expectation {
    bool accepted;
    JsonErrorCode code;     // when refused
    std::string canonical;  // when accepted
  };
  const std::map<std::string, Expectation> expected = {
      {"number_-9223372036854775808.json", {true, {}, "[-9223372036854775808]"}},
      {"number_-9223372036854775809.json", {false, JsonErrorCode::number_out_of_range, ""}},
      {"number_1.0.json", {false, JsonErrorCode::number_not_integer, ""}},
      {"number_1.000000000000000005.json", {false, JsonErrorCode::number_not_integer, ""}},
      {"number_1000000000000000.json", {true, {}, "[1000000000000000]"}},
      {"number_10000000000000000999.json", {true, {}, "[10000000000000000999]"}},  // < 2^64
      {"number_1e-999.json", {false, JsonErrorCode::number_not_integer, ""}},
      {"number_1e6.json", {false, JsonErrorCode::number_not_integer, ""}},
      {"number_9223372036854775807.json", {true, {}, "[9223372036854775807]"}},
      {"number_9223372036854775808.json", {true, {}, "[9223372036854775808]"}},
      // Keys are compared as bytes: NFC and NFD spellings are two keys, sorted by byte order.
      {"object_key_nfc_nfd.json", {true, {}, "{\"e\xCC\x81\":\"NFD\",\"\xC3\xA9\":\"NFC\"}"}},
      {"object_key_nfd_nfc.json", {true, {}, "{\"e\xCC\x81\":\"NFD\",\"\xC3\xA9\":\"NFC\"}"}},
      {"object_same_key_different_values.json", {false, JsonErrorCode::duplicate_key, ""}},
      {"object_same_key_same_value.json", {false, JsonErrorCode::duplicate_key, ""}},
      {"object_same_key_unclear_values.json", {false, JsonErrorCode::duplicate_key, ""}},
      {"string_1_escaped_invalid_codepoint.json", {false, JsonErrorCode::invalid_utf8, ""}},
      {"string_1_invalid_codepoint.json", {false, JsonErrorCode::invalid_utf8, ""}},
      {"string_2_escaped_invalid_codepoints.json", {false, JsonErrorCode::invalid_utf8, ""}},
      {"string_2_invalid_codepoints.json", {false, JsonErrorCode::invalid_utf8, ""}},
      {"string_3_escaped_invalid_codepoints.json", {false, JsonErrorCode::invalid_utf8, ""}},
      {"string_3_invalid_codepoints.json", {false, JsonErrorCode::invalid_utf8, ""}},
      {"string_with_escaped_NULL.json", {true, {}, "[\"A\\u0000B\"]"}},
  };
  std::size_t seen = 0;
  for (const auto& path : files_in("json/test_transform")) {
    const std::string name = path.filename().string();
    INFO(name);
    ++seen;
    const auto found = expected.find(name);
    REQUIRE_MESSAGE(found != expected.end(), "no expectation for " << name);
    const auto result = parse_strict(relay::test::read_file(path));
    if (found->second.accepted) {
      REQUIRE_MESSAGE(result, result.error.message);
      CHECK(canonical_dump(*result.value) == found->second.canonical);
      check_idempotent(*result.value, name);
    } else {
      REQUIRE_FALSE(result);
      CHECK(to_string(result.error.code) == to_string(found->second.code));
    }
  }
  CHECK(seen > 0);
  CHECK(seen == expected.size());
}

TEST_CASE("parse_strict refusals carry a code and a byte offset") {
  SUBCASE("duplicate keys at any depth") {
    auto r = parse_strict(R"({"a":{"b":1,"c":[{"x":1,"x":2}]}})");
    REQUIRE_FALSE(r);
    CHECK(r.error.code == JsonErrorCode::duplicate_key);
    CHECK(r.error.offset >= 23);  // detected after the second "x"
    CHECK(r.error.offset <= 28);
    CHECK(r.error.message.find("\"x\"") != std::string::npos);
    CHECK(r.error.message.find("byte offset") != std::string::npos);
    // The same key in sibling objects is fine.
    CHECK(parse_strict(R"([{"x":1},{"x":2}])"));
    // Keys differing only by escape spelling are the same key.
    CHECK(parse_strict(R"({"a":1,"\u0061":2})").error.code == JsonErrorCode::duplicate_key);
  }
  SUBCASE("depth limit") {
    std::string ok(64, '[');
    ok += std::string(64, ']');
    CHECK(parse_strict(ok));
    std::string deep(65, '[');
    deep += std::string(65, ']');
    auto r = parse_strict(deep);
    REQUIRE_FALSE(r);
    CHECK(r.error.code == JsonErrorCode::too_deep);
    CHECK(r.error.offset == 65);
    CHECK(parse_strict(R"({"a":{"b":1}})", 2));
    CHECK(parse_strict(R"({"a":{"b":{}}})", 2).error.code == JsonErrorCode::too_deep);
    CHECK(parse_strict("1", 0));
    CHECK_FALSE(parse_strict("[]", 0));
    // 100000 opening brackets: refused at the limit, no recursion.
    CHECK(parse_strict(std::string(100000, '[')).error.code == JsonErrorCode::too_deep);
  }
  SUBCASE("byte order mark") {
    auto r = parse_strict("\xEF\xBB\xBF{}");
    REQUIRE_FALSE(r);
    CHECK(r.error.code == JsonErrorCode::byte_order_mark);
    CHECK(r.error.offset == 0);
  }
  SUBCASE("invalid UTF-8 and lone surrogates") {
    auto r = parse_strict("[\"ab\xC3\"]");
    REQUIRE_FALSE(r);
    CHECK(r.error.code == JsonErrorCode::invalid_utf8);
    CHECK(r.error.offset == 4);
    CHECK(parse_strict("[\"\\udc00\"]").error.code == JsonErrorCode::invalid_utf8);
    CHECK(parse_strict("[\"\\ud800x\"]").error.code == JsonErrorCode::invalid_utf8);
    CHECK(parse_strict("[\"\xC0\xAF\"]").error.code == JsonErrorCode::invalid_utf8);  // overlong
    CHECK(parse_strict("[\"\xF4\x90\x80\x80\"]").error.code == JsonErrorCode::invalid_utf8);
    auto pair = parse_strict("[\"\\ud83d\\ude00\"]");
    REQUIRE(pair);
    CHECK(canonical_dump(*pair.value) == "[\"\xF0\x9F\x98\x80\"]");
  }
  SUBCASE("numbers: integers in 64 bits only") {
    CHECK(parse_strict("18446744073709551615"));
    CHECK(parse_strict("18446744073709551616").error.code == JsonErrorCode::number_out_of_range);
    CHECK(parse_strict("-9223372036854775809").error.code == JsonErrorCode::number_out_of_range);
    CHECK(parse_strict("1" + std::string(400, '0')).error.code ==
          JsonErrorCode::number_out_of_range);
    CHECK(parse_strict("1e400").error.code == JsonErrorCode::number_not_integer);
    CHECK(parse_strict("[0.5]").error.code == JsonErrorCode::number_not_integer);
    CHECK(parse_strict("[1E2]").error.code == JsonErrorCode::number_not_integer);
    CHECK(parse_strict("[1.0]").error.code == JsonErrorCode::number_not_integer);
    auto zero = parse_strict("-0");
    REQUIRE(zero);
    CHECK(canonical_dump(*zero.value) == "0");
  }
  SUBCASE("syntax, trailing garbage, empty input") {
    CHECK(parse_strict("").error.code == JsonErrorCode::syntax);
    CHECK(parse_strict("   ").error.code == JsonErrorCode::syntax);
    auto trailing = parse_strict("{} x");
    REQUIRE_FALSE(trailing);
    CHECK(trailing.error.code == JsonErrorCode::syntax);
    CHECK(trailing.error.offset >= 3);
    CHECK_FALSE(parse_strict("{}{}"));
    CHECK_FALSE(parse_strict("[1,]"));
    CHECK_FALSE(parse_strict("/* c */ 1"));
    CHECK_FALSE(parse_strict("[\"a\tb\"]"));  // raw control character in a string
    CHECK(parse_strict(" \t\r\n{}\n "));
    // nlohmann alone would stop at a NUL byte and ignore what follows.
    auto nul = parse_strict(std::string("{}\0junk", 7));
    REQUIRE_FALSE(nul);
    CHECK(nul.error.offset == 2);
    CHECK_FALSE(parse_strict(std::string("[\"a\0\"]", 6)));
    CHECK(std::string(to_string(JsonErrorCode::duplicate_key)) == "duplicate_key");
  }
}

TEST_CASE("canonical_dump rules") {
  using nlohmann::json;
  SUBCASE("keys sorted by UTF-8 bytes, no whitespace") {
    json v = {{"b", 1},
              {"a", {3, 2, 1}},
              {"\xEF\xBF\xBF", true},
              {"\xF0\x9F\x98\x80", nullptr},
              {"Z", json::object()},
              {"", "x"}};
    // Byte order puts U+FFFF (EF BF BF) before U+1F600 (F0 ...); UTF-16 order would not.
    CHECK(canonical_dump(v) ==
          "{\"\":\"x\",\"Z\":{},\"a\":[3,2,1],\"b\":1,\"\xEF\xBF\xBF\":true,\"\xF0\x9F\x98\x80\":"
          "null}");
  }
  SUBCASE("string escapes: only what JSON requires") {
    std::string all_controls;
    for (int c = 0; c < 0x20; ++c) all_controls += static_cast<char>(c);
    json v = std::string("\"\\/\x7F\xC3\xA9") + all_controls;
    CHECK(canonical_dump(v) ==
          "\"\\\"\\\\/\x7F\xC3\xA9"
          "\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r"
          "\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018"
          "\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\"");
    check_idempotent(v, "controls");
  }
  SUBCASE("integers, both signs and extremes") {
    json v = {std::int64_t{-9223372036854775807 - 1}, std::uint64_t{18446744073709551615ULL}, 0, -1,
              42u};
    CHECK(canonical_dump(v) == "[-9223372036854775808,18446744073709551615,0,-1,42]");
    check_idempotent(v, "integers");
  }
  SUBCASE("programmer errors throw std::invalid_argument") {
    CHECK_THROWS_AS(canonical_dump(json(1.5)), std::invalid_argument);
    CHECK_THROWS_AS(canonical_dump(json{{"a", {1, 2.0}}}), std::invalid_argument);
    CHECK_THROWS_AS(canonical_dump(json("\xFF")), std::invalid_argument);
    CHECK_THROWS_AS(canonical_dump(json{{"\xC3", 1}}), std::invalid_argument);
    CHECK_THROWS_AS(canonical_dump(json::binary({1, 2})), std::invalid_argument);
  }
  SUBCASE("parse_canonical refuses non-canonical spellings") {
    CHECK(parse_canonical(R"({"a":1,"b":[true,null]})"));
    for (const char* text : {R"({"b":1,"a":2})", R"({"a": 1})", R"(["\u0041"])", R"(["\/"])",
                             "[-0]", " 1", "1\n", R"(["\u001F"])"}) {
      INFO(text);
      auto r = parse_canonical(text);
      REQUIRE_FALSE(r);
      CHECK(r.error.code == JsonErrorCode::not_canonical);
    }
    CHECK(parse_canonical("[\"\\u001f\"]"));
  }
}

TEST_CASE("find_invalid_utf8") {
  using relay::protocol::find_invalid_utf8;
  CHECK_FALSE(find_invalid_utf8(""));
  CHECK_FALSE(find_invalid_utf8("plain \xE2\x80\x94 \xF0\x9F\x98\x80"));
  CHECK(find_invalid_utf8("ab\x80") == 2u);
  CHECK(find_invalid_utf8("\xED\xA0\x80") == 0u);      // surrogate
  CHECK(find_invalid_utf8("x\xE0\x80\x80") == 1u);     // overlong
  CHECK(find_invalid_utf8("\xF0\x9F\x98") == 0u);      // truncated
  CHECK(find_invalid_utf8("\xF5\x80\x80\x80") == 0u);  // beyond U+10FFFF
  CHECK(find_invalid_utf8("\xE2\x28\xA1") == 0u);      // bad continuation
  // ASCII is skipped eight bytes at a time: a bad byte, or a character split across or
  // cut at the end of such a run, is found at its exact offset wherever it falls.
  for (std::size_t at = 0; at < 40; ++at) {
    CAPTURE(at);
    const std::string ascii(at, 'a');
    CHECK(find_invalid_utf8(ascii + "\x80" + std::string(20, 'b')) == at);
    CHECK(find_invalid_utf8(ascii + "\xC3") == at);
    CHECK(find_invalid_utf8(ascii + "\xF0\x9F\x98" + std::string(9, 'c')) == at);
    CHECK_FALSE(find_invalid_utf8(ascii + "\xE6\x97\xA5" + std::string(at, 'd')));
  }
}
