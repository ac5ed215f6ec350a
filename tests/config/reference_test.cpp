#include "config/reference.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "config/node_config.hpp"
#include "support/temp_dir.hpp"
#include "support/vectors.hpp"

namespace fs = std::filesystem;
using relay::config::ConfigError;
using relay::config::default_reference_dir;
using relay::config::load_reference;
using relay::config::normalise_skill;
using relay::config::Reference;

using relay::test::temp_dir_until_exit;

namespace {

const Reference& shipped() {
  static const Reference ref = [] {
    auto r = load_reference(default_reference_dir());
    REQUIRE_MESSAGE(r.ok(), r.error_text());
    return std::move(r).value();
  }();
  return ref;
}

std::vector<std::string> codes(const std::vector<relay::config::CodedLabel>& list) {
  std::vector<std::string> out;
  for (const auto& l : list) out.push_back(l.code);
  return out;
}

// A copy of the shipped reference folder that a test may break.
fs::path copy_reference() {
  fs::path dir = temp_dir_until_exit("reference");
  for (const auto& entry : fs::directory_iterator(default_reference_dir())) {
    fs::copy_file(entry.path(), dir / entry.path().filename());
  }
  return dir;
}

void write(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

bool has_error(const std::vector<ConfigError>& errors, const fs::path& file,
               const std::string& field, const std::string& fragment) {
  return std::any_of(errors.begin(), errors.end(), [&](const ConfigError& e) {
    return e.source == "reference" && e.file == file && e.field == field &&
           e.message.find(fragment) != std::string::npos;
  });
}

}  // namespace

TEST_CASE("the shipped job categories are the 11 MHLW major groups") {
  const auto& ref = shipped();
  CHECK(codes(ref.job_categories) ==
        std::vector<std::string>{"A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K"});
  CHECK(ref.find_job_category("A")->ja == "管理的職業");
  CHECK(ref.find_job_category("B")->ja == "専門的・技術的職業");
  CHECK(ref.find_job_category("I")->ja == "輸送・機械運転の職業");
  CHECK(ref.find_job_category("K")->ja == "運搬・清掃・包装等の職業");
  CHECK(ref.find_job_category("K")->en == "Carrying, cleaning, packaging, and related occupations");
  for (const auto& c : ref.job_categories) {
    CHECK_FALSE(c.ja.empty());
    CHECK_FALSE(c.en.empty());
  }
  CHECK(ref.find_job_category("L") == nullptr);
  CHECK(ref.find_job_category("a") == nullptr);
}

TEST_CASE("the shipped prefectures are JP-01 to JP-47") {
  const auto& ref = shipped();
  REQUIRE(ref.prefectures.size() == 47);
  for (std::size_t i = 0; i < 47; ++i) {
    char code[8];
    std::snprintf(code, sizeof code, "JP-%02zu", i + 1);
    CHECK(ref.prefectures[i].code == code);
  }
  struct Expected {
    const char* code;
    const char* ja;
    const char* en;
  };
  for (auto [code, ja, en] :
       {Expected{"JP-01", "北海道", "Hokkaido"}, Expected{"JP-13", "東京都", "Tokyo"},
        Expected{"JP-14", "神奈川県", "Kanagawa"}, Expected{"JP-26", "京都府", "Kyoto"},
        Expected{"JP-27", "大阪府", "Osaka"}, Expected{"JP-28", "兵庫県", "Hyogo"},
        Expected{"JP-30", "和歌山県", "Wakayama"}, Expected{"JP-46", "鹿児島県", "Kagoshima"},
        Expected{"JP-47", "沖縄県", "Okinawa"}}) {
    CAPTURE(code);
    const auto* p = ref.find_prefecture(code);
    REQUIRE(p != nullptr);
    CHECK(p->ja == ja);
    CHECK(p->en == en);
  }
  // Every prefecture but Hokkaido and the 都/府 ends in 県.
  const std::set<std::string> not_ken{"JP-01", "JP-13", "JP-26", "JP-27"};
  for (const auto& p : ref.prefectures) {
    if (not_ken.contains(p.code)) continue;
    CAPTURE(p.code);
    CHECK(p.ja.ends_with("県"));
  }
  CHECK(ref.find_prefecture("JP-48") == nullptr);
  CHECK(ref.find_prefecture("JP-00") == nullptr);
  CHECK(ref.find_prefecture("") == nullptr);
}

TEST_CASE("the shipped age and experience bands, and seed skills") {
  const auto& ref = shipped();
  CHECK(codes(ref.age_bands) ==
        std::vector<std::string>{"-24", "25-34", "35-44", "45-54", "55-64", "65-"});
  CHECK(codes(ref.experience_bands) ==
        std::vector<std::string>{"0", "1-2", "3-5", "6-10", "11-20", "21-"});
  CHECK(ref.find_age_band("25-34")->ja == "25〜34歳");
  CHECK(ref.find_age_band("30") == nullptr);
  CHECK(ref.find_experience_band("21-")->en == "21 years or more");
  CHECK(ref.find_experience_band("4") == nullptr);

  CHECK(ref.skills.size() >= 25);
  CHECK(ref.skills.size() <= 40);
  const std::set<std::string> unique(ref.skills.begin(), ref.skills.end());
  CHECK(unique.size() == ref.skills.size());
  for (const auto& s : ref.skills) {
    CAPTURE(s);
    CHECK(normalise_skill(s) == s);
  }
  CHECK(unique.contains("python"));
  CHECK(unique.contains("project management"));
  CHECK(ref.dir == default_reference_dir());
}

TEST_CASE("errors in reference files name the file and the entry") {
  const fs::path dir = copy_reference();
  write(dir / "prefectures.json", R"({
    "entries": [
      {"code": "JP-01", "ja": "北海道", "en": "Hokkaido"},
      {"code": "JP-01", "ja": "北海道", "en": "Hokkaido"},
      {"code": "Tokyo", "ja": "東京都", "en": "Tokyo"},
      {"code": "JP-27", "ja": "", "en": "Osaka", "romaji": "oosaka"},
      {"code": "JP-28", "en": "Hyogo"},
      "JP-29"
    ],
    "sauce": "typo"
  })");
  write(dir / "skills.json", R"({"entries": ["python", "Python", "python", "", 3]})");
  write(dir / "age_bands.json", R"({"entries": []})");
  write(dir / "experience_bands.json",
        R"({"entries": [{"code": "0", "ja": "x", "en": "y", "code": "1"}]})");
  fs::remove(dir / "job_categories.json");

