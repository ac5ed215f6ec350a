// node/candidates/registration_form: parsing and validating the form behind a relay link.
#include "node/candidates/registration_form.hpp"

#include <doctest/doctest.h>

#include <map>
#include <stdexcept>
#include <string>

#include "node/domain_fixture.hpp"
#include "protocol/canonical_json.hpp"

using namespace relay::node::candidates;

namespace {

const relay::config::Reference& reference() {
  static const auto ref = relay::test::load_test_reference();
  return ref;
}

std::map<std::string, std::string> valid_form() {
  return {{"name", " 山田 太郎 "},
          {"email", " Taro.Yamada@Example.JP "},
          {"phone", "+81 (78) 555-0100"},
          {"job_category", "B"},
          {"skills", "ＰＹＴＨＯＮ, C++、 Project   Management，python"},
          {"prefecture", "JP-28"},
          {"age_band", "25-34"},
          {"experience_band", "3-5"},
          {"desired_roles", "backend engineer、SRE"},
          {"consent_region", "yes"},
          {"consent_stats", "yes"}};
}

FormResult parse(const std::map<std::string, std::string>& form) {
  return parse_registration(form, reference(), "2026-11-01", 1'800'000'000'000);
}

// Parses valid_form() with one field replaced (or removed, for nullopt) and returns the
// names of the fields in error.
std::vector<std::string> errors_with(const std::string& field, std::optional<std::string> value) {
  auto form = valid_form();
  if (value)
    form[field] = *value;
  else
    form.erase(field);
  auto result = parse(form);
  CHECK(result.registration.has_value() == result.errors.empty());
  std::vector<std::string> names;
  for (const auto& [name, message] : result.errors) {
    CHECK_FALSE(message.ja.empty());
    CHECK_FALSE(message.en.empty());
    names.push_back(name);
  }
  return names;
}

using Fields = std::vector<std::string>;

}  // namespace

TEST_SUITE_BEGIN("registration form");

TEST_CASE("registration form: a valid form parses into a normalised registration") {
  auto result = parse(valid_form());
  REQUIRE(result.errors.empty());
  REQUIRE(result.registration);
  const auto& r = *result.registration;
  CHECK(r.personal.name == "山田 太郎");
  CHECK(r.personal.email == "Taro.Yamada@Example.JP");  // as typed, trimmed
  CHECK(r.personal.phone == "+81 (78) 555-0100");
  CHECK(r.profile.job_category == "B");
  // NFKC case-folded, whitespace collapsed, duplicates dropped, every separator honoured.
  CHECK(r.profile.skills == std::vector<std::string>{"python", "c++", "project management"});
  CHECK(r.profile.prefecture == "JP-28");
  CHECK(r.profile.age_band == "25-34");
  CHECK(r.profile.experience_band == "3-5");
  CHECK(r.profile.desired_roles == std::vector<std::string>{"backend engineer", "SRE"});
  CHECK(r.consent.region);
  CHECK_FALSE(r.consent.peers);
  CHECK(r.consent.stats);
  CHECK(r.consent.version == "2026-11-01");
  CHECK(r.consent.at_ms == 1'800'000'000'000);
}

TEST_CASE("registration form: optional fields may be left out") {
  auto form = valid_form();
  form.erase("phone");
  form.erase("desired_roles");
  form.erase("consent_stats");
  auto result = parse(form);
  REQUIRE(result.registration);
  CHECK(result.registration->personal.phone.empty());
  CHECK(result.registration->profile.desired_roles.empty());
  CHECK_FALSE(result.registration->consent.stats);
  form["phone"] = "";
  CHECK(parse(form).registration);
}

