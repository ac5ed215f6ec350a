// node/referrals/address_identity: who an address stands for (issue 17, aliases and
// disposable domains), as a table.
#include "node/referrals/address_identity.hpp"

#include <doctest/doctest.h>

#include <string>

#include "node/candidates/registration_form.hpp"

using relay::node::referrals::identify_address;

namespace {
std::string canonical(const std::string& typed) {
  auto normalised = relay::node::candidates::normalise_email(typed);
  REQUIRE(normalised.has_value());
  return identify_address(*normalised).canonical;
}
}  // namespace

TEST_SUITE_BEGIN("referrals");

TEST_CASE("address identity: aliases and provider dot rules, as a table") {
  struct Row {
    const char* typed;
    const char* canonical;
  };
  const Row rows[] = {
      {"taro@example.jp", "taro@example.jp"},
      {"Taro@Example.JP", "taro@example.jp"},    // case-folded
      {"taro+1@example.jp", "taro@example.jp"},  // +tag removed, any domain
      {"taro+rejection+2@example.jp", "taro@example.jp"},
      {"t.a.r.o@example.jp", "t.a.r.o@example.jp"},     // dots matter outside Google
      {"t.a.r.o@gmail.com", "taro@gmail.com"},          // Gmail ignores dots
      {"T.Aro+jobs@GoogleMail.com", "taro@gmail.com"},  // googlemail.com is gmail.com
      {"taro.yamada@outlook.com", "taro.yamada@outlook.com"},
      {"+tag@example.jp", "+tag@example.jp"},  // a local part that is only a tag stays
      {"hanako+x@sub.example.co.jp", "hanako@sub.example.co.jp"},
  };
  for (const auto& row : rows) CHECK_MESSAGE(canonical(row.typed) == row.canonical, row.typed);
}

TEST_CASE("address identity: disposable domains, public providers and local-part stems") {
  auto id = identify_address("someone@mailinator.com");
  CHECK(id.disposable);
  CHECK(identify_address("x@inbox.mailinator.com").disposable);  // a subdomain of a listed one
  CHECK(identify_address("x@yopmail.com").disposable);
  CHECK_FALSE(identify_address("x@example.jp").disposable);
  CHECK_FALSE(identify_address("x@notmailinator.com").disposable);
  CHECK_FALSE(identify_address("x@com").disposable);
  CHECK(identify_address("x@gmail.com").public_provider);
  CHECK(identify_address("x@docomo.ne.jp").public_provider);
  CHECK_FALSE(identify_address("x@example.jp").public_provider);
  CHECK(identify_address("taro1@example.jp").stem == "taro");
  CHECK(identify_address("taro.2@example.jp").stem == "taro");
  CHECK(identify_address("taro_03@example.jp").stem == "taro");
  CHECK(identify_address("taro.yamada@example.jp").stem == "taroyamada");
  CHECK(identify_address("1234@example.jp").stem.empty());
}

TEST_SUITE_END();
