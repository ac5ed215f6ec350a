// The candidate pages' server side without a server: the security headers and redirects of
// node/api/candidate_page_kit, the cross-site POST check, JST times, the rendered pages'
// accessibility and footer, full-width phone input, and the intake's form nonce and language
// on a real LMDB environment (the browser test walks the same in Chromium).
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>

#include "node/api/candidate_page_kit.hpp"
#include "node/candidates/candidate_mail.hpp"
#include "node/candidates/pages.hpp"
#include "node/candidates/registration_form.hpp"
#include "node/domain_fixture.hpp"

using namespace relay::node;
using relay::test::Domain;
using Form = std::map<std::string, std::string>;

namespace {

bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

http::Request post(http::HeaderMap headers) {
  http::Request r;
  r.method = "POST";
  r.path = "/r/m/token/withdraw";
  r.headers = std::move(headers);
  r.headers["host"] = "relay.example.jp:8080";
  return r;
}

Form form_for(const std::string& email) {
  return {{"name", "山田 花子"},       {"email", email},         {"job_category", "C"},
          {"skills", "Excel"},         {"prefecture", "JP-13"},  {"age_band", "35-44"},
          {"experience_band", "6-10"}, {"consent_region", "yes"}};
}

std::vector<mail::Mail> mails_to(Domain& d, const std::string& to) {
  std::vector<mail::Mail> out;
  auto txn = d.env.begin_read();
  for (const auto& q : d.candidates.queued_mail(txn, 10'000))
    if (q.mail.to == to) out.push_back(q.mail);
  return out;
}

}  // namespace

TEST_CASE("candidate pages: every page carries no-store, CSP without script and no framing") {
  auto r = api::pages::html(200, "<p>x</p>");
  CHECK(r.headers.at("Cache-Control") == "no-store");
  CHECK(r.headers.at("X-Frame-Options") == "DENY");
  const auto& csp = r.headers.at("Content-Security-Policy");
  CHECK(has(csp, "frame-ancestors 'none'"));
  CHECK(has(csp, "form-action 'self'"));
  CHECK(has(csp, "default-src 'none'"));
  CHECK_FALSE(has(csp, "script-src"));

  auto redirect = api::pages::see_other("/r/m/tok?done=consent");
  CHECK(redirect.status == 303);
  CHECK(redirect.headers.at("Location") == "/r/m/tok?done=consent");
  CHECK(redirect.headers.at("X-Frame-Options") == "DENY");
  CHECK(redirect.content_type.rfind("text/html", 0) == 0);

  // After registration, withdrawal, erasure: a fresh cookie each time (bfcache eviction).
  auto first = api::pages::forgetting_pages(api::pages::see_other("/r/m/tok"));
  auto second = api::pages::forgetting_pages(api::pages::see_other("/r/m/tok"));
  CHECK(first.status == 303);
  CHECK(first.headers.at("Set-Cookie").rfind("relay_changed=", 0) == 0);
  CHECK(has(first.headers.at("Set-Cookie"), "HttpOnly; SameSite=Strict"));
  CHECK(first.headers.at("Set-Cookie") != second.headers.at("Set-Cookie"));
}

TEST_CASE("candidate pages: a POST from another site is refused with a 403 page") {
  using api::pages::refuse_cross_site;
  candidates::OperatorInfo op{"Kobe office", "help@example.jp", ""};
  auto lang = candidates::Lang::en;
  // Same origin, a direct navigation, and a client that sends neither header pass.
  CHECK_FALSE(refuse_cross_site(post({{"sec-fetch-site", "same-origin"}}), lang, op));
  CHECK_FALSE(refuse_cross_site(post({{"sec-fetch-site", "none"}}), lang, op));
  CHECK_FALSE(refuse_cross_site(post({{"origin", "http://relay.example.jp:8080"}}), lang, op));
  CHECK_FALSE(refuse_cross_site(post({{"origin", "HTTPS://Relay.Example.JP:8080"}}), lang, op));
  CHECK_FALSE(refuse_cross_site(post({}), lang, op));
  // Our own no-referrer pages post with Origin: null.
  CHECK_FALSE(
      refuse_cross_site(post({{"sec-fetch-site", "same-origin"}, {"origin", "null"}}), lang, op));
  // Another site, a sibling subdomain, another port, an opaque origin from elsewhere: refused.
  for (const auto& headers : std::vector<http::HeaderMap>{
           {{"sec-fetch-site", "cross-site"}},
           {{"sec-fetch-site", "same-site"}},
           {{"origin", "http://evil.example"}},
           {{"origin", "http://relay.example.jp:9999"}},
           {{"sec-fetch-site", "cross-site"}, {"origin", "null"}},
           {{"sec-fetch-site", "same-origin"}, {"origin", "http://evil.example"}}}) {
    auto refused = refuse_cross_site(post(headers), lang, op);
    REQUIRE(refused);
    CHECK(refused->status == 403);
    CHECK(refused->content_type.rfind("text/html", 0) == 0);
    CHECK(has(refused->body, "This submission was refused"));
    CHECK(has(refused->body, "help@example.jp"));  // the next step: whom to ask
    CHECK(refused->headers.at("X-Frame-Options") == "DENY");
  }
}

TEST_CASE("candidate pages: times in JST for people") {
  // 2026-12-02T11:18:00Z is 20:18 in Japan.
  std::int64_t ms = 1'796'210'280'000;
  CHECK(api::pages::jst_time(ms, candidates::Lang::ja) == "2026年12月2日 20:18（日本時間）");
  CHECK(api::pages::jst_time(ms, candidates::Lang::en) == "2 Dec 2026, 20:18 JST");
  // Across midnight in Japan: 15:30Z is 00:30 the next day.
  CHECK(api::pages::jst_time(1'796'225'400'000, candidates::Lang::en) == "3 Dec 2026, 00:30 JST");
}

TEST_CASE(
    "candidate pages: the form marks fields in error, focuses the summary, names the operator") {
  candidates::RegistrationPage page;
  page.lang = candidates::Lang::en;
  page.action = "/r/link";
  page.company_name = "Example KK";
  page.nonce = "n0nce-n0nce-n0nce";
  page.operator_info = {"Kobe office", "help@example.jp", "https://example.jp/privacy"};
  page.errors["phone"] = "Please enter the phone number with digits";
  auto html = candidates::render_registration(page, {});
  CHECK(has(html, "<title>Error: "));
  CHECK(has(html, "id=\"error-summary\" role=\"alert\" tabindex=\"-1\" autofocus"));
  CHECK(has(html, "aria-invalid=\"true\" aria-describedby=\"err-phone\""));
  CHECK(has(html, "id=\"err-phone\""));
  CHECK(has(html, "autocomplete=\"email\""));
  CHECK(has(html, "autocomplete=\"tel\""));
  CHECK(has(html, "name=\"nonce\" value=\"n0nce-n0nce-n0nce\""));
  CHECK(has(html, "name=\"lang\" value=\"en\""));
  CHECK(has(html, "action=\"/r/link?lang=en\""));
  CHECK(has(html, "Kobe office"));
  CHECK(has(html, "https://example.jp/privacy"));
  CHECK_FALSE(has(html, "<script"));
  // Without errors: no summary, no error title, nothing marked.
  page.errors.clear();
  html = candidates::render_registration(page, {});
  CHECK_FALSE(has(html, "error-summary"));
  CHECK_FALSE(has(html, "aria-invalid=\"true\""));
  CHECK(has(html, "<title>Register"));
}

TEST_CASE("candidate pages: full-width phone numbers are normalised, not refused") {
  CHECK(candidates::normalise_phone("０９０－１２３４－５６７８") == "090-1234-5678");
  CHECK(candidates::normalise_phone("０９０ー１２３４ー５６７８") == "090-1234-5678");
  CHECK(candidates::normalise_phone("（０３）１２３４‐５６７８") == "(03)1234-5678");
  CHECK(candidates::normalise_phone("＋８１　９０−１２３４−５６７８") == "+81 90-1234-5678");
  CHECK(candidates::normalise_phone("03-1234-5678") == "03-1234-5678");
  auto ref = relay::test::load_test_reference();
  auto form = form_for("hanako@example.jp");
  form["phone"] = "０９０－１２３４－５６７８";
  auto parsed = candidates::parse_registration(form, ref, "v1", 0);
  REQUIRE(parsed.registration);
  CHECK(parsed.registration->personal.phone == "090-1234-5678");
  form["phone"] = "電話して";  // still refused: not a number
  CHECK(candidates::parse_registration(form, ref, "v1", 0).errors.count("phone") == 1);
}

TEST_CASE("intake: a form nonce makes a double tap register once and send one mail") {
  Domain d;
  auto m = d.admit("Example KK").member;
  auto form = form_for("tap@example.jp");
  form["nonce"] = "a-form-nonce-0123456789";
  auto submit = [&] {
    return d.write(
        [&](storage::WriteTxn& txn) { return d.intake.submit(txn, m.link_token, form); });
  };
  auto first = submit();
  CHECK(first.accepted);
  CHECK_FALSE(first.repeated);
  auto second = submit();
  CHECK(second.accepted);
  CHECK(second.repeated);
  CHECK(mails_to(d, "tap@example.jp").size() == 1);
  // A new form (a new nonce) is a new submission: the static link sends the mail again.
  form["nonce"] = "another-form-nonce-0123";
  CHECK_FALSE(submit().repeated);
  CHECK(mails_to(d, "tap@example.jp").size() == 2);
}

TEST_CASE("intake: a single-use link tapped twice answers success the second time") {
  Domain d;
  auto m = d.admit("Example KK").member;
  auto issued = d.write(
      [&](storage::WriteTxn& txn) { return d.referrals.issue_single_use(txn, m.id, "app-1", ""); });
  auto form = form_for("once@example.jp");
  form["nonce"] = "single-use-nonce-012345";
  auto submit = [&] {
    return d.write(
        [&](storage::WriteTxn& txn) { return d.intake.submit(txn, issued.token, form); });
  };
  CHECK(submit().accepted);
  auto again = submit();
  CHECK(again.accepted);
  CHECK(again.link == referrals::LinkState::ok);
  CHECK(mails_to(d, "once@example.jp").size() == 1);
  // Without the nonce it is a second use of the link.
  form.erase("nonce");
  CHECK(submit().link == referrals::LinkState::used);
}

TEST_CASE("intake: a candidate who chose English gets English mails with English links") {
  Domain d;
  auto m = d.admit("Example KK").member;
  auto form = form_for("english@example.jp");
  form["lang"] = "en";
  REQUIRE(d.write([&](storage::WriteTxn& txn) {
             return d.intake.submit(txn, m.link_token, form);
           }).accepted);
  auto mails = mails_to(d, "english@example.jp");
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].subject == "Please confirm your email address (career relay)");
  CHECK(has(mails[0].body, "valid for 72 hours"));
  CHECK_FALSE(has(mails[0].body, "登録"));
  auto at = mails[0].body.find("/r/v/");
  REQUIRE(at != std::string::npos);
  auto end = mails[0].body.find_first_of("\r\n ", at);
  auto link = mails[0].body.substr(at, end - at);
  REQUIRE(has(link, "?lang=en"));
  auto token = link.substr(5, link.find('?') - 5);
  auto confirmed = d.write([&](storage::WriteTxn& txn) { return d.intake.confirm(txn, token); });
  REQUIRE(confirmed.state == referrals::ConfirmState::confirmed);
  mails = mails_to(d, "english@example.jp");
  REQUIRE(mails.size() == 2);
  // Queued in the same (manual) millisecond: their order is not defined.
  const auto& complete = mails[0].subject.rfind("Please confirm", 0) == 0 ? mails[1] : mails[0];
  CHECK(complete.subject == "Your registration is complete (career relay)");
  CHECK(has(complete.body, "/r/m/" + confirmed.management_token + "?lang=en"));
  // The used confirmation link is known as used (the page points to the management link).
  auto txn = d.env.begin_read();
  CHECK(d.intake.verification_used(txn, token));
  CHECK_FALSE(d.intake.verification_pending(txn, token));
}

TEST_CASE("intake: registering again before confirming replaces what was typed; after, keeps it") {
  Domain d;
  auto a = d.admit("A KK").member;
  auto b = d.admit("B KK").member;
  auto submit = [&](const std::string& link, const Form& form) {
    return d.write([&](storage::WriteTxn& txn) { return d.intake.submit(txn, link, form); });
  };
  auto form = form_for("again@example.jp");
  REQUIRE(submit(a.link_token, form).accepted);
  form["name"] = "山田 花子（新）";
  REQUIRE(submit(b.link_token, form).accepted);
  auto opened_name = [&] {
    auto txn = d.env.begin_read();
    auto pseudonym = d.candidates.pseudonym_of("again@example.jp");
    auto record = d.candidates.find_by_pseudonym(txn, pseudonym);
    return d.candidates.open(*record)->personal.name;
  };
  CHECK(opened_name() == "山田 花子（新）");
}
