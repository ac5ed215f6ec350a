// node/services and node/api/routes: the role check in one place (401/403 bodies as before),
// and use cases returning typed outcomes, on the local domain wired as the node wires it.
#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "crypto/key_file.hpp"
#include "node/api/errors.hpp"
#include "node/api/routes.hpp"
#include "node/domain_fixture.hpp"
#include "node/services/access.hpp"
#include "node/services/intake.hpp"
#include "node/services/membership.hpp"
#include "node/services/statistics_feed.hpp"
#include "node/statistics/tally.hpp"

using namespace relay::node;
using relay::test::Domain;

namespace {

http::Request request(std::string method, std::string target, std::string token = {}) {
  http::Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  REQUIRE(http::parse_target(r));
  if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
  return r;
}

nlohmann::json error_of(const http::Response& r) {
  return nlohmann::json::parse(r.body)["error"];
}

// A token file as relay-node init writes it (one line, mode 0600); returns its path.
std::filesystem::path token_file(const std::filesystem::path& dir, const std::string& name,
                                 const std::string& token) {
  relay::crypto::write_secret_file(dir / name, relay::crypto::as_bytes(token + "\n"));
  return dir / name;
}

struct Site {
  Domain d;
  services::Access access{d.env, d.members, d.keys,
                          token_file(d.dir.path, "admin_token", "operator-secret-token-0001"),
                          token_file(d.dir.path, "auditor_token", "auditor-secret-token-0001")};
  services::CredentialGuard guard{d.clock};
  // No rate limits here (services/rate_limit has its own tests).
  services::RequestLimits limits{d.clock, {}};
  console::Sessions sessions{d.clock, {}};
  services::Membership membership{d.env, d.writer, d.members, d.referrals, d.credits, d.reference};
  services::Intake intake{d.env, d.writer, d.intake};
};

}  // namespace

TEST_SUITE_BEGIN("services");