TEST_CASE("registration form: each field's errors name that field only") {
  CHECK(errors_with("name", std::nullopt) == Fields{"name"});
  CHECK(errors_with("name", "   ") == Fields{"name"});
  CHECK(errors_with("name", std::string(101, 'a')) == Fields{"name"});
  CHECK(errors_with("name", std::string(100, 'a')).empty());
  CHECK(errors_with("name", "Ta\x01ro") == Fields{"name"});
  CHECK(errors_with("name", "\xff\xfe") == Fields{"name"});

  CHECK(errors_with("email", std::nullopt) == Fields{"email"});
  for (const char* bad :
       {"", "taro", "taro@", "@example.jp", "taro@example", "taro@@example.jp", "ta ro@example.jp",
        "taro@.example.jp", "taro@example.jp.", "taro@example..jp", "<taro@example.jp>",
        "たろう@example.jp", "taro@example.jp\r\nBcc: x@evil.example"})
    CHECK_MESSAGE(errors_with("email", bad) == Fields{"email"}, bad);

  for (const char* bad :
       {"12345", "call me", "078-555-0100 ext. 5", "012345678901234567890", "078\n5550100"})
    CHECK_MESSAGE(errors_with("phone", bad) == Fields{"phone"}, bad);

  CHECK(errors_with("job_category", std::nullopt) == Fields{"job_category"});
  CHECK(errors_with("job_category", "Z") == Fields{"job_category"});
  CHECK(errors_with("job_category", "b") == Fields{"job_category"});
  CHECK(errors_with("job_category", "K").empty());

  CHECK(errors_with("skills", std::nullopt) == Fields{"skills"});
  CHECK(errors_with("skills", " , 、 ") == Fields{"skills"});
  std::string many;
  for (int i = 0; i < 21; ++i) many += "skill" + std::to_string(i) + ",";
  CHECK(errors_with("skills", many) == Fields{"skills"});
  CHECK(errors_with("skills", std::string(65, 's')) == Fields{"skills"});
  CHECK(errors_with("skills", std::string(64, 's')).empty());

  CHECK(errors_with("prefecture", std::nullopt) == Fields{"prefecture"});
  CHECK(errors_with("prefecture", "JP-48") == Fields{"prefecture"});
  CHECK(errors_with("prefecture", "JP-00") == Fields{"prefecture"});
  CHECK(errors_with("prefecture", "JP-47").empty());
  CHECK(errors_with("prefecture", "JP-01").empty());

  CHECK(errors_with("age_band", std::nullopt) == Fields{"age_band"});
  CHECK(errors_with("age_band", "33") == Fields{"age_band"});
  CHECK(errors_with("experience_band", std::nullopt) == Fields{"experience_band"});
  CHECK(errors_with("experience_band", "4") == Fields{"experience_band"});

  std::string roles;
  for (int i = 0; i < 11; ++i) roles += "role" + std::to_string(i) + ",";
  CHECK(errors_with("desired_roles", roles) == Fields{"desired_roles"});
  CHECK(errors_with("desired_roles", std::string(65, 'r')) == Fields{"desired_roles"});

  CHECK(errors_with("consent_region", std::nullopt) == Fields{"consent_region"});
  CHECK(errors_with("consent_region", "no") == Fields{"consent_region"});
  CHECK(errors_with("consent_region", "on") == Fields{"consent_region"});
}

TEST_CASE("registration form: every error is reported at once") {
  std::map<std::string, std::string> empty;
  auto result = parse(empty);
  CHECK_FALSE(result.registration);
  for (const char* field : {"name", "email", "job_category", "skills", "prefecture", "age_band",
                            "experience_band", "consent_region"})
    CHECK_MESSAGE(result.errors.count(field) == 1, field);
  CHECK(result.errors.size() == 8);
}

TEST_CASE("registration form: normalise_email") {
  CHECK(normalise_email(" Taro.Yamada@Example.JP ") == "taro.yamada@example.jp");
  CHECK(normalise_email("a+tag@sub.example.co.jp") == "a+tag@sub.example.co.jp");
  CHECK(normalise_email("TARO@EXAMPLE.JP") == normalise_email("taro@example.jp"));
  for (const char* bad : {"", " ", "a", "a@b", "a@b.", "@b.jp", "a@@b.jp", "a@b@c.jp", "a@.b.jp",
                          "a@b..jp", "a b@c.jp", "a,b@c.jp", "(a)@c.jp", "a\"@c.jp", "a\\@c.jp",
                          "あ@b.jp", "a@b.jp\x01", "<a@b.jp>"})
    CHECK_MESSAGE(!normalise_email(bad).has_value(), bad);
}

TEST_SUITE_END();

TEST_CASE("registration form: the sealed text is compact_dump's bytes of the data's tree") {
  // The record seals {"personal", "profile"} written as text: byte for byte what dumping the
  // tree of to_json() wrote, for escapes, non-ASCII text, empty fields and empty lists.
  PersonalData personal{"山田 \"太郎\" \\ テスト", "taro+x@example.jp", ""};
  Profile profiles[] = {
      {"it", {"c++", "sql", "日本語"}, "JP-28", "30s", "10y+", {"backend", "db \"admin\""}},
      {"", {}, "", "", "", {}},
      {"care", {"\x01\x1f"}, "JP-13", "20s", "0-1y", {"夜勤"}},
  };
  for (const auto& profile : profiles) {
    nlohmann::json tree = {{"personal", personal.to_json()}, {"profile", profile.to_json()}};
    CHECK(sealed_data_text(personal, profile) == relay::protocol::compact_dump(tree));
    CHECK(Profile::from_json(nlohmann::json::parse(sealed_data_text(personal, profile))["profile"])
              .skills == profile.skills);
  }
  PersonalData bad{"bad\xff", "a@b.jp", ""};
  CHECK_THROWS_AS(sealed_data_text(bad, profiles[0]), std::invalid_argument);
}