  auto r = load_reference(dir);
  REQUIRE_FALSE(r.ok());
  const auto& e = r.errors();
  const auto pref = dir / "prefectures.json";
  CHECK(has_error(e, pref, "entries[1].code", "duplicate code \"JP-01\" (first in entries[0])"));
  CHECK(has_error(e, pref, "entries[2].code", "got \"Tokyo\""));
  CHECK(has_error(e, pref, "entries[3].ja", "expected a non-empty label, got \"\""));
  CHECK(has_error(e, pref, "entries[3].romaji", "unknown key"));
  CHECK(has_error(e, pref, "entries[4].ja", "required field is missing"));
  CHECK(has_error(e, pref, "entries[5]", "expected an object, got \"JP-29\""));
  CHECK(has_error(e, pref, "sauce", "did you mean \"source\"?"));
  const auto skills = dir / "skills.json";
  CHECK(has_error(e, skills, "entries[1]", "expected the normalised form \"python\""));
  CHECK(has_error(e, skills, "entries[2]", "duplicate skill"));
  CHECK(has_error(e, skills, "entries[3]", "expected a skill tag"));
  CHECK(has_error(e, skills, "entries[4]", "got 3"));
  CHECK(has_error(e, dir / "age_bands.json", "entries", "expected a non-empty array"));
  CHECK(has_error(e, dir / "experience_bands.json", "entries[0].code", "duplicate key"));
  CHECK(has_error(e, dir / "job_categories.json", "", "cannot read the file"));
  CHECK(e.size() == 14);
  for (const auto& err : e) {
    CAPTURE(err.text());
    CHECK(err.text().starts_with("reference " + err.file.string() + ": "));
  }
}