TEST_CASE("access: a rewritten token file takes effect at once; an unsafe one matches nothing") {
  Site s;
  using services::AccessError;
  using services::Role;
  CHECK(s.access.check(Role::operator_, "operator-secret-token-0001").ok());
  token_file(s.d.dir.path, "admin_token", "operator-secret-token-0002");  // a rotation
  CHECK(s.access.check(Role::operator_, "operator-secret-token-0001").error() ==
        AccessError::not_operator);
  CHECK(s.access.check(Role::operator_, "operator-secret-token-0002").ok());
  std::filesystem::permissions(s.d.dir.path / "admin_token", std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  CHECK(s.access.check(Role::operator_, "operator-secret-token-0002").error() ==
        AccessError::not_operator);  // fails closed until fixed
  std::filesystem::permissions(s.d.dir.path / "admin_token", std::filesystem::perms::others_read,
                               std::filesystem::perm_options::remove);
  CHECK(s.access.check(Role::operator_, "operator-secret-token-0002").ok());
}

TEST_CASE("access: each role's token, and why a caller is refused") {
  Site s;
  auto member = s.d.admit("Access KK");
  using services::AccessError;
  using services::Role;
  CHECK(s.access.check(Role::operator_, "operator-secret-token-0001").ok());
  CHECK(s.access.check(Role::operator_, std::nullopt).error() ==
        AccessError::operator_token_missing);
  CHECK(s.access.check(Role::operator_, "auditor-secret-token-0001").error() ==
        AccessError::not_operator);
  CHECK(s.access.check(Role::auditor, "auditor-secret-token-0001").ok());
  CHECK(
      s.access.check(Role::auditor, "operator-secret-token-0001").ok());  // the operator may audit
  CHECK(s.access.check(Role::auditor, member.api_key).error() == AccessError::not_auditor);
  CHECK(s.access.check(Role::auditor, std::nullopt).error() == AccessError::auditor_token_missing);
  auto caller = s.access.check(Role::member, member.api_key);
  REQUIRE(caller.ok());
  CHECK(caller->the_member().id == member.member.id);
  CHECK(s.access.check(Role::member, "rk_nope").error() == AccessError::unknown_member_key);
  CHECK(s.access.check(Role::member, std::nullopt).error() == AccessError::member_key_missing);
  CHECK(s.access.check(Role::member, "operator-secret-token-0001").error() ==
        AccessError::unknown_member_key);
  REQUIRE(s.membership.set_active(member.member.id, false).ok());
  CHECK(s.access.check(Role::member, member.api_key).error() == AccessError::member_suspended);
  // Public, capability and peer routes pass the role check (their token is checked later).
  CHECK(s.access.check(Role::everyone, std::nullopt).ok());
  CHECK(s.access.check(Role::candidate, std::nullopt).ok());
  CHECK(s.access.check(Role::peer, std::nullopt).ok());
}

TEST_CASE(
    "routes: the table checks the role; handlers get the caller and never a refused request") {
  Site s;
  auto member = s.d.admit("Routes KK");
  http::Router router;
  api::Routes routes(router, s.access, s.guard, s.limits, s.sessions, nullptr);
  int calls = 0;
  routes.add("GET", "/api/v1/me", services::Role::member,
             [&](const http::Request&, const http::Params&, const services::Caller& caller) {
               ++calls;
               return http::json_response(200, {{"id", caller.the_member().id}});
             });
  routes.add("GET", "/api/v1/members", services::Role::operator_,
             [&](const http::Request&, const http::Params&, const services::Caller&) {
               ++calls;
               return http::json_response(200, nlohmann::json::object());
             });

  auto ok = router.handle(request("GET", "/api/v1/me", member.api_key));
  CHECK(ok.status == 200);
  CHECK(nlohmann::json::parse(ok.body)["id"] == member.member.id);
  CHECK(calls == 1);

  // The bodies the API answered before the table existed.
  auto missing = router.handle(request("GET", "/api/v1/me"));
  CHECK(missing.status == 401);
  CHECK(error_of(missing)["code"] == "unauthorised");
  CHECK(error_of(missing)["message"] == "a member API key is required");
  auto unknown = router.handle(request("GET", "/api/v1/me", "rk_unknown"));
  CHECK(unknown.status == 401);
  CHECK(error_of(unknown)["message"] == "unknown API key");
  auto not_operator = router.handle(request("GET", "/api/v1/members", member.api_key));
  CHECK(not_operator.status == 403);
  CHECK(error_of(not_operator)["code"] == "forbidden");
  CHECK(error_of(not_operator)["message"] == "not an operator token");
  auto no_token = router.handle(request("GET", "/api/v1/members"));
  CHECK(no_token.status == 401);
  CHECK(error_of(no_token)["message"] == "an operator token is required");
  REQUIRE(s.membership.set_active(member.member.id, false).ok());
  auto suspended = router.handle(request("GET", "/api/v1/me", member.api_key));
  CHECK(suspended.status == 403);
  CHECK(error_of(suspended)["code"] == "member_suspended");
  CHECK(calls == 1);  // no refused request reached a handler
  CHECK(router.handle(request("GET", "/api/v1/members", "operator-secret-token-0001")).status ==
        200);
  CHECK(calls == 2);
}

TEST_CASE(
    "routes: an address guessing keys is refused with 429 and Retry-After, then let in again") {
  // Finding (issue 17): API-key guessing was neither throttled nor logged.
  Site s;
  auto member = s.d.admit("Guessed KK");
  http::Router router;
  api::Routes routes(router, s.access, s.guard, s.limits, s.sessions, nullptr);
  routes.add("GET", "/api/v1/me", services::Role::member,
             [](const http::Request&, const http::Params&, const services::Caller& caller) {
               return http::json_response(200, {{"id", caller.the_member().id}});
             });
  routes.add("GET", "/healthz", services::Role::everyone,
             [](const http::Request&, const http::Params&, const services::Caller&) {
               return http::json_response(200, nlohmann::json::object());
             });
  auto from = [](http::Request r, const std::string& address) {
    r.remote_address = address;
    return r;
  };
  const std::string guesser = "203.0.113.7", member_ip = "198.51.100.2";

  // Missing credentials and credentials of another role are not guesses.
  routes.add("GET", "/api/v1/members", services::Role::operator_,
             [](const http::Request&, const http::Params&, const services::Caller&) {
               return http::json_response(200, nlohmann::json::object());
             });
  for (int i = 0; i < 20; ++i) {
    CHECK(router.handle(from(request("GET", "/api/v1/me"), guesser)).status == 401);
    CHECK(router.handle(from(request("GET", "/api/v1/me", "auditor-secret-token-0001"), guesser))
              .status == 401);
    CHECK(router.handle(from(request("GET", "/api/v1/members", member.api_key), guesser)).status ==
          403);
  }
  for (int i = 0; i < 9; ++i)
    CHECK(router.handle(from(request("GET", "/api/v1/me", "rk_guess" + std::to_string(i)), guesser))
              .status == 401);
  CHECK(router.handle(from(request("GET", "/api/v1/me", member.api_key), guesser)).status == 200);
  // The tenth wrong key blocks the address, even for a right key, on every credential route.
  CHECK(router.handle(from(request("GET", "/api/v1/me", "rk_guess9"), guesser)).status == 401);
  auto refused = router.handle(from(request("GET", "/api/v1/me", member.api_key), guesser));
  CHECK(refused.status == 429);
  CHECK(error_of(refused)["code"] == "too_many_attempts");
  CHECK(refused.headers.at("Retry-After") == "900");
  CHECK(s.guard.blocked() == 1);
  // Other addresses and public routes are unaffected.
  CHECK(router.handle(from(request("GET", "/api/v1/me", member.api_key), member_ip)).status == 200);
  CHECK(router.handle(from(request("GET", "/healthz"), guesser)).status == 200);

  s.d.clock.advance(std::chrono::seconds(600));
  CHECK(router.handle(from(request("GET", "/api/v1/me", member.api_key), guesser))
            .headers.at("Retry-After") == "300");
  s.d.clock.advance(std::chrono::seconds(300));
  CHECK(router.handle(from(request("GET", "/api/v1/me", member.api_key), guesser)).status == 200);
  CHECK(s.guard.blocked() == 0);

  // Wrong keys spread wider than the window never block.
  for (int i = 0; i < 30; ++i) {
    CHECK(router.handle(from(request("GET", "/api/v1/me", "rk_slow"), member_ip)).status == 401);
    s.d.clock.advance(std::chrono::seconds(40));
  }
  CHECK(s.guard.blocked() == 0);
}

TEST_CASE("membership: typed outcomes for admit, status, links and another member's referral") {
  Site s;
  auto admitted = s.membership.admit("Typed KK");
  REQUIRE(admitted.ok());
  CHECK(admitted->api_key.rfind("rk_", 0) == 0);
  CHECK(admitted->view.credits.balance() == 0);
  auto again = s.membership.admit("Typed KK");
  REQUIRE_FALSE(again.ok());
  CHECK(again.error() == members::AdmitError::duplicate_name);
  CHECK(api::error_for(again.error()).status == 409);

  CHECK(s.membership.find("m_missing").error() == services::MembershipError::member_not_found);
  CHECK(s.membership.set_active("m_missing", false).error() ==
        services::MembershipError::member_not_found);
  auto suspended = s.membership.set_active(admitted->view.member.id, false);
  REQUIRE(suspended.ok());
  CHECK_FALSE(suspended->member.active);

  const auto& m = admitted->view.member;
  CHECK(s.membership.issue_rejection_link(m, "app-1", "Z").error() ==
        services::MembershipError::unknown_job_category);
  auto link = s.membership.issue_rejection_link(m, "app-1", "C");
  REQUIRE(link.ok());
  auto same = s.membership.issue_rejection_link(m, "app-1", "");
  REQUIRE(same.ok());
  CHECK(same->token == link->token);  // a retried request gets the same link

  CHECK(s.membership.referral(m, "r_missing").error() ==
        services::MembershipError::referral_not_found);
  std::size_t listed = 0;
  auto read = s.membership.each_referral(m, 100, "", [&](const auto&, auto) { ++listed; });
  REQUIRE(read.ok());
  CHECK_FALSE(read->more);
  CHECK(read->total == 0);
  CHECK(listed == 0);
  CHECK(s.membership.each_referral(m, 100, "r_missing", [](const auto&, auto) {}).error() ==
        services::MembershipError::referral_not_found);
  CHECK(s.membership.credits(m).referrals_per_credit == 10);
}

TEST_CASE("intake service: unusable links and confirmations are typed, nothing is stored") {
  Site s;
  auto page = s.intake.link_page("no-such-link");
  REQUIRE_FALSE(page.ok());
  CHECK(page.error() == referrals::LinkState::unknown);
  auto registered = s.intake.register_candidate("no-such-link", {{"name", "X"}});
  REQUIRE_FALSE(registered.ok());
  CHECK(registered.error().link == referrals::LinkState::unknown);
  auto confirmed = s.intake.confirm("no-such-token");
  REQUIRE_FALSE(confirmed.ok());
  CHECK(confirmed.error() == referrals::ConfirmState::unknown);

  auto m = s.d.admit("Intake KK").member;
  auto shown = s.intake.link_page(m.link_token);
  REQUIRE(shown.ok());
  CHECK(shown->company_name == "Intake KK");
  auto invalid = s.intake.register_candidate(m.link_token, {{"name", ""}});
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.error().link == referrals::LinkState::ok);
  CHECK_FALSE(invalid.error().errors.empty());
  CHECK(invalid.error().company_name == "Intake KK");
  auto candidates = s.d.env.database("candidates");
  auto txn = s.d.env.begin_read();
  CHECK(txn.count(candidates) == 0);
}