TEST_CASE("a missing reference directory names every file") {
  auto r = load_reference("/nonexistent/relay/reference");
  REQUIRE_FALSE(r.ok());
  CHECK(r.errors().size() == 5);
}

TEST_CASE("an operator's edited copy loads") {
  const fs::path dir = copy_reference();
  write(dir / "skills.json", R"(// our own list
    {"source": "Kobe office", "entries": ["介護", "forklift operation", "c++"]})");
  auto r = load_reference(dir);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  CHECK(r.value().skills == std::vector<std::string>{"介護", "forklift operation", "c++"});
}

TEST_CASE("normalise_skill: NFKC case folding") {
  CHECK(normalise_skill("ＰＹＴＨＯＮ") == "python");
  CHECK(normalise_skill("Python") == "python");
  CHECK(normalise_skill("python") == "python");
  CHECK(normalise_skill("Ｃ＋＋") == "c++");
  CHECK(normalise_skill("C#") == "c#");
  CHECK(normalise_skill("Straße") == "strasse");
  CHECK(normalise_skill("ｶｲｺﾞ") == "カイゴ");  // half-width katakana
  CHECK(normalise_skill("介護") == "介護");
  CHECK(normalise_skill("py\u200Bthon") == "python");  // zero-width space is ignorable
  CHECK(normalise_skill("①") == "1");
}

TEST_CASE("normalise_skill: whitespace") {
  CHECK(normalise_skill("  Project   Management ") == "project management");
  CHECK(normalise_skill("data\t\nanalysis") == "data analysis");
  CHECK(normalise_skill("介護\u3000福祉") == "介護 福祉");  // ideographic space
  CHECK(normalise_skill("\u00A0excel\u00A0") == "excel");   // no-break space
  CHECK(normalise_skill("") == std::nullopt);
  CHECK(normalise_skill("   \t ") == std::nullopt);
  CHECK(normalise_skill("\u3000") == std::nullopt);
  CHECK(normalise_skill("\u200B") == std::nullopt);  // folds to nothing
}

TEST_CASE("normalise_skill: invalid input") {
  using namespace std::string_literals;
  CHECK(normalise_skill("\xff") == std::nullopt);
  CHECK(normalise_skill("abc\xc3") == std::nullopt);           // truncated sequence
  CHECK(normalise_skill("\xc0\xaf") == std::nullopt);          // overlong "/"
  CHECK(normalise_skill("\xed\xa0\x80") == std::nullopt);      // UTF-16 surrogate
  CHECK(normalise_skill("\xf4\x90\x80\x80") == std::nullopt);  // beyond U+10FFFF
  CHECK(normalise_skill("a\x01"s + "b") == std::nullopt);      // control character
  CHECK(normalise_skill("a\0b"s) == std::nullopt);             // NUL
}

TEST_CASE("normalise_skill: length is counted in characters after normalising") {
  CHECK(normalise_skill(std::string(64, 'a')) == std::string(64, 'a'));
  CHECK(normalise_skill(std::string(65, 'a')) == std::nullopt);
  std::string wide;
  for (int i = 0; i < 64; ++i) wide += "ａ";  // 3 bytes each, 1 character
  CHECK(normalise_skill(wide) == std::string(64, 'a'));
  std::string kanji;
  for (int i = 0; i < 64; ++i) kanji += "技";
  CHECK(normalise_skill(kanji) == kanji);
  CHECK(normalise_skill(kanji + "術") == std::nullopt);
  // Collapsing brings a long input under the limit.
  CHECK(normalise_skill("  " + std::string(60, 'b') + "          ") == std::string(60, 'b'));
  CHECK(normalise_skill(std::string(5000, ' ') + "x") == std::nullopt);  // input too long
}