// A confirmation asks for the candidate's cell twice (the referral, then the changed record),
// and the feed keeps the last one read; an edit of the profile must not be answered from it.
TEST_CASE("statistics feed: the cell follows the candidate's edits, and withdrawal drops it") {
  Domain d;
  statistics::Tally tally{d.env, std::chrono::days(90)};
  services::StatisticsFeed feed{tally, d.candidates, d.clock};
  const std::int64_t dec = 1'796'050'800'000 + 86'400'000;  // 2026-12-02 JST
  const std::int64_t jan = dec + 31LL * 86'400'000;         // 2027-01-02 JST
  d.clock.set(dec);
  auto one = d.admit("Cell One KK").member;
  auto two = d.admit("Cell Two KK").member;
  auto three = d.admit("Cell Three KK").member;
  candidates::Registration reg;
  reg.personal = {"Taro", "taro@example.jp", ""};
  reg.profile.job_category = "A";
  reg.profile.prefecture = "JP-28";
  reg.profile.age_band = "25-34";
  reg.profile.experience_band = "3-5";
  reg.consent.region = true;
  reg.consent.stats = true;
  auto record = d.write([&](storage::WriteTxn& txn) {
    auto r = d.candidates.create(txn, reg, d.candidates.pseudonym_of("taro@example.jp"));
    r.status = candidates::Status::active;
    d.candidates.save(txn, r);
    return r;
  });
  auto confirmed = [&](const members::Member& m, const candidates::CandidateRecord& r) {
    referrals::Referral referral;
    referral.member_id = m.id;
    d.write([&](storage::WriteTxn& txn) {
      feed.referral(txn, referral, r, true, false);
      feed.candidate_changed(txn, r);
    });
  };
  auto cells = [&](std::string_view period) {
    std::vector<std::string> out;
    auto txn = d.env.begin_read();
    for (const auto& row : tally.period_rows(txn, period)) out.push_back(row.cell.job_category);
    return out;
  };
  confirmed(one, record);
  CHECK(cells("2026-12") == std::vector<std::string>{"A"});

  // Edited: a new ciphertext, so the cell is read again.
  reg.profile.job_category = "B";
  record = d.write([&](storage::WriteTxn& txn) {
    auto r = record;
    d.candidates.update_data(txn, r, reg.personal, reg.profile);
    return r;
  });
  d.clock.set(jan);
  confirmed(two, record);
  CHECK(cells("2027-01") == std::vector<std::string>{"B"});

  // Withdrawn from statistics: the person's rows go, and no cell is kept for them.
  record.consent.stats = false;
  d.write([&](storage::WriteTxn& txn) { feed.candidate_changed(txn, record); });
  CHECK(cells("2026-12").empty());
  CHECK(cells("2027-01").empty());
  confirmed(three, record);
  CHECK(cells("2027-01").empty());
}

TEST_SUITE_END();
